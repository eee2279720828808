//! Token roles (`auth/token/roles/:name`, used by `auth/token/create/:name`): Vault's
//! `tsRoleEntry` and the rules a role adds to token creation (OpenBao
//! `token_store.go`: `tokenStoreRoleCreateUpdate`, `resolveTokenPolicies`,
//! `parseAndMergeTTLPeriod`, `handleCreateCommon`).
//!
//! A role lets a token without `sudo` create tokens with policies outside its own:
//! `allowed_policies` (and `allowed_policies_glob`) bound what may be asked for, and are
//! the default when nothing is; `disallowed_policies` (and globs) are never granted.
//! `orphan` makes every token of the role an orphan; `renewable`, `token_period`,
//! `token_explicit_max_ttl` and `token_num_uses` bound its tokens; `path_suffix` is
//! appended to their creating path (`auth/token/create/<role>/<suffix>`), so a
//! revoke-prefix of it revokes one revision of a role's tokens.
//!
//! Stored as one item: `token-roles` / `<name>`, attribute `role` (JSON).

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::store::{Item, ItemExt, Key, Query, Store, Value, Write, new_item, query_sort_keys};
use crate::token::{DEFAULT_POLICY, TokenEntry};

const PK: &str = "token-roles";
const A_ROLE: &str = "role";
/// Most token roles a deployment keeps (a listing is one query).
pub const MAX_ROLES: usize = 1_000;

/// A token role (Vault's `tsRoleEntry`, service tokens only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRole {
    /// Policies a token of the role may have (and has, when none are asked for).
    pub allowed_policies: Vec<String>,
    /// Policies a token of the role may never have.
    pub disallowed_policies: Vec<String>,
    /// Glob patterns (`*`) of allowed policies.
    pub allowed_policies_glob: Vec<String>,
    /// Glob patterns of disallowed policies.
    pub disallowed_policies_glob: Vec<String>,
    /// Every token of the role is an orphan.
    pub orphan: bool,
    /// Its tokens may be renewed (default true).
    pub renewable: bool,
    /// Appended to the creating path of its tokens.
    pub path_suffix: String,
    /// Period of its tokens, seconds (0: none).
    pub token_period: i64,
    /// Explicit max TTL of its tokens, seconds (0: none).
    pub token_explicit_max_ttl: i64,
    /// Uses of its tokens (0: unlimited).
    pub token_num_uses: i64,
    /// Leave `default` out of its tokens' policies.
    pub token_no_default_policy: bool,
    /// Vault's `token_type`: `default-service` (the default, also for `default` and
    /// empty), `service`, `batch` or `default-batch` ([`crate::batch_token`]).
    #[serde(default)]
    pub token_type: String,
}

fn key(name: &str) -> Key {
    Key::new(PK, name)
}

/// Vault's role names: the path segment as given, at most 128 bytes of
/// `[A-Za-z0-9_.@-]`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'))
}

/// Whether `suffix` is a valid `path_suffix` (Vault's `\w[\w-.]+\w`, no `..`).
fn valid_suffix(suffix: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let chars: Vec<char> = suffix.chars().collect();
    chars.len() >= 3
        && chars.len() <= 128
        && word(chars[0])
        && word(chars[chars.len() - 1])
        && chars.iter().all(|&c| word(c) || c == '-' || c == '.')
        && !suffix.contains("..")
}

/// Policy names given to a role field: trimmed, lowercased, sorted, deduplicated.
fn names(body: &Body, field: &str) -> Result<Option<Vec<String>>, ApiError> {
    body.list(field)?
        .map(|l| {
            let mut out: Vec<String> = l.iter().map(|p| p.trim().to_lowercase()).collect();
            if out.len() > crate::token_fields::MAX_LIST_ITEMS {
                return Err(ApiError::bad(format!("too many entries in {field:?}")));
            }
            if out.iter().any(|p| p.is_empty() || p.len() > 128) {
                return Err(ApiError::bad(format!("invalid entry in {field:?}")));
            }
            out.sort();
            out.dedup();
            Ok(out)
        })
        .transpose()
}

impl TokenRole {
    /// A new role's defaults (Vault's: renewable, nothing else).
    pub fn new() -> Self {
        Self {
            renewable: true,
            ..Self::default()
        }
    }

