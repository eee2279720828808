//! A token creating another (`auth/token/create`, `auth/token/create-orphan`): Vault's
//! rules (OpenBao `token_store.go`, `handleCreateCommon`, `resolveTokenPolicies`,
//! `parseAndMergeTTLPeriod`), for service tokens without a token role.
//!
//! - A use-limited token creates nothing (it would escape its limit).
//! - Policies: none given → the parent's; otherwise, without `sudo` on the path, a subset
//!   of the parent's, `default` added when the parent has it (unless
//!   `no_default_policy`); with `sudo`, any, `default` added unless
//!   `no_default_policy`. `root` only under a root parent.
//! - `no_parent` (an orphan) and `period` need `sudo`; `create-orphan` makes an orphan.
//! - A child records its ancestors (parent first): it authenticates only while they do,
//!   and a revocation of any of them revokes it ([`crate::token::ancestors_live`]).
//!
//! Through a token role (`auth/token/create/:role`), the role's rules apply as well
//! ([`crate::token_role`]). Not supported (400): `type=batch`, a caller-chosen `id`,
//! `entity_alias`.

use std::collections::BTreeMap;

use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::token::{DEFAULT_POLICY, MAX_DEPTH, ROOT_POLICY, TokenEntry, TokenParams};
use crate::token_role::TokenRole;

/// The creation parameters of a request body, parsed (400 for a malformed field).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateRequest {
    /// `policies`, trimmed, lowercased, sorted, deduplicated (`None`: not given).
    pub policies: Option<Vec<String>>,
    /// `no_default_policy`.
    pub no_default_policy: bool,
    /// `no_parent`: an orphan (needs `sudo`).
    pub no_parent: bool,
    /// `ttl` (or the legacy `lease`), seconds.
    pub ttl: i64,
    /// `explicit_max_ttl`, seconds.
    pub explicit_max_ttl: i64,
    /// `period`, seconds (needs `sudo`).
    pub period: i64,
    /// `num_uses` (0: unlimited).
    pub num_uses: i64,
    /// `meta`.
    pub meta: BTreeMap<String, String>,
    /// `display_name`, as given.
    pub display_name: String,
    /// `renewable` (default true).
    pub renewable: bool,
    /// `type`: `Some(true)` batch, `Some(false)` service, `None` not given (a token
    /// role's `token_type` decides, else service).
    pub batch: Option<bool>,
}

impl CreateRequest {
    /// Parses `body`. 400 for unsupported options (`type=batch`, `id`,
    /// `entity_alias`) and malformed fields.
    pub fn from_body(body: &Body) -> Result<Self, ApiError> {
        let batch = match body.string("type")?.as_deref() {
            None | Some("") => None,
            Some("service") => Some(false),
            Some("batch") => Some(true),
            Some(_) => return Err(ApiError::bad("invalid 'token_type' value")),
        };
        if body.string("id")?.is_some_and(|s| !s.is_empty()) {
            return Err(ApiError::bad("custom token IDs are not supported"));
        }
        if body.string("entity_alias")?.is_some_and(|s| !s.is_empty()) {
            return Err(ApiError::bad(
                "'entity_alias' is only allowed in combination with token role",
            ));
        }
        // Vault: an empty list is no list (the parent's policies, or the role's).
        let policies = body
            .list("policies")?
            .filter(|l| !l.is_empty())
            .map(|l| crate::token_fields::policy_list(l, "policies"))
            .transpose()?;
        let meta = body.string_map("meta")?.unwrap_or_default();
        if meta.len() > 64 || meta.iter().any(|(k, v)| k.len() > 128 || v.len() > 512) {
            return Err(ApiError::bad(
                "\"meta\" is too large (at most 64 keys, 128-byte keys, 512-byte values)",
            ));
        }
        let display_name = body.string("display_name")?.unwrap_or_default();
        if display_name.len() > 256 {
            return Err(ApiError::bad("\"display_name\" is too long"));
        }
        Ok(Self {
            policies,
            no_default_policy: body.boolean("no_default_policy")?.unwrap_or(false),
            no_parent: body.boolean("no_parent")?.unwrap_or(false),
            ttl: match body.duration("ttl")? {
                Some(t) => t,
                None => body.duration("lease")?.unwrap_or(0),
            },
            explicit_max_ttl: body.duration("explicit_max_ttl")?.unwrap_or(0),
            period: body.duration("period")?.unwrap_or(0),
            num_uses: body.uint("num_uses")?.unwrap_or(0),
            meta,
            display_name,
            renewable: body.boolean("renewable")?.unwrap_or(true),
            batch,
        })
    }

