//! JWT roles (`auth/{mount}/role/{name}`), with Vault's field names and rules: which
//! tokens may log in through the role (`bound_audiences`, `bound_subject`,
//! `bound_claims`, leeways) and what the Sigil token gets (`user_claim`,
//! `claim_mappings`, `groups_claim`, the `token_*` fields).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use crate::auth::{MAX_VALUE_BYTES, check_list, leeway};
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::jwt::claims::{BoundClaimsType, BoundValues};
use crate::jwt::verify::Leeways;
use crate::token_fields::{MAX_LIST_ITEMS, TokenFields};

/// A JWT role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtRole {
    /// `jwt` (Vault's browser `oidc` roles are not served).
    pub role_type: String,
    /// Audiences, any one of which `aud` must hold; none bound: `aud` must be absent.
    pub bound_audiences: Vec<String>,
    /// The `sub` a token must carry (empty: any).
    pub bound_subject: String,
    /// Claim name (or JSON pointer) → accepted values (one, or a list, as written).
    pub bound_claims: BTreeMap<String, BoundValues>,
    /// How bound claim values compare (`string` or `glob`).
    pub bound_claims_type: BoundClaimsType,
    /// The claim naming the user (required; must be a string in the token).
    pub user_claim: String,
    /// Claim → token metadata key.
    pub claim_mappings: BTreeMap<String, String>,
    /// The claim holding the caller's groups: names matched against the mount's group
    /// aliases at login ([`crate::identity::group_aliases`]).
    pub groups_claim: String,
    /// `clock_skew_leeway`, seconds (0: 60, -1: none).
    pub clock_skew_leeway: i64,
    /// `expiration_leeway`, seconds (0: 150, -1: none).
    pub expiration_leeway: i64,
    /// `not_before_leeway`, seconds (0: 150, -1: none).
    pub not_before_leeway: i64,
    /// What a login mints.
    #[serde(flatten)]
    pub token: TokenFields,
}

impl Default for JwtRole {
    fn default() -> Self {
        Self {
            role_type: "jwt".into(),
            bound_audiences: Vec::new(),
            bound_subject: String::new(),
            bound_claims: BTreeMap::new(),
            bound_claims_type: BoundClaimsType::String,
            user_claim: String::new(),
            claim_mappings: BTreeMap::new(),
            groups_claim: String::new(),
            clock_skew_leeway: 0,
            expiration_leeway: 0,
            not_before_leeway: 0,
            token: TokenFields::default(),
        }
    }
}

/// Parses `bound_claims`: an object whose values are a string, number or boolean, or a
/// list of them (compared as text). At most 64 claims of 64 values each.
fn parse_bound_claims(v: &Json) -> Result<BTreeMap<String, BoundValues>, ApiError> {
    let bad = || {
        ApiError::bad(
            "\"bound_claims\" must be an object whose values are strings, numbers or \
             booleans, or non-empty lists of them: at most 64 claims of 64 values",
        )
    };
    let obj = match v {
        Json::Object(o) => o,
        Json::Null => return Ok(BTreeMap::new()),
        _ => return Err(bad()),
    };
    if obj.len() > MAX_LIST_ITEMS {
        return Err(bad());
    }
    let text = |v: &Json| match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        let values = match v {
            Json::Array(a) => {
                BoundValues::Many(a.iter().map(text).collect::<Option<_>>().ok_or_else(bad)?)
            }
            v => BoundValues::One(text(v).ok_or_else(bad)?),
        };
        if k.is_empty() || k.len() > MAX_VALUE_BYTES || values.as_slice().is_empty() {
            return Err(bad());
        }
        check_claim_name("bound_claims", k)?;
        check_list("bound_claims", values.as_slice())?;
        out.insert(k.clone(), values);
    }
    Ok(out)
}

/// 400 naming `field` when `name` is a JSON pointer with an invalid `~` escape.
fn check_claim_name(field: &str, name: &str) -> Result<(), ApiError> {
    if crate::jwt::claims::valid_claim_name(name) {
        Ok(())
    } else {
        Err(ApiError::bad(format!(
            "\"{field}\" holds a claim name that is not a valid JSON pointer \
             (RFC 6901: \"~\" must be followed by 0 or 1)"
        )))
    }
}

