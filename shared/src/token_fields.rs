//! The `token_*` fields every auth method's role carries (Vault's `tokenutil`): what a
//! login through the role mints. AppRole, JWT/OIDC, Kubernetes and AWS roles embed
//! [`TokenFields`] so that they parse, validate, store and print them one way.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use crate::error::ApiError;
use crate::http::params::{Body, BodyExt, normalize_list, resolve_alias};
use crate::token::{self, TokenParams};

/// Most entries in one list parameter (policies, CIDR blocks, bound values).
pub const MAX_LIST_ITEMS: usize = 64;

/// A role's token parameters (Vault's names; durations in seconds, 0 meaning the system
/// default or "none" as each field says).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFields {
    /// Token TTL, seconds (0: system default).
    pub token_ttl: i64,
    /// Token max TTL, seconds (0: system max).
    pub token_max_ttl: i64,
    /// Token policies: lowercased, sorted, no duplicates, never `root`.
    pub token_policies: Vec<String>,
    /// Leave out the `default` policy.
    pub token_no_default_policy: bool,
    /// Token uses (0: unlimited).
    pub token_num_uses: i64,
    /// Token period, seconds (0: not periodic).
    pub token_period: i64,
    /// Token explicit max TTL, seconds (0: none).
    pub token_explicit_max_ttl: i64,
    /// Token type: `default` (empty), `service` or `batch` ([`crate::batch_token`]).
    #[serde(default)]
    pub token_type: String,
}

/// Rewrites a role write's body into the form [`TokenFields::apply`] reads: the legacy
/// aliases `policies` and `period` become `token_policies` and `token_period`, and
/// `token_policies` becomes a trimmed, lowercased list. The dispatcher calls this
/// before policies' parameter constraints are checked, so they judge what takes effect.
pub fn canonicalize(body: &mut Body) {
    resolve_alias(body, "policies", "token_policies");
    resolve_alias(body, "period", "token_period");
    normalize_list(body, "token_policies", true);
    normalize_list(body, "token_bound_cidrs", false);
}

/// Token policy names as Vault stores them: trimmed, lowercased, each a valid policy
/// name, at most [`MAX_LIST_ITEMS`]; `root` cannot be granted by a role.
pub fn policy_names(list: Vec<String>) -> Result<Vec<String>, ApiError> {
    let out = policy_list(list, "token_policies")?;
    if out.iter().any(|p| p == token::ROOT_POLICY) {
        return Err(ApiError::bad(
            "the \"root\" policy cannot be granted by a role",
        ));
    }
    // Only a wrapping token holds the response-wrapping policy (Vault refuses it at
    // login with the same text; Sigil at the role's write, before any token has it).
    if let Some(p) = out
        .iter()
        .find(|p| *p == crate::policy::RESPONSE_WRAPPING_POLICY_NAME)
    {
        return Err(ApiError::bad(format!("cannot assign policy {p:?}")));
    }
    Ok(out)
}

