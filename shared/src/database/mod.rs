//! The database secrets engine (`database/`, or any path it is enabled at), PostgreSQL
//! first: connections (`config/:name`) whose root password is sealed under the keyring
//! and never returned, `rotate-root/:name`, roles (`roles/:name`) with creation,
//! renewal and revocation statements, and dynamic users (`creds/:role`) under
//! write-ahead leases the sweeper revokes (OpenBao `builtin/logical/database` and its
//! PostgreSQL plugin; docs/database.md).
//!
//! Items (one table), under the mount's prefix ([`Mount`]): `{prefix}/config` /
//! `{name}` holds each connection, `{prefix}/roles` / `{name}` each role. Leases are the
//! lease store's, with IDs `{mount}/creds/{role}/...` and kind [`revoke::KIND_DB_USER`].
//!
//! The database is behind a port ([`port::DatabaseApi`]): the PostgreSQL adapter
//! ([`crate::adapters::postgres`]) and an in-memory fake ([`port::FakeDatabase`]).

pub mod config;
pub mod engine;
pub mod failpoints;
pub mod issue;
pub mod port;
pub mod revoke;
pub mod roles;
pub mod schedule;
pub mod scram;
pub mod statements;
pub mod static_roles;
pub mod username;

#[cfg(test)]
mod tests;

/// Seconds a write-ahead password (a `rotate-root` or static rotation stored as pending
/// before its `ALTER ROLE`) may still be on its way to the database: longer than any
/// function's timeout (the template's longest, the sweeper's, is 240 s; the adapter
/// bounds a call at 20 s), the same bound as a pending lease's
/// ([`crate::lease::PENDING_GRACE_SECS`]). Until then a pending password that does not
/// log in is a rotation under way, never dropped: dropping it while its `ALTER ROLE`
/// was still to land would leave the database on a password no one stored.
pub const IN_FLIGHT_SECS: i64 = crate::lease::PENDING_GRACE_SECS;

/// One database engine mount: the prefix its items are kept under (its UUID for a mount
/// enabled through the API; [`crate::mounts::MountEntry::storage`]) and its name (its
/// leases' IDs start with `{name}/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mount<'a> {
    /// The storage prefix.
    pub prefix: &'a str,
    /// The mount's name (its path without the trailing `/`).
    pub name: &'a str,
}

impl Mount<'_> {
    /// The partition of the mount's connections (sort key: the name).
    pub fn config_partition(&self) -> String {
        format!("database/{}/config", self.prefix)
    }

    /// The partition of the mount's roles (sort key: the name).
    pub fn roles_partition(&self) -> String {
        format!("database/{}/roles", self.prefix)
    }

    /// The partition of the mount's static roles (sort key: the name); the due job's
    /// items ([`static_roles::PK_PREFIX`]).
    pub fn static_roles_partition(&self) -> String {
        format!("database/{}/static-roles", self.prefix)
    }

    /// The path a credential was issued at, which its lease ID starts with:
    /// `{name}/creds/{role}`.
    pub fn lease_path(&self, role: &str) -> String {
        format!("{}/creds/{role}", self.name)
    }
}