    /// The new token's parameters, created by `parent` through `path` (e.g.
    /// `auth/token/create`); `sudo`: the caller has `sudo` on the path; `orphan`: the
    /// path makes orphans. 400 with Vault's messages when a rule forbids it.
    pub fn params(
        &self,
        parent: &TokenEntry,
        sudo: bool,
        orphan: bool,
        path: &str,
    ) -> Result<TokenParams, ApiError> {
        self.params_with(parent, sudo, orphan, path, None)
            .map(|(p, _)| p)
    }

    /// [`Self::params`] through a token role (`auth/token/create/:role`): the role's
    /// policy lists, orphan flag, renewability, period, explicit max TTL, uses and path
    /// suffix apply ([`TokenRole`]). Returns the parameters and Vault's warnings (a
    /// period or explicit max TTL given both by the request and the role: the lesser
    /// wins).
    pub fn params_with(
        &self,
        parent: &TokenEntry,
        sudo: bool,
        orphan: bool,
        path: &str,
        role: Option<(&str, &TokenRole)>,
    ) -> Result<(TokenParams, Vec<String>), ApiError> {
        if parent.batch {
            return Err(ApiError::bad("batch tokens cannot create more tokens"));
        }
        if parent.num_uses != 0 {
            return Err(ApiError::bad(
                "restricted use token cannot generate child tokens",
            ));
        }
        // Vault's type rules: a role's `batch`/`service` wins, its `default-batch`
        // gives the default; a batch token asked with a use limit, period or explicit
        // max TTL is refused.
        let batch = match role.map(|(_, r)| r.token_type.as_str()) {
            Some("batch") => true,
            Some("service") => false,
            Some("default-batch") => self.batch.unwrap_or(true),
            _ => self.batch.unwrap_or(false),
        };
        if batch {
            crate::token::batch_fields_unset(self.explicit_max_ttl, self.num_uses, self.period)?;
        }
        let policies = match role.and_then(|(_, r)| {
            r.resolve_policies(self.policies.as_deref(), self.no_default_policy, parent)
        }) {
            Some(listed) => finish_policies(listed?, self.no_default_policy, parent)?,
            None => self.resolve_policies(parent, sudo)?,
        };
        if self.no_parent && !sudo && role.is_none() {
            return Err(ApiError::bad(
                "root or sudo privileges required to create orphan token",
            ));
        }
        if self.period > 0 && !sudo {
            return Err(ApiError::bad(
                "root or sudo privileges required to create periodic token",
            ));
        }
        let mut warnings = Vec::new();
        let (mut period, mut explicit_max_ttl) = (self.period, self.explicit_max_ttl);
        let mut num_uses = self.num_uses;
        let mut renewable = self.renewable;
        let mut path = path.to_owned();
        let orphan = match role {
            Some((name, r)) => {
                let lesser = |given: i64, by_role: i64, what: &str, w: &mut Vec<String>| match (
                    given, by_role,
                ) {
                    (_, 0) => given,
                    (0, r) => r,
                    (g, r) => {
                        w.push(format!(
                                "{what} specified both during creation call and in role; using the lesser value of {} seconds",
                                g.min(r)
                            ));
                        g.min(r)
                    }
                };
                explicit_max_ttl = lesser(
                    explicit_max_ttl,
                    r.token_explicit_max_ttl,
                    "Explicit max TTL",
                    &mut warnings,
                );
                period = lesser(period, r.token_period, "Period", &mut warnings);
                if r.token_num_uses > 0 && (num_uses == 0 || r.token_num_uses < num_uses) {
                    num_uses = r.token_num_uses;
                }
                renewable &= r.renewable;
                path = r.token_path(name);
                r.orphan
            }
            None => orphan || self.no_parent,
        };
        let ancestors = if orphan {
            Vec::new()
        } else {
            if parent.ancestors.len() >= MAX_DEPTH {
                return Err(ApiError::bad(format!(
                    "token tree too deep: at most {MAX_DEPTH} levels"
                )));
            }
            std::iter::once(parent.hash.clone())
                .chain(parent.ancestors.iter().cloned())
                .collect()
        };
        let params = TokenParams {
            policies,
            // `default` is already decided by the policy rules above.
            no_default_policy: true,
            ttl: self.ttl,
            max_ttl: 0,
            explicit_max_ttl,
            period,
            num_uses,
            display_name: display_name(&self.display_name),
            meta: self.meta.clone(),
            path,
            ancestors,
            renewable: Some(renewable && !batch),
            role: role.map(|(name, _)| name.to_owned()).unwrap_or_default(),
            batch,
            // Vault's rule: a child acts for its parent's entity; an orphan for none.
            entity_id: if orphan {
                String::new()
            } else {
                parent.entity_id.clone()
            },
        };
        Ok((params, warnings))
    }

