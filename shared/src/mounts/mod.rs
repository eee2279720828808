//! The mount table: which backend serves which path prefix, as Vault's `sys/mounts` and
//! `sys/auth` describe it.
//!
//! A mount is a path prefix (`secret/`, `auth/approle/`) bound to a backend kind, with
//! Vault's descriptive fields (accessor, UUID, description, options, lease TTLs). The
//! router ([`crate::route`]) finds the mount of a request's path, then the path spec
//! in that backend's table ([`crate::backend`]). Built-in mounts (`sys/`,
//! `auth/token/`) are always there; the others are items in the store ([`store`]),
//! cached in warm functions ([`cache`]).

pub mod cache;
pub mod cleanup;
pub mod names;
pub mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value as Json, json};

/// Which backend serves a mount. Several Vault type names may share one backend
/// (`jwt` and `oidc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// `sys/`: the system backend.
    System,
    /// A KV version 2 secrets engine.
    Kv,
    /// The AWS secrets engine.
    Aws,
    /// `auth/token/`: the token store.
    Token,
    /// The AppRole auth method.
    AppRole,
    /// The JWT/OIDC auth method (types `jwt` and `oidc`).
    Jwt,
    /// The Kubernetes auth method.
    Kubernetes,
    /// The AWS IAM auth method.
    AwsAuth,
}

/// Which of Vault's two mount tables a mount belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// Secrets engines and `sys/` (`sys/mounts`): paths at the root.
    Secrets,
    /// Auth methods (`sys/auth`): paths under `auth/`.
    Auth,
}

impl Table {
    /// The table's name in storage and in accessors' context (`secret`, `auth`).
    pub fn name(self) -> &'static str {
        match self {
            Table::Secrets => "secret",
            Table::Auth => "auth",
        }
    }
}

/// One mount, as `sys/mounts` or `sys/auth` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    /// The path relative to its table, ending in `/`: `secret/`, or `approle/` for
    /// `auth/approle/`.
    pub path: String,
    /// The table it belongs to.
    pub table: Table,
    /// Vault's type name: `kv`, `aws`, `system`, `token`, `approle`, `jwt`, `oidc`,
    /// `kubernetes`.
    pub type_name: String,
    /// The backend serving it.
    pub kind: BackendKind,
    /// Vault's mount accessor, `<type>_<8 hex>`: stable for the mount's life.
    pub accessor: String,
    /// The mount's UUID.
    pub uuid: String,
    /// Free text.
    pub description: String,
    /// Backend options (`version` = `2` for KV).
    pub options: BTreeMap<String, String>,
    /// `config.default_lease_ttl`, seconds (0: the system default).
    pub default_lease_ttl: i64,
    /// `config.max_lease_ttl`, seconds (0: the system max).
    pub max_lease_ttl: i64,
    /// The prefix the backend keeps this mount's items under: the mount's name for
    /// mounts created from the environment (so data written before the mount table
    /// existed stays readable), its UUID for mounts enabled through the API (so a
    /// disabled mount's items are unreachable at once, even if a mount of the same
    /// path is enabled again before they are deleted).
    pub storage: String,
    /// Whether the mount is built in (`sys/`, `auth/token/`): never listed as
    /// removable, never stored.
    pub builtin: bool,
}

impl MountEntry {
    /// The full logical path prefix: `secret/`, `auth/approle/`.
    pub fn full_path(&self) -> String {
        match self.table {
            Table::Secrets => self.path.clone(),
            Table::Auth => format!("auth/{}", self.path),
        }
    }

    /// The mount's name: its path without the trailing `/` (`secret`, `approle`).
    pub fn name(&self) -> &str {
        self.path.strip_suffix('/').unwrap_or(&self.path)
    }

    /// Vault's description of a mount in `sys/mounts`, `sys/auth` and
    /// `sys/internal/ui/mounts` (field names and types as OpenBao answers).
    pub fn to_json(&self) -> Json {
        let mut v = json!({
            "type": self.type_name,
            "description": self.description,
            "accessor": self.accessor,
            "uuid": self.uuid,
            "config": {
                "default_lease_ttl": self.default_lease_ttl,
                "max_lease_ttl": self.max_lease_ttl,
                "force_no_cache": false,
            },
            "options": if self.options.is_empty() { Json::Null } else { json!(self.options) },
            "local": false,
            "seal_wrap": false,
            "external_entropy_access": false,
            "plugin_version": "",
            "running_plugin_version": format!("v{}+builtin.sigil", env!("CARGO_PKG_VERSION")),
            "running_sha256": "",
        });
        if self.table == Table::Auth
            && let Json::Object(m) = &mut v
        {
            m.remove("external_entropy_access");
            if let Some(Json::Object(cfg)) = m.get_mut("config") {
                cfg.insert("token_type".into(), json!("default-service"));
            }
        }
        v
    }
}

/// Every mount a function knows, with built-ins first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MountTable {
    /// The mounts, in no particular order.
    pub entries: Vec<Arc<MountEntry>>,
    /// The table's generation: bumped by every change ([`store`]).
    pub generation: i64,
}

impl MountTable {
    /// The mount serving a logical path (no `/v1/`), with the path relative to it
    /// (`secret/data/a` → (`secret/`, `data/a`)). Mount paths are one segment
    /// (`auth/` plus one segment for auth methods), so this is two comparisons per
    /// mount at most.
    pub fn find<'p>(&self, path: &'p str) -> Option<(&Arc<MountEntry>, &'p str)> {
        let (table, rest) = match path.strip_prefix("auth/") {
            Some(rest) => (Table::Auth, rest),
            None => (Table::Secrets, path),
        };
        let (first, tail) = match rest.split_once('/') {
            Some((first, tail)) => (first, tail),
            None => (rest, ""),
        };
        self.entries
            .iter()
            .find(|m| m.table == table && m.name() == first)
            .map(|m| (m, tail))
    }

    /// The mount at `path` (`secret/`, or `approle/` in the auth table).
    pub fn get(&self, table: Table, path: &str) -> Option<&Arc<MountEntry>> {
        self.entries
            .iter()
            .find(|m| m.table == table && m.path == path)
    }

    /// The mount with this accessor.
    pub fn by_accessor(&self, accessor: &str) -> Option<&Arc<MountEntry>> {
        self.entries.iter().find(|m| m.accessor == accessor)
    }

    /// The mounts of one table, sorted by path.
    pub fn of(&self, table: Table) -> Vec<&Arc<MountEntry>> {
        let mut v: Vec<_> = self.entries.iter().filter(|m| m.table == table).collect();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    }
}

/// The built-in mounts: `sys/` and `auth/token/`. Their accessors are fixed.
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
/// `auth/aws/`), each storing its items under its name, as before the mount table.
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
            storage: name.into(),
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