/// Parses `claim_mappings`: claim name → metadata key, an OpenBao `TypeKVPairs` field
/// ([`crate::http::params::parse_kv_pairs`]: an object, or `key=value` strings as
/// `bao write ... claim_mappings=a=b` sends them).
fn parse_mappings(v: &Json) -> Result<BTreeMap<String, String>, ApiError> {
    let bad = || ApiError::bad("\"claim_mappings\" must be an object of strings");
    if v.is_null() {
        return Ok(BTreeMap::new());
    }
    let obj = crate::http::params::parse_kv_pairs(v)
        .map_err(|e| ApiError::bad(format!("\"claim_mappings\": {e}")))?;
    if obj.len() > MAX_LIST_ITEMS {
        return Err(bad());
    }
    let mut out = BTreeMap::new();
    let mut targets = std::collections::BTreeSet::new();
    for (k, to) in &obj {
        if k.is_empty() || k.len() > MAX_VALUE_BYTES || to.is_empty() || to.len() > MAX_VALUE_BYTES
        {
            return Err(bad());
        }
        check_claim_name("claim_mappings", k)?;
        if to == "role" {
            return Err(ApiError::bad("metadata key \"role\" is reserved"));
        }
        if !targets.insert(to.to_owned()) {
            return Err(ApiError::bad(format!(
                "multiple keys are mapped to metadata key \"{to}\""
            )));
        }
        out.insert(k.clone(), to.to_owned());
    }
    Ok(out)
}

impl JwtRole {
    /// Applies a write's fields to the role (Vault updates only what is given), then
    /// checks the whole role: `role_type` `jwt`, a `user_claim`, and at least one bound
    /// constraint (Vault's rule for JWT roles). 400 on any invalid value.
    pub fn apply(&mut self, body: &Body) -> Result<(), ApiError> {
        if let Some(t) = body.string("role_type")? {
            match t.as_str() {
                "jwt" => self.role_type = t,
                "oidc" => {
                    return Err(ApiError::bad(
                        "role_type \"oidc\" (browser login) is not supported; use \"jwt\"",
                    ));
                }
                _ => return Err(ApiError::bad("invalid role_type: must be \"jwt\"")),
            }
        }
        if let Some(v) = body.list("bound_audiences")? {
            check_list("bound_audiences", &v)?;
            self.bound_audiences = v;
        }
        if let Some(v) = body.string("bound_subject")? {
            self.bound_subject = v;
        }
        if let Some(v) = body.get("bound_claims") {
            self.bound_claims = parse_bound_claims(v)?;
        }
        if let Some(t) = body.string("bound_claims_type")? {
            self.bound_claims_type = match t.as_str() {
                "string" | "" => BoundClaimsType::String,
                "glob" => BoundClaimsType::Glob,
                _ => {
                    return Err(ApiError::bad(
                        "invalid bound_claims_type: must be \"string\" or \"glob\"",
                    ));
                }
            };
        }
        if let Some(v) = body.string("user_claim")? {
            self.user_claim = v;
        }
        if let Some(v) = body.get("claim_mappings") {
            self.claim_mappings = parse_mappings(v)?;
        }
        if let Some(v) = body.string("groups_claim")? {
            self.groups_claim = v;
        }
        if let Some(v) = leeway(body, "clock_skew_leeway")? {
            self.clock_skew_leeway = v;
        }
        if let Some(v) = leeway(body, "expiration_leeway")? {
            self.expiration_leeway = v;
        }
        if let Some(v) = leeway(body, "not_before_leeway")? {
            self.not_before_leeway = v;
        }
        self.token.apply(body)?;
        for (name, v) in [
            ("bound_subject", &self.bound_subject),
            ("user_claim", &self.user_claim),
            ("groups_claim", &self.groups_claim),
        ] {
            if v.len() > MAX_VALUE_BYTES {
                return Err(ApiError::bad(format!("\"{name}\" is too long")));
            }
            if name != "bound_subject" {
                check_claim_name(name, v)?;
            }
        }
        if self.user_claim.is_empty() {
            return Err(ApiError::bad("a user claim must be defined on the role"));
        }
        if self.bound_audiences.is_empty()
            && self.bound_subject.is_empty()
            && self.bound_claims.is_empty()
        {
            return Err(ApiError::bad(
                "must have at least one bound constraint when creating/updating a role",
            ));
        }
        Ok(())
    }

    /// The leeways for this role's time checks.
    pub fn leeways(&self) -> Leeways {
        Leeways {
            clock_skew: self.clock_skew_leeway,
            expiration: self.expiration_leeway,
            not_before: self.not_before_leeway,
        }
    }

    /// The role as Vault's read returns it.
    pub fn to_json(&self) -> Json {
        let mut out: Map<String, Json> = match json!({
            "role_type": self.role_type,
            "bound_audiences": self.bound_audiences,
            "bound_subject": self.bound_subject,
            "bound_claims": self.bound_claims,
            "bound_claims_type": self.bound_claims_type,
            "user_claim": self.user_claim,
            "claim_mappings": self.claim_mappings,
            "groups_claim": self.groups_claim,
            "clock_skew_leeway": self.clock_skew_leeway,
            "expiration_leeway": self.expiration_leeway,
            "not_before_leeway": self.not_before_leeway,
            "allowed_redirect_uris": [],
            "oidc_scopes": [],
            "verbose_oidc_logging": false,
            "max_age": 0,
        }) {
            Json::Object(m) => m,
            _ => Map::new(),
        };
        self.token.write_json(&mut out);
        Json::Object(out)
    }
}