    /// Vault's `resolveTokenPolicies` without a token role.
    fn resolve_policies(&self, parent: &TokenEntry, sudo: bool) -> Result<Vec<String>, ApiError> {
        let (mut policies, add_default) = match &self.policies {
            None => (parent.policies.clone(), false),
            Some(asked) if !sudo => {
                if !asked.iter().all(|p| parent.policies.contains(p)) {
                    return Err(ApiError::bad("child policies must be subset of parent"));
                }
                let default =
                    !self.no_default_policy && parent.policies.iter().any(|p| p == DEFAULT_POLICY);
                (asked.clone(), default)
            }
            Some(asked) => (asked.clone(), !self.no_default_policy),
        };
        if add_default {
            policies.push(DEFAULT_POLICY.to_owned());
        }
        finish_policies(policies, self.no_default_policy, parent)
    }
}

/// The last of Vault's policy rules, whoever chose the list: sorted, deduplicated,
/// `default` removed under `no_default_policy`, `root` only under a root parent.
fn finish_policies(
    mut policies: Vec<String>,
    no_default_policy: bool,
    parent: &TokenEntry,
) -> Result<Vec<String>, ApiError> {
    if no_default_policy {
        policies.retain(|p| p != DEFAULT_POLICY);
    }
    policies.sort();
    policies.dedup();
    // Wrapping tokens' policy is only ever given by response wrapping (Vault's
    // non-assignable policies).
    let wrapping = crate::policy::RESPONSE_WRAPPING_POLICY_NAME;
    if policies.iter().any(|p| p == wrapping) {
        return Err(ApiError::bad(format!("cannot assign policy {wrapping:?}")));
    }
    if policies.iter().any(|p| p == ROOT_POLICY)
        && !parent.policies.iter().any(|p| p == ROOT_POLICY)
    {
        return Err(ApiError::bad(
            "root tokens may not be created without parent token being root",
        ));
    }
    Ok(policies)
}

