//! The mount table's types: a mount, the table, the backend kinds and Vault's two
//! tables (secrets engines and auth methods).

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
    /// The transit secrets engine (encryption as a service, [`crate::transit`]).
    Transit,
    /// The database secrets engine ([`crate::database`]).
    Database,
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
    /// `identity/`: the identity store (entities, aliases, groups).
    Identity,
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
    /// Vault's type name: `kv`, `aws`, `transit`, `database`, `system`, `token`, `approle`, `jwt`,
    /// `oidc`, `kubernetes`.
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
            // Vault: KV's version; `null` for the built-in mounts and engines without
            // options; `{}` for the auth methods one enables.
            "options": match (self.options.is_empty(), self.table, self.builtin) {
                (false, _, _) => json!(self.options),
                (true, Table::Auth, false) => json!({}),
                (true, _, _) => Json::Null,
            },
            "local": false,
            "seal_wrap": false,
            "external_entropy_access": false,
            "plugin_version": "",
            "running_plugin_version": format!("v{}+builtin.sigil", env!("CARGO_PKG_VERSION")),
            "running_sha256": "",
        });
        if let Json::Object(m) = &mut v {
            if !self.builtin {
                m.insert("deprecation_status".into(), json!("supported"));
            }
            if let Some(Json::Object(cfg)) = m.get_mut("config") {
                if self.table == Table::Auth {
                    cfg.insert("token_type".into(), json!("default-service"));
                }
                // Vault passes these request headers through to the built-in backends.
                match self.kind {
                    BackendKind::System => {
                        cfg.insert("passthrough_request_headers".into(), json!(["Accept"]));
                    }
                    BackendKind::Identity => {
                        cfg.insert(
                            "passthrough_request_headers".into(),
                            json!(["Authorization"]),
                        );
                    }
                    _ => {}
                }
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
    /// The table's generation: bumped by every change ([`super::store`]).
    pub generation: i64,
    /// Auth paths whose tokens are being revoked, with when ([`super::revoked`]).
    pub revoked: Vec<(String, i64)>,
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

    /// Whether a token created at `path` (its creating path, e.g. `auth/approle/login`)
    /// may still be used: its auth mount is still enabled. Tokens not created through
    /// an auth mount (the bootstrap token) always may. A token of a disabled mount is
    /// as good as revoked until the sweeper deletes it.
    pub fn token_mount_live(&self, path: &str, mount_accessor: &str) -> bool {
        if !path.starts_with("auth/") {
            return true;
        }
        // A batch token names the mount that issued it: a mount disabled and enabled
        // again at the same path (a new accessor) does not bring it back.
        if !mount_accessor.is_empty() {
            return self
                .find(path)
                .is_some_and(|(m, _)| m.accessor == mount_accessor);
        }
        path.starts_with("auth/token/") || self.find(path).is_some()
    }

    /// Whether a token created at `path` at `issued_at` (a batch token's issuing mount:
    /// `mount_accessor`) may be used: its mount is live ([`Self::token_mount_live`])
    /// and no revoke-prefix of its path is under way ([`Self::token_revoked`]).
    pub fn token_usable(&self, path: &str, mount_accessor: &str, issued_at: i64) -> bool {
        self.token_mount_live(path, mount_accessor) && !self.token_revoked(path, issued_at)
    }

    /// Whether a token created through `path` at `issued_at` falls under a revoke-prefix
    /// of an auth path still under way ([`super::revoked`]): refused as revoked.
    pub fn token_revoked(&self, path: &str, issued_at: i64) -> bool {
        self.revoked
            .iter()
            .any(|(p, at)| issued_at <= *at && format!("{path}/").starts_with(p.as_str()))
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