    /// Applies the fields present in `body` (Vault updates only what is given; the
    /// legacy `period`, `explicit_max_ttl` and `bound_cidrs` are accepted as aliases).
    /// 400 for invalid values and for what is not supported: batch token types, bound
    /// CIDRs, entity aliases.
    pub fn apply(&mut self, body: &Body) -> Result<(), ApiError> {
        if let Some(v) = names(body, "allowed_policies")? {
            self.allowed_policies = v;
        }
        if let Some(v) = names(body, "disallowed_policies")? {
            self.disallowed_policies = v;
        }
        if let Some(v) = names(body, "allowed_policies_glob")? {
            self.allowed_policies_glob = v;
        }
        if let Some(v) = names(body, "disallowed_policies_glob")? {
            self.disallowed_policies_glob = v;
        }
        if let Some(v) = body.boolean("orphan")? {
            self.orphan = v;
        }
        if let Some(v) = body.boolean("renewable")? {
            self.renewable = v;
        }
        if let Some(v) = body.string("path_suffix")? {
            if !v.is_empty() && !valid_suffix(&v) {
                return Err(ApiError::bad(
                    "given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w",
                ));
            }
            self.path_suffix = v;
        }
        match body.string("token_type")?.as_deref() {
            None => {}
            Some("" | "default" | "default-service") => self.token_type = String::new(),
            Some(t @ ("service" | "batch" | "default-batch")) => self.token_type = t.to_owned(),
            Some(other) => {
                return Err(ApiError::bad(format!(
                    "invalid 'token_type' value {other:?}"
                )));
            }
        }
        let pick = |new: &str, legacy: &str| -> Result<Option<i64>, ApiError> {
            Ok(match body.duration(new)? {
                Some(v) => Some(v),
                None => body.duration(legacy)?,
            })
        };
        if let Some(v) = pick("token_period", "period")? {
            self.token_period = v;
        }
        if let Some(v) = pick("token_explicit_max_ttl", "explicit_max_ttl")? {
            self.token_explicit_max_ttl = v;
        }
        if let Some(v) = body.uint("token_num_uses")? {
            self.token_num_uses = v;
        }
        if let Some(v) = body.boolean("token_no_default_policy")? {
            self.token_no_default_policy = v;
        }
        // Vault's role rules for batch tokens (`token_store.go`).
        if self.token_type == "batch" {
            for (bad, what) in [
                (!self.orphan, "non-orphan tokens"),
                (self.token_period != 0, "periodic tokens"),
                (self.renewable, "renewable tokens"),
                (
                    self.token_explicit_max_ttl != 0,
                    "tokens with an explicit max TTL",
                ),
            ] {
                if bad {
                    return Err(ApiError::bad(format!(
                        "'token_type' cannot be 'batch' when role is set to generate {what}"
                    )));
                }
            }
        }
        for unsupported in ["token_bound_cidrs", "bound_cidrs", "allowed_entity_aliases"] {
            if body.list(unsupported)?.is_some_and(|l| !l.is_empty()) {
                return Err(ApiError::bad(format!("{unsupported:?} is not supported")));
            }
        }
        Ok(())
    }

    /// The role as Vault's read answers it.
    pub fn to_json(&self, name: &str) -> Json {
        let mut out = json!({
            "name": name,
            "allowed_policies": self.allowed_policies,
            "disallowed_policies": self.disallowed_policies,
            "allowed_policies_glob": self.allowed_policies_glob,
            "disallowed_policies_glob": self.disallowed_policies_glob,
            "orphan": self.orphan,
            "renewable": self.renewable,
            "path_suffix": self.path_suffix,
            "period": self.token_period,
            "token_period": self.token_period,
            "explicit_max_ttl": self.token_explicit_max_ttl,
            "token_explicit_max_ttl": self.token_explicit_max_ttl,
            "token_type": if self.token_type.is_empty() { "default-service" } else { self.token_type.as_str() },
            "allowed_entity_aliases": Json::Null,
            "token_no_default_policy": self.token_no_default_policy,
        });
        if self.token_num_uses > 0
            && let Json::Object(m) = &mut out
        {
            m.insert("token_num_uses".into(), json!(self.token_num_uses));
        }
        out
    }

    /// The creating path of the role's tokens: `auth/token/create/<name>[/<suffix>]`.
    pub fn token_path(&self, name: &str) -> String {
        if self.path_suffix.is_empty() {
            format!("auth/token/create/{name}")
        } else {
            format!("auth/token/create/{name}/{}", self.path_suffix)
        }
    }