/// Policy names as Vault stores them (trimmed, lowercased, sorted, no duplicates),
/// each a valid policy name, at most [`MAX_LIST_ITEMS`] (400 naming `field`); `root`
/// allowed (the caller decides who may grant it).
pub fn policy_list(list: Vec<String>, field: &str) -> Result<Vec<String>, ApiError> {
    if list.len() > MAX_LIST_ITEMS {
        return Err(ApiError::bad(format!("at most {MAX_LIST_ITEMS} policies")));
    }
    let mut out = Vec::with_capacity(list.len());
    for p in list {
        let p = p.trim().to_lowercase();
        if !crate::policies::valid_name(&p) {
            return Err(ApiError::bad(format!("invalid policy name in {field:?}")));
        }
        out.push(p);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

impl TokenFields {
    /// Applies the `token_*` parameters present in `body` (Vault updates only what is
    /// given; `policies` and `period` are accepted as legacy aliases). 400 for invalid
    /// values, for a non-empty `token_bound_cidrs` (not supported yet), for a
    /// `token_type` other than `service`/`default`, and for a TTL over the max TTL.
    pub fn apply(&mut self, body: &Body) -> Result<(), ApiError> {
        if let Some(v) = body.duration("token_ttl")? {
            self.token_ttl = v;
        }
        if let Some(v) = body.duration("token_max_ttl")? {
            self.token_max_ttl = v;
        }
        if let Some(v) = body.list("token_policies")?.or(body.list("policies")?) {
            self.token_policies = policy_names(v)?;
        }
        if let Some(v) = body.boolean("token_no_default_policy")? {
            self.token_no_default_policy = v;
        }
        if let Some(v) = body.uint("token_num_uses")? {
            self.token_num_uses = v;
        }
        if let Some(v) = body.duration("token_period")?.or(body.duration("period")?) {
            self.token_period = v;
        }
        if let Some(v) = body.duration("token_explicit_max_ttl")? {
            self.token_explicit_max_ttl = v;
        }
        if body
            .list("token_bound_cidrs")?
            .is_some_and(|l| !l.is_empty())
        {
            return Err(ApiError::bad(
                "\"token_bound_cidrs\" is not supported by Sigil yet",
            ));
        }
        match body.string("token_type")?.as_deref() {
            None => {}
            Some("" | "default") => self.token_type = String::new(),
            Some(t @ ("service" | "batch")) => self.token_type = t.to_owned(),
            Some(other) => {
                return Err(ApiError::bad(format!(
                    "invalid 'token_type' value {other:?}"
                )));
            }
        }
        // Vault's `tokenutil` rules for batch tokens.
        if self.token_type == "batch" {
            if self.token_period != 0 {
                return Err(ApiError::bad(
                    "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens",
                ));
            }
            if self.token_num_uses != 0 {
                return Err(ApiError::bad(
                    "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count",
                ));
            }
        }
        if self.token_max_ttl > 0 && self.token_ttl > self.token_max_ttl {
            return Err(ApiError::bad(
                "\"token_ttl\" cannot be greater than \"token_max_ttl\"",
            ));
        }
        Ok(())
    }

    /// Adds the fields to a role's read response, as Vault prints them (with the
    /// legacy `policies` and `period` beside their current names).
    pub fn write_json(&self, out: &mut Map<String, Json>) {
        let fields = json!({
            "token_bound_cidrs": [],
            "token_explicit_max_ttl": self.token_explicit_max_ttl,
            "token_max_ttl": self.token_max_ttl,
            "token_no_default_policy": self.token_no_default_policy,
            "token_num_uses": self.token_num_uses,
            "token_period": self.token_period,
            "token_policies": self.token_policies,
            "policies": self.token_policies,
            "period": self.token_period,
            "token_ttl": self.token_ttl,
            "token_type": if self.token_type.is_empty() { "default" } else { self.token_type.as_str() },
        });
        if let Json::Object(m) = fields {
            out.extend(m);
        }
    }

    /// The parameters of a token minted through the role: `display_name` (e.g. `jwt`
    /// or `approle`), the token's `meta`data, and the login `path`.
    pub fn params(
        &self,
        display_name: &str,
        meta: BTreeMap<String, String>,
        path: &str,
    ) -> TokenParams {
        TokenParams {
            policies: self.token_policies.clone(),
            no_default_policy: self.token_no_default_policy,
            ttl: self.token_ttl,
            max_ttl: self.token_max_ttl,
            explicit_max_ttl: self.token_explicit_max_ttl,
            period: self.token_period,
            num_uses: self.token_num_uses,
            display_name: display_name.into(),
            meta,
            path: path.into(),
            ancestors: Vec::new(),
            renewable: None,
            role: String::new(),
            batch: self.token_type == "batch",
            // Set by the login from its alias ([`crate::identity::login`]).
            entity_id: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Json) -> Body {
        let mut b = v.as_object().cloned().unwrap_or_default();
        canonicalize(&mut b);
        b
    }

    #[test]
    fn aliases_and_lists_are_canonical() {
        let mut t = TokenFields::default();
        t.apply(&body(json!({"policies": " App, b ,app", "period": "1h"})))
            .unwrap();
        assert_eq!(t.token_policies, ["app", "b"]);
        assert_eq!(t.token_period, 3600);
    }

    #[test]
    fn invalid_values_are_refused() {
        for (b, why) in [
            (json!({"token_policies": ["root"]}), "root"),
            (
                json!({"token_policies": ["Response-Wrapping"]}),
                "the wrapping tokens' policy",
            ),
            (
                json!({"token_ttl": "2h", "token_max_ttl": "1h"}),
                "ttl > max",
            ),
            (json!({"token_bound_cidrs": "10.0.0.0/8"}), "bound cidrs"),
            (
                json!({"token_type": "batch", "token_period": "1h"}),
                "periodic batch",
            ),
            (
                json!({"token_type": "batch", "token_num_uses": 3}),
                "use-limited batch",
            ),
            (json!({"token_type": "nope"}), "unknown type"),
            (json!({"token_num_uses": -1}), "negative uses"),
        ] {
            let mut t = TokenFields::default();
            assert!(t.apply(&body(b)).is_err(), "{why}");
        }
    }
}
