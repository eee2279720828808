//! The mount table: which backend serves which path prefix, as Vault's `sys/mounts` and
//! `sys/auth` describe it.
//!
//! A mount is a path prefix (`secret/`, `auth/approle/`) bound to a backend kind, with
//! Vault's descriptive fields (accessor, UUID, description, options, lease TTLs). The
//! router ([`crate::route`]) finds the mount of a request's path, then the path spec
//! in that backend's table ([`crate::backend`]). Built-in mounts (`sys/`,
//! `identity/`, `auth/token/`) are always there; the others are items in the store ([`store`]),
//! cached in warm functions ([`cache`]).

pub mod cache;
pub mod cleanup;
pub mod guard;
pub mod names;
pub mod revoked;
pub mod store;
mod table;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use table::{BackendKind, MountEntry, MountTable, Table};

/// The built-in mounts: `sys/`, `identity/` and `auth/token/`, always present and never
/// disabled (as Vault's). Their accessors are fixed.
pub fn builtins() -> Vec<MountEntry> {
    let entry =
        |path: &str, table, type_name: &str, kind, accessor: &str, description: &str| MountEntry {
            path: path.into(),
            table,
            type_name: type_name.into(),
            kind,
            accessor: accessor.into(),
            uuid: names::uuid_for(accessor),
            description: description.into(),
            options: BTreeMap::new(),
            default_lease_ttl: 0,
            max_lease_ttl: 0,
            storage: type_name.into(),
            builtin: true,
        };
    vec![
        entry(
            "sys/",
            Table::Secrets,
            "system",
            BackendKind::System,
            "system_00000001",
            "system endpoints used for control, policy and debugging",
        ),
        entry(
            "identity/",
            Table::Secrets,
            "identity",
            BackendKind::Identity,
            "identity_00000001",
            "identity store",
        ),
        entry(
            "token/",
            Table::Auth,
            "token",
            BackendKind::Token,
            "auth_token_00000001",
            "token based credentials",
        ),
    ]
}

/// The mounts created at bootstrap from the environment (`SIGIL_KV_MOUNTS`,
/// `SIGIL_JWT_MOUNTS`, `SIGIL_KUBERNETES_MOUNTS`, plus `aws/`, `auth/approle/` and
/// `auth/aws/`), each storing its items where it did before the mount table (under
/// its name; `auth_aws` for `auth/aws/`).
/// Their accessors derive from their paths, so every function computes the same ones.
pub fn from_config(config: &crate::config::Config) -> Vec<MountEntry> {
    let mut out = Vec::new();
    let mut add = |name: &str, table: Table, type_name: &str, kind: BackendKind, version: bool| {
        let accessor = names::accessor_for(table, type_name, name);
        let mut options = BTreeMap::new();
        if version {
            options.insert("version".to_owned(), "2".to_owned());
        }
        out.push(MountEntry {
            path: format!("{name}/"),
            table,
            type_name: type_name.into(),
            kind,
            uuid: names::uuid_for(&accessor),
            accessor,
            description: String::new(),
            options,
            default_lease_ttl: 0,
            max_lease_ttl: 0,
            // Where the backend kept this mount's items before the mount table:
            // AWS auth under `auth_aws`, the others under the mount's name.
            storage: if kind == BackendKind::AwsAuth {
                crate::auth_aws::Mount::DEFAULT.prefix.into()
            } else {
                name.into()
            },
            builtin: false,
        });
    };
    for m in &config.kv_mounts {
        add(m, Table::Secrets, "kv", BackendKind::Kv, true);
    }
    add("aws", Table::Secrets, "aws", BackendKind::Aws, false);
    add(
        "approle",
        Table::Auth,
        "approle",
        BackendKind::AppRole,
        false,
    );
    add("aws", Table::Auth, "aws", BackendKind::AwsAuth, false);
    for m in &config.jwt_mounts {
        add(m, Table::Auth, "jwt", BackendKind::Jwt, false);
    }
    for m in &config.kubernetes_mounts {
        add(m, Table::Auth, "kubernetes", BackendKind::Kubernetes, false);
    }
    out
}

/// A table of the built-ins and the bootstrap mounts of `config`, generation 0: what
/// a deployment serves before any mount is stored, and what in-memory apps start with.
pub fn initial_table(config: &crate::config::Config) -> MountTable {
    MountTable {
        entries: builtins()
            .into_iter()
            .chain(from_config(config))
            .map(Arc::new)
            .collect(),
        generation: 0,
        revoked: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_mounts_by_their_first_segments() {
        let t = initial_table(&crate::config::Config::default());
        let (m, rest) = t.find("secret/data/a/b").unwrap();
        assert_eq!(
            (m.path.as_str(), m.kind, rest),
            ("secret/", BackendKind::Kv, "data/a/b")
        );
        let (m, rest) = t.find("auth/approle/role/x").unwrap();
        assert_eq!((m.kind, rest), (BackendKind::AppRole, "role/x"));
        let (m, rest) = t.find("auth/token/lookup-self").unwrap();
        assert_eq!((m.kind, rest), (BackendKind::Token, "lookup-self"));
        let (m, rest) = t.find("sys/health").unwrap();
        assert_eq!((m.kind, rest), (BackendKind::System, "health"));
        let (m, rest) = t.find("secret").unwrap();
        assert_eq!((m.kind, rest), (BackendKind::Kv, ""));
        assert!(t.find("auth/secret/x").is_none());
        assert!(t.find("approle/login").is_none());
        assert!(t.find("nothing/here").is_none());
        // Accessors are stable: the same configuration gives the same ones.
        let again = initial_table(&crate::config::Config::default());
        assert_eq!(t, again);
        assert!(
            t.get(Table::Auth, "jwt/")
                .unwrap()
                .accessor
                .starts_with("auth_jwt_")
        );
        assert!(
            t.get(Table::Secrets, "secret/")
                .unwrap()
                .accessor
                .starts_with("kv_")
        );
    }
}