    /// Vault's policy resolution for a role with allowed or disallowed lists
    /// (`resolveTokenPolicies`, first case); `None` when the role has none of them
    /// (the parent's rules apply). `asked`: the request's `policies`.
    pub fn resolve_policies(
        &self,
        asked: Option<&[String]>,
        no_default_policy: bool,
        parent: &TokenEntry,
    ) -> Option<Result<Vec<String>, ApiError>> {
        if self.allowed_policies.is_empty()
            && self.disallowed_policies.is_empty()
            && self.allowed_policies_glob.is_empty()
            && self.disallowed_policies_glob.is_empty()
        {
            return None;
        }
        let add_default = !no_default_policy
            && !self.token_no_default_policy
            && !self.disallowed_policies.iter().any(|p| p == DEFAULT_POLICY)
            && !matches_any(&self.disallowed_policies_glob, DEFAULT_POLICY);
        let sanitize = |list: &[String]| {
            let mut out: Vec<String> = list.to_vec();
            if add_default {
                out.push(DEFAULT_POLICY.to_owned());
            }
            out.sort();
            out.dedup();
            out
        };
        let mut policies = asked.map(sanitize).unwrap_or_default();
        if !self.allowed_policies.is_empty() || !self.allowed_policies_glob.is_empty() {
            let allowed = sanitize(&self.allowed_policies);
            if asked.is_none() {
                policies = allowed;
            } else if let Some(p) = policies
                .iter()
                .find(|p| !allowed.contains(p) && !matches_any(&self.allowed_policies_glob, p))
            {
                return Some(Err(ApiError::bad(format!(
                    "token policies must be subset of the role's allowed policies or glob policies ({p:?} is not)"
                ))));
            }
        } else if asked.is_none() {
            policies = sanitize(&parent.policies);
        }
        if let Some(p) = policies.iter().find(|p| {
            self.disallowed_policies.contains(p) || matches_any(&self.disallowed_policies_glob, p)
        }) {
            return Some(Err(ApiError::bad(format!(
                "token policy {p:?} is disallowed by this role"
            ))));
        }
        Some(Ok(policies))
    }
}

/// Whether `name` matches one of `patterns` (`*` matches any run of characters, as
/// Vault's `StrListContainsGlob`).
pub fn matches_any(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| glob(p, name))
}

fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Reads a role.
pub async fn read(store: &dyn Store, name: &str) -> Result<Option<TokenRole>, ApiError> {
    let Some(item) = store.get(&key(name)).await? else {
        return Ok(None);
    };
    decode(&item).map(Some)
}

fn decode(item: &Item) -> Result<TokenRole, ApiError> {
    serde_json::from_str(item.s(A_ROLE)?).map_err(|_| ApiError::Integrity)
}

/// Writes a role (created with Vault's defaults, or updated with the fields given).
pub async fn write(store: &dyn Store, name: &str, body: &Body) -> Result<(), ApiError> {
    if !valid_name(name) {
        return Err(ApiError::bad("invalid role name"));
    }
    let mut role = read(store, name).await?.unwrap_or_else(TokenRole::new);
    role.apply(body)?;
    let mut item = new_item(&key(name));
    item.insert(
        A_ROLE.into(),
        Value::S(serde_json::to_string(&role).map_err(|_| ApiError::Internal)?),
    );
    store
        .write(Write::Put { item, cond: None })
        .await
        .map_err(Into::into)
}

/// Deletes a role (idempotent). Tokens it made live on, as in Vault.
pub async fn delete(store: &dyn Store, name: &str) -> Result<(), ApiError> {
    store
        .write(Write::Delete {
            key: key(name),
            cond: None,
        })
        .await
        .map_err(Into::into)
}

/// Role names, in order.
pub async fn list(store: &dyn Store) -> Result<Vec<String>, ApiError> {
    let mut names = query_sort_keys(store, Query::partition(PK)).await?;
    names.truncate(MAX_ROLES);
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_vault() {
        for (p, n, want) in [
            ("dev-*", "dev-a", true),
            ("dev-*", "ops-a", false),
            ("*-ro", "kv-ro", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxc", false),
            ("*", "anything", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ] {
            assert_eq!(glob(p, n), want, "{p} {n}");
        }
    }

    #[test]
    fn suffixes_and_names() {
        assert!(valid_suffix("v1.2") && valid_suffix("rev-2"));
        assert!(!valid_suffix("v") && !valid_suffix("-v1") && !valid_suffix("a..b"));
        assert!(!valid_suffix("a/b"));
        assert!(valid_name("ci-fanout") && !valid_name("a/b") && !valid_name(""));
    }
}