/// Vault's display name of a created token: `token`, or `token-` and the given name
/// with every character outside `[A-Za-z0-9-]` replaced by `-`, no trailing `-`.
pub fn display_name(given: &str) -> String {
    if given.is_empty() {
        return "token".to_owned();
    }
    let full: String = format!("token-{given}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    full.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token;
    use serde_json::json;

    fn req(v: serde_json::Value) -> Result<CreateRequest, ApiError> {
        CreateRequest::from_body(&serde_json::from_value(v).unwrap())
    }

    fn parent(policies: &[&str]) -> TokenEntry {
        let m = token::mint(
            &TokenParams {
                policies: policies.iter().map(|p| (*p).to_owned()).collect(),
                no_default_policy: true,
                ..TokenParams::default()
            },
            token::Limits {
                default_ttl: 3600,
                max_ttl: 7200,
                batch: None,
            },
            0,
        )
        .unwrap();
        m.entry
    }

    fn policies(r: &CreateRequest, p: &TokenEntry, sudo: bool) -> Result<Vec<String>, String> {
        r.params(p, sudo, false, "auth/token/create")
            .map(|t| t.policies)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn policies_follow_vaults_rules() {
        let p = parent(&["default", "dev", "ops"]);
        let none = req(json!({})).unwrap();
        assert_eq!(
            policies(&none, &p, false).unwrap(),
            ["default", "dev", "ops"]
        );
        for empty in [json!({"policies": []}), json!({"policies": ""})] {
            assert_eq!(
                policies(&req(empty.clone()).unwrap(), &p, false).unwrap(),
                ["default", "dev", "ops"],
                "{empty}: no list, the parent's (Vault)"
            );
        }
        let sub = req(json!({"policies": ["dev"]})).unwrap();
        assert_eq!(policies(&sub, &p, false).unwrap(), ["default", "dev"]);
        let sub_nd = req(json!({"policies": "dev", "no_default_policy": true})).unwrap();
        assert_eq!(policies(&sub_nd, &p, false).unwrap(), ["dev"]);
        let wider = req(json!({"policies": ["dev", "admin"]})).unwrap();
        assert_eq!(
            policies(&wider, &p, false).unwrap_err(),
            "child policies must be subset of parent"
        );
        assert_eq!(
            policies(&wider, &p, true).unwrap(),
            ["admin", "default", "dev"]
        );
        let root = req(json!({"policies": ["root"]})).unwrap();
        assert!(
            policies(&root, &p, true)
                .unwrap_err()
                .contains("root tokens may not")
        );
        assert_eq!(
            policies(
                &req(json!({"policies": ["a", "response-wrapping"]})).unwrap(),
                &parent(&["root"]),
                true
            )
            .unwrap_err()
            .to_string(),
            "cannot assign policy \"response-wrapping\""
        );
        assert_eq!(
            policies(&root, &parent(&["root"]), true).unwrap(),
            ["default", "root"]
        );
        // Without `default` on the parent, none is added for a non-sudo child.
        let q = parent(&["dev"]);
        assert_eq!(policies(&sub, &q, false).unwrap(), ["dev"]);
    }

    #[test]
    fn orphans_periods_and_limited_parents() {
        let mut p = parent(&["dev"]);
        p.entity_id = "e1".into();
        let orphan = req(json!({"no_parent": true})).unwrap();
        assert!(
            orphan
                .params(&p, false, false, "auth/token/create")
                .is_err()
        );
        let o = orphan.params(&p, true, false, "auth/token/create").unwrap();
        assert!(o.ancestors.is_empty());
        assert_eq!(o.entity_id, "", "an orphan acts for no entity (Vault)");
        let child = req(json!({})).unwrap();
        let c = child.params(&p, false, false, "auth/token/create").unwrap();
        assert_eq!(c.ancestors, vec![p.hash.clone()]);
        assert_eq!(c.entity_id, "e1", "a child inherits its parent's entity");
        let c = child
            .params(&p, false, true, "auth/token/create-orphan")
            .unwrap();
        assert!(c.ancestors.is_empty());
        let periodic = req(json!({"period": "1h"})).unwrap();
        assert!(periodic.params(&p, false, false, "x").is_err());
        assert_eq!(periodic.params(&p, true, false, "x").unwrap().period, 3600);
        let mut limited = p.clone();
        limited.num_uses = 3;
        assert!(child.params(&limited, true, false, "x").is_err());
        let mut deep = p.clone();
        deep.ancestors = vec!["h".into(); MAX_DEPTH];
        assert!(child.params(&deep, true, false, "x").is_err());
    }

    /// Vault's batch rules: the type chosen by the request or a role, no use limit,
    /// period or explicit max TTL, never renewable, and a batch parent creates nothing.
    #[test]
    fn batch_tokens_follow_vaults_rules() {
        let p = parent(&["a"]);
        let batch = req(json!({"type": "batch"})).unwrap();
        let params = batch.params(&p, false, false, "x").unwrap();
        assert!(params.batch && params.renewable == Some(false));
        for bad in [
            json!({"type": "batch", "num_uses": 2}),
            json!({"type": "batch", "period": "1h"}),
            json!({"type": "batch", "explicit_max_ttl": "1h"}),
        ] {
            let e = req(bad.clone())
                .unwrap()
                .params(&p, true, false, "x")
                .unwrap_err();
            assert!(
                e.to_string().contains("batch tokens cannot have"),
                "{bad}: {e}"
            );
        }
        let mut batch_parent = p.clone();
        batch_parent.batch = true;
        let e = req(json!({}))
            .unwrap()
            .params(&batch_parent, true, true, "x")
            .unwrap_err();
        assert_eq!(e.to_string(), "batch tokens cannot create more tokens");
        let role = |t: &str| TokenRole {
            token_type: t.to_owned(),
            renewable: true,
            ..TokenRole::default()
        };
        let by_role = |t: &str, body: serde_json::Value| {
            req(body)
                .unwrap()
                .params_with(&p, true, false, "x", Some(("r", &role(t))))
                .unwrap()
                .0
                .batch
        };
        assert!(by_role("batch", json!({"type": "service"})));
        assert!(!by_role("service", json!({"type": "batch"})));
        assert!(by_role("default-batch", json!({})));
        assert!(!by_role("default-batch", json!({"type": "service"})));
        assert!(!by_role("", json!({})));
    }

    #[test]
    fn bad_input_is_refused() {
        for bad in [
            json!({"type": "nope"}),
            json!({"id": "my-token"}),
            json!({"num_uses": -1}),
            json!({"ttl": "forever"}),
            json!({"policies": ["ok", "bad name"]}),
            json!({"meta": {"k": 1}}),
            json!({"renewable": "maybe"}),
        ] {
            assert_eq!(req(bad.clone()).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn display_names_as_vault() {
        assert_eq!(display_name(""), "token");
        assert_eq!(display_name("ci job/42"), "token-ci-job-42");
        assert_eq!(display_name("x!"), "token-x");
    }

    fn role(v: serde_json::Value) -> TokenRole {
        let mut r = TokenRole::new();
        r.apply(&serde_json::from_value(v).unwrap()).unwrap();
        r
    }

    #[test]
    fn a_role_bounds_and_widens_policies_as_vault() {
        let p = parent(&["default", "maker"]);
        let ci = role(
            json!({"allowed_policies": ["deploy", "read"], "disallowed_policies": "admin",
                             "allowed_policies_glob": "team-*"}),
        );
        let with = |body: serde_json::Value, r: &TokenRole| {
            req(body)
                .unwrap()
                .params_with(&p, false, false, "auth/token/create", Some(("ci", r)))
                .map(|(t, w)| (t.policies, t.path, t.ancestors.is_empty(), w))
                .map_err(|e| e.to_string())
        };
        // Nothing asked: the role's allowed policies (beyond the parent's), with default.
        let (pols, path, orphan, _) = with(json!({}), &ci).unwrap();
        assert_eq!(pols, ["default", "deploy", "read"]);
        assert_eq!((path.as_str(), orphan), ("auth/token/create/ci", false));
        assert_eq!(
            with(json!({"policies": ["read", "team-a"]}), &ci)
                .unwrap()
                .0,
            ["default", "read", "team-a"]
        );
        assert!(
            with(json!({"policies": ["maker"]}), &ci)
                .unwrap_err()
                .contains("subset")
        );
        let no_allow = role(json!({"disallowed_policies": ["maker"]}));
        assert!(
            with(json!({}), &no_allow)
                .unwrap_err()
                .contains("disallowed")
        );
        assert_eq!(
            with(json!({"no_default_policy": true}), &ci).unwrap().0,
            ["deploy", "read"]
        );

        // Orphans, suffix, renewability, uses, and the lesser period with a warning.
        let r = role(
            json!({"allowed_policies": "read", "orphan": true, "path_suffix": "rev2",
                            "renewable": false, "token_num_uses": 3, "token_period": "1h"}),
        );
        let (t, w) = req(json!({"num_uses": 5, "period": "30m"}))
            .unwrap()
            .params_with(&p, true, false, "x", Some(("ci", &r)))
            .unwrap();
        assert!(t.ancestors.is_empty());
        assert_eq!(t.path, "auth/token/create/ci/rev2");
        assert_eq!((t.renewable, t.num_uses, t.period), (Some(false), 3, 1800));
        assert_eq!(w.len(), 1, "{w:?}");
        // The role's period needs no sudo; the request's does.
        let (t, _) = req(json!({}))
            .unwrap()
            .params_with(&p, false, false, "x", Some(("ci", &r)))
            .unwrap();
        assert_eq!(t.period, 3600);
        assert!(
            req(json!({"period": "1m"}))
                .unwrap()
                .params_with(&p, false, false, "x", Some(("ci", &r)))
                .is_err()
        );
    }

    #[test]
    fn role_settings_refuse_what_is_not_supported() {
        for bad in [
            json!({"token_type": "batch"}),
            json!({"token_type": "nope"}),
            json!({"path_suffix": "a/b"}),
            json!({"path_suffix": "../x"}),
            json!({"token_bound_cidrs": ["10.0.0.0/8"]}),
            json!({"allowed_entity_aliases": ["x"]}),
            json!({"orphan": "maybe"}),
        ] {
            let mut r = TokenRole::new();
            assert_eq!(
                r.apply(&serde_json::from_value(bad.clone()).unwrap())
                    .unwrap_err()
                    .status(),
                400,
                "{bad}"
            );
        }
    }
}
