//! Roles (`{mount}/roles/:name`, OpenBao's `path_roles.go`): the connection they use
//! (`db_name`, required), `creation_statements`, `revocation_statements`,
//! `rollback_statements` (kept and returned; Sigil's undo is the revocation),
//! `renew_statements`, `default_ttl` and `max_ttl` (seconds; 0 = the mount's), and
//! `credential_type` (`password` only). Statements are checked when written
//! ([`super::statements::check`]): a role with an unknown placeholder is refused.

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::Mount;
use super::config::statement_list;
use super::statements::{self, Kind};
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::store::{Key, Query, Store, delete_key, get_doc, put_doc, query_sort_keys};

/// Most statements a list may hold, and longest statement, in bytes.
pub const MAX_STATEMENTS: usize = 50;
/// Longest statement, in bytes.
pub const MAX_STATEMENT_LEN: usize = 16_384;

/// A role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbRole {
    /// The connection's name.
    pub db_name: String,
    /// Statements creating the user.
    pub creation_statements: Vec<String>,
    /// Statements removing it (empty: the plugin's default).
    pub revocation_statements: Vec<String>,
    /// Statements undoing a failed creation (kept; not run by Sigil).
    pub rollback_statements: Vec<String>,
    /// Statements moving its expiry (empty: `ALTER ROLE ... VALID UNTIL`).
    pub renew_statements: Vec<String>,
    /// Lease TTL, seconds (0: the mount's default).
    pub default_ttl: i64,
    /// Lease max TTL, seconds (0: the mount's max).
    pub max_ttl: i64,
}

fn role_key(m: Mount<'_>, name: &str) -> Key {
    Key::new(m.roles_partition(), name)
}

impl DbRole {
    /// The role as OpenBao's read returns it.
    pub fn to_json(&self) -> Json {
        json!({
            "db_name": self.db_name,
            "creation_statements": self.creation_statements,
            "revocation_statements": self.revocation_statements,
            "rollback_statements": self.rollback_statements,
            "renew_statements": self.renew_statements,
            "default_ttl": self.default_ttl,
            "max_ttl": self.max_ttl,
            "credential_type": "password",
        })
    }

    fn from_body(body: &Body, old: Option<DbRole>) -> Result<DbRole, ApiError> {
        let mut r = old.unwrap_or_default();
        if let Some(v) = body.string("db_name")? {
            r.db_name = v;
        }
        if r.db_name.is_empty() {
            return Err(ApiError::bad("database name is required"));
        }
        if let Some(t) = body.string("credential_type")?
            && t != "password"
        {
            return Err(ApiError::bad(
                "invalid credential_type: Sigil's database engine issues passwords only",
            ));
        }
        for (field, kind, slot) in [
            (
                "creation_statements",
                Kind::Creation,
                &mut r.creation_statements,
            ),
            (
                "revocation_statements",
                Kind::Revocation,
                &mut r.revocation_statements,
            ),
            (
                "rollback_statements",
                Kind::Revocation,
                &mut r.rollback_statements,
            ),
            ("renew_statements", Kind::Renew, &mut r.renew_statements),
        ] {
            if let Some(v) = statement_list(body, field)? {
                if v.len() > MAX_STATEMENTS || v.iter().any(|s| s.len() > MAX_STATEMENT_LEN) {
                    return Err(ApiError::bad(format!(
                        "\"{field}\": at most 50 statements of 16 KiB each"
                    )));
                }
                statements::check(kind, &v)?;
                *slot = v;
            }
        }
        if let Some(v) = body.duration("default_ttl")? {
            r.default_ttl = v;
        }
        if let Some(v) = body.duration("max_ttl")? {
            r.max_ttl = v;
        }
        if r.default_ttl < 0 || r.max_ttl < 0 {
            return Err(ApiError::bad("TTLs cannot be negative"));
        }
        Ok(r)
    }
}

/// Reads a role.
pub async fn read(store: &dyn Store, m: Mount<'_>, name: &str) -> Result<Option<DbRole>, ApiError> {
    Ok(get_doc(store, &role_key(m, name), "role", "database role").await?)
}

/// Writes a role (create, or update merging the given fields).
pub async fn write(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    body: &Body,
) -> Result<(), ApiError> {
    if !crate::approle::valid_name(name) {
        return Err(ApiError::bad("invalid role name"));
    }
    let role = DbRole::from_body(body, read(store, m, name).await?)?;
    Ok(put_doc(store, &role_key(m, name), "role", &role).await?)
}

/// Deletes a role (idempotent). Users it issued stay until their leases end.
pub async fn delete(store: &dyn Store, m: Mount<'_>, name: &str) -> Result<(), ApiError> {
    Ok(delete_key(store, role_key(m, name)).await?)
}

/// Role names.
pub async fn list(store: &dyn Store, m: Mount<'_>) -> Result<Vec<String>, ApiError> {
    Ok(query_sort_keys(store, Query::partition(m.roles_partition())).await?)
}
