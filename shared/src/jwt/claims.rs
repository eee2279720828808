//! A verified token's claims against a role's bindings (Vault's JWT auth rules):
//! `bound_subject`, `bound_claims` (string or glob, string or list values),
//! `user_claim`, `claim_mappings` and `groups_claim`. Claim names starting with `/`
//! are JSON pointers into nested claims (Vault's rule), e.g. `/kubernetes.io/namespace`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::glob;
use super::verify::Claims;

/// Why the claims do not satisfy the role. Messages name the claim (a role's own
/// configuration), never a claim's value.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ClaimError {
    /// `sub` differs from `bound_subject`.
    #[error("sub claim does not match bound subject")]
    Subject,
    /// A bound claim is absent.
    #[error("claim \"{0}\" is missing")]
    Missing(String),
    /// No value of a bound claim matches.
    #[error("claim \"{0}\" does not match any associated bound claim values")]
    NoMatch(String),
    /// The user claim is absent or not a string.
    #[error("claim \"{0}\" not found in token or is not a string")]
    UserClaim(String),
    /// The groups claim is absent or not a string list.
    #[error("groups claim \"{0}\" not found in token or is not a list of strings")]
    Groups(String),
    /// A mapped claim holds a list or an object.
    #[error("claim \"{0}\" mapped to metadata is not a string, number or boolean")]
    Mapping(String),
}

/// The accepted values of one bound claim, in the form they were written: one value
/// or a list (Vault reads a role's `bound_claims` back as written). Numbers and
/// booleans are kept as their text, as they are compared.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum BoundValues {
    /// Written as a single value.
    One(String),
    /// Written as a list.
    Many(Vec<String>),
}

impl BoundValues {
    /// The values.
    pub fn as_slice(&self) -> &[String] {
        match self {
            BoundValues::One(v) => std::slice::from_ref(v),
            BoundValues::Many(v) => v,
        }
    }
}

/// How `bound_claims` values compare: `string` exactly, `glob` with `*` wildcards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BoundClaimsType {
    /// Exact string equality.
    String,
    /// `*` matches any run of characters.
    Glob,
}

/// Whether `name` can name a claim: a plain name, or (starting with `/`) a JSON
/// pointer whose every `~` is the escape `~0` or `~1` (RFC 6901 section 3).
pub fn valid_claim_name(name: &str) -> bool {
    if !name.starts_with('/') {
        return true;
    }
    let b = name.as_bytes();
    b.iter()
        .enumerate()
        .all(|(i, c)| *c != b'~' || matches!(b.get(i + 1), Some(b'0' | b'1')))
}

/// A claim by name, or by JSON pointer when the name starts with `/`.
pub fn claim<'a>(claims: &'a Claims, name: &str) -> Option<&'a Value> {
    let v = match name.strip_prefix('/') {
        Some(rest) => {
            let (first, tail) = rest
                .split_once('/')
                .map_or((rest, None), |(a, b)| (a, Some(b)));
            let root = claims.get(&first.replace("~1", "/").replace("~0", "~"))?;
            match tail {
                None => root,
                Some(t) => root.pointer(&format!("/{t}"))?,
            }
        }
        None => claims.get(name)?,
    };
    (!v.is_null()).then_some(v)
}

/// A scalar claim as text: strings as they are, numbers and booleans in JSON form.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Checks `bound_claims`: for each bound claim, some value of the token's claim (a
/// scalar, or any element of a list) must match some bound value.
pub fn check_bound_claims(
    claims: &Claims,
    bound: &BTreeMap<String, BoundValues>,
    kind: BoundClaimsType,
) -> Result<(), ClaimError> {
    for (name, wanted) in bound {
        let actual = claim(claims, name).ok_or_else(|| ClaimError::Missing(name.clone()))?;
        let values: Vec<String> = match actual {
            Value::Array(a) => a.iter().filter_map(scalar_text).collect(),
            v => scalar_text(v).into_iter().collect(),
        };
        let hit = values.iter().any(|v| {
            wanted.as_slice().iter().any(|w| match kind {
                BoundClaimsType::String => w == v,
                BoundClaimsType::Glob => glob::matches(w, v),
            })
        });
        if !hit {
            return Err(ClaimError::NoMatch(name.clone()));
        }
    }
    Ok(())
}

/// Checks `bound_subject` (empty: any subject).
pub fn check_subject(claims: &Claims, bound: &str) -> Result<(), ClaimError> {
    if bound.is_empty() || claims.get("sub").and_then(Value::as_str) == Some(bound) {
        Ok(())
    } else {
        Err(ClaimError::Subject)
    }
}

/// The `user_claim` value, which must be a string (Vault's rule).
pub fn user(claims: &Claims, user_claim: &str) -> Result<String, ClaimError> {
    match claim(claims, user_claim) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(ClaimError::UserClaim(user_claim.to_owned())),
    }
}

