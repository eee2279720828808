//! The AWS secrets engine (`aws/`, or any path it is enabled at): dynamic IAM users and
//! STS credentials under leases (VAULT-NOTES.md, "AWS secrets engine"): the IAM and STS
//! ports and adapters, the root configuration and the clients built from it, roles,
//! user names, issue and revocation.
//!
//! Items (one table), under the mount's prefix ([`Mount`]): `{prefix}/roles` / `{name}`
//! holds each role, `{prefix}/static-roles` / `{name}` each static role (an existing
//! IAM user whose access key Sigil rotates), `{prefix}/config` / `root` and `lease` the
//! mount's configuration.
//! Leases are the lease store's, with IDs under the mount's path
//! (`{mount}/creds/{role}/...`).

pub mod clients;
pub mod iam;
pub mod issue;
pub mod names;
pub mod revoke;
pub mod roles;
pub mod root;
pub mod static_roles;
pub mod sts;

#[cfg(test)]
mod static_tests;
#[cfg(test)]
mod tests;

/// The last segment of a mount's static-roles partition (`{prefix}/static-roles`).
pub const STATIC_ROLES_SEGMENT: &str = "static-roles";

/// One AWS secrets engine mount: the prefix its items are kept under (`aws` for the
/// environment's `aws/`, `aws/{uuid}` for a mount enabled through the API;
/// [`crate::mounts::MountEntry::storage`]) and its name (its leases' IDs start with
/// `{name}/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mount<'a> {
    /// The storage prefix.
    pub prefix: &'a str,
    /// The mount's name (its path without the trailing `/`).
    pub name: &'a str,
}

impl Mount<'static> {
    /// The environment's mount, `aws/`.
    pub const DEFAULT: Mount<'static> = Mount {
        prefix: "aws",
        name: "aws",
    };
}

impl Mount<'_> {
    /// The partition of every role of the mount (sort key: the name).
    pub fn roles_partition(&self) -> String {
        format!("{}/roles", self.prefix)
    }

    /// The partition of every static role of the mount (sort key: the name; last
    /// segment [`STATIC_ROLES_SEGMENT`]), the items the static roles' due job handles.
    pub fn static_roles_partition(&self) -> String {
        format!("{}/{STATIC_ROLES_SEGMENT}", self.prefix)
    }

    /// The partition of the mount's root and lease configuration.
    pub fn config_partition(&self) -> String {
        format!("{}/config", self.prefix)
    }

    /// The path a credential was issued at, which its lease ID starts with:
    /// `{name}/creds/{role}` or `{name}/sts/{role}`.
    pub fn lease_path(&self, kind: &str, role: &str) -> String {
        format!("{}/{kind}/{role}", self.name)
    }
}