impl crate::auth::MountRole for JwtRole {
    const WHAT: &'static str = "jwt role";
    fn apply(&mut self, body: &Body) -> Result<(), ApiError> {
        JwtRole::apply(self, body)
    }
    fn to_json(&self) -> Json {
        JwtRole::to_json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(v: Json) -> Result<JwtRole, ApiError> {
        let mut r = JwtRole::default();
        let mut b = v.as_object().cloned().unwrap();
        crate::token_fields::canonicalize(&mut b);
        r.apply(&b).map(|()| r)
    }

    #[test]
    fn a_github_role() {
        let r = apply(json!({
            "role_type": "jwt",
            "user_claim": "repository",
            "bound_audiences": "https://github.com/acme",
            "bound_claims_type": "glob",
            "bound_claims": {"sub": "repo:acme/*:ref:refs/heads/main", "repository_owner": ["acme"]},
            "claim_mappings": {"repository": "repo", "ref": "ref"},
            "token_policies": "deploy",
            "token_ttl": "10m",
            "expiration_leeway": -1,
        }))
        .unwrap();
        assert_eq!(r.bound_claims_type, BoundClaimsType::Glob);
        assert_eq!(r.bound_claims["repository_owner"].as_slice(), ["acme"]);
        assert_eq!(
            r.to_json()["bound_claims"],
            json!({"sub": "repo:acme/*:ref:refs/heads/main", "repository_owner": ["acme"]}),
            "read back as written (Vault)"
        );
        assert_eq!(r.token.token_ttl, 600);
        assert_eq!(r.leeways().after_expiry(), 60);
        assert_eq!(r.to_json()["token_policies"], json!(["deploy"]));
    }

    #[test]
    fn claim_mappings_take_key_value_pairs_as_openbao() {
        // `bao write auth/jwt/role/r claim_mappings=team=team` (found by a hostile check).
        let want = BTreeMap::from([
            ("repo".to_owned(), "repository".to_owned()),
            ("team".to_owned(), "team".to_owned()),
        ]);
        for v in [
            json!(["team=team", "repo=repository"]),
            json!({"team": "team", "repo": "repository"}),
        ] {
            assert_eq!(parse_mappings(&v).unwrap(), want, "{v}");
        }
        assert_eq!(
            parse_mappings(&json!("team=team")).unwrap(),
            BTreeMap::from([("team".to_owned(), "team".to_owned())])
        );
        for v in [json!("team"), json!(["a=b", 3]), json!(7), json!("a=role")] {
            assert!(parse_mappings(&v).is_err(), "{v}");
        }
    }

    #[test]
    fn vault_rules_refuse_bad_roles() {
        for (b, why) in [
            (json!({"bound_subject": "x"}), "no user_claim"),
            (json!({"user_claim": "sub"}), "no bound constraint"),
            (
                json!({"user_claim": "sub", "bound_subject": "x", "role_type": "oidc"}),
                "oidc",
            ),
            (
                json!({"user_claim": "sub", "bound_claims": {"a": {"b": 1}}}),
                "object value",
            ),
            (
                json!({"user_claim": "sub", "bound_claims": "a=b"}),
                "not an object",
            ),
            (
                json!({"user_claim": "sub", "bound_subject": "x", "bound_claims_type": "regex"}),
                "type",
            ),
            (
                json!({"user_claim": "sub", "bound_subject": "x", "claim_mappings": {"a": "role"}}),
                "reserved",
            ),
            (
                json!({"user_claim": "sub", "bound_subject": "x", "claim_mappings": {"a": "m", "b": "m"}}),
                "dup",
            ),
            (
                json!({"user_claim": "sub", "bound_claims": {"/a/~2": "x"}}),
                "bound_claims pointer escape",
            ),
            (
                json!({"user_claim": "sub", "bound_claims": {"/a~": "x"}}),
                "bound_claims trailing ~",
            ),
            (
                json!({"user_claim": "sub", "bound_subject": "x", "claim_mappings": {"/a/~x": "m"}}),
                "claim_mappings pointer escape",
            ),
            (
                json!({"user_claim": "/a/~2", "bound_subject": "x"}),
                "user_claim pointer escape",
            ),
            (
                json!({"user_claim": "sub", "bound_subject": "x", "groups_claim": "/g~"}),
                "groups_claim pointer escape",
            ),
            (
                json!({"user_claim": "sub", "bound_subject": "x", "clock_skew_leeway": -2}),
                "leeway",
            ),
            (
                json!({"user_claim": "sub", "bound_subject": "x", "token_policies": "root"}),
                "root",
            ),
        ] {
            assert!(apply(b).is_err(), "{why}");
        }
    }
}