/// The `groups_claim` values: a list of strings or one string. Absent groups are an
/// error when a groups claim is configured (Vault's rule).
pub fn groups(claims: &Claims, groups_claim: &str) -> Result<Vec<String>, ClaimError> {
    let err = || ClaimError::Groups(groups_claim.to_owned());
    match claim(claims, groups_claim) {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(err))
            .collect(),
        _ => Err(err()),
    }
}

/// Copies mapped claims into token metadata (`claim_mappings`: claim → metadata key).
/// Absent claims are skipped; lists and objects are refused (Vault's rule).
pub fn mapped_metadata(
    claims: &Claims,
    mappings: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ClaimError> {
    let mut out = BTreeMap::new();
    for (from, to) in mappings {
        if let Some(v) = claim(claims, from) {
            let text = scalar_text(v).ok_or_else(|| ClaimError::Mapping(from.clone()))?;
            out.insert(to.clone(), text);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(v: Value) -> Claims {
        v.as_object().cloned().unwrap()
    }

    fn bound(pairs: &[(&str, &[&str])]) -> BTreeMap<String, BoundValues> {
        pairs
            .iter()
            .map(|(k, v)| {
                let many = BoundValues::Many(v.iter().map(|s| s.to_string()).collect());
                (k.to_string(), many)
            })
            .collect()
    }

    #[test]
    fn json_pointers_reach_nested_claims() {
        let claims =
            c(json!({"kubernetes.io": {"namespace": "prod", "serviceaccount": {"name": "api"}}}));
        assert_eq!(
            claim(&claims, "/kubernetes.io/namespace"),
            Some(&json!("prod"))
        );
        assert_eq!(
            claim(&claims, "/kubernetes.io/serviceaccount/name"),
            Some(&json!("api"))
        );
        assert_eq!(claim(&claims, "/kubernetes.io/missing"), None);
        assert!(claim(&claims, "kubernetes.io").is_some());
    }

    #[test]
    fn json_pointer_escapes_follow_rfc_6901() {
        for ok in ["sub", "a~2", "/a/~0b", "/a~1b/c", "/", "/a//b"] {
            assert!(valid_claim_name(ok), "{ok}");
        }
        for bad in ["/a/~2", "/a~", "/~", "/a/~x/b", "/~~0"] {
            assert!(!valid_claim_name(bad), "{bad}");
        }
    }

    #[test]
    fn bound_claims_string_and_glob() {
        let claims = c(
            json!({"repository": "acme/api", "ref": "refs/heads/main", "groups": ["a", "b"], "n": 7}),
        );
        let b = bound(&[
            ("repository", &["acme/api"]),
            ("groups", &["x", "b"]),
            ("n", &["7"]),
        ]);
        assert_eq!(
            check_bound_claims(&claims, &b, BoundClaimsType::String),
            Ok(())
        );
        let g = bound(&[("ref", &["refs/heads/*"])]);
        assert_eq!(
            check_bound_claims(&claims, &g, BoundClaimsType::String),
            Err(ClaimError::NoMatch("ref".into()))
        );
        assert_eq!(
            check_bound_claims(&claims, &g, BoundClaimsType::Glob),
            Ok(())
        );
        let miss = bound(&[("environment", &["prod"])]);
        assert_eq!(
            check_bound_claims(&claims, &miss, BoundClaimsType::Glob),
            Err(ClaimError::Missing("environment".into()))
        );
        let list_miss = bound(&[("groups", &["c"])]);
        assert_eq!(
            check_bound_claims(&claims, &list_miss, BoundClaimsType::String),
            Err(ClaimError::NoMatch("groups".into()))
        );
    }

    #[test]
    fn user_claim_must_be_a_string() {
        let claims =
            c(json!({"sub": "repo:acme/api:ref:refs/heads/main", "num": 5, "list": ["a"]}));
        assert_eq!(
            user(&claims, "sub").unwrap(),
            "repo:acme/api:ref:refs/heads/main"
        );
        for name in ["num", "list", "absent"] {
            assert_eq!(user(&claims, name), Err(ClaimError::UserClaim(name.into())));
        }
    }

    #[test]
    fn mappings_and_groups() {
        let claims =
            c(json!({"repository": "acme/api", "run": 42, "obj": {"a": 1}, "g": ["x", "y"]}));
        let m = BTreeMap::from([
            ("repository".to_owned(), "repo".to_owned()),
            ("run".to_owned(), "run_id".to_owned()),
            ("absent".to_owned(), "z".to_owned()),
        ]);
        let meta = mapped_metadata(&claims, &m).unwrap();
        assert_eq!(meta.get("repo").map(String::as_str), Some("acme/api"));
        assert_eq!(meta.get("run_id").map(String::as_str), Some("42"));
        assert!(!meta.contains_key("z"));
        let bad = BTreeMap::from([("obj".to_owned(), "o".to_owned())]);
        assert_eq!(
            mapped_metadata(&claims, &bad),
            Err(ClaimError::Mapping("obj".into()))
        );
        assert_eq!(groups(&claims, "g").unwrap(), ["x", "y"]);
        assert_eq!(
            groups(&claims, "run"),
            Err(ClaimError::Groups("run".into()))
        );
    }
}
