//! Auth methods that check a token from an outside issuer: JWT/OIDC ([`jwt`], e.g. CI
//! providers such as GitHub Actions) and Kubernetes service accounts ([`kubernetes`]).
//! Each mount keeps one config item and one item per role in the table:
//!
//! | item | pk | sk |
//! |---|---|---|
//! | config | `auth/{mount}/config` | `config` |
//! | role | `auth/{mount}/roles` | role name |
//!
//! so a login reads both with one batch read, and listing roles is one query.

pub mod jwt;
pub mod kubernetes;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::error::ApiError;
use crate::http::params::{Body, parse_duration};
use crate::store::{Item, Key, Query, Store, StoreError, Value, Write, new_item, query_sort_keys};

const A_DOC: &str = "doc";

/// An auth mount as its method sees it: the name its tokens show (`jwt`, `github`)
/// and the prefix its items are stored under ([`crate::mounts::MountEntry::storage`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MountRef<'a> {
    /// The mount's name (its path without `auth/` and the trailing `/`).
    pub name: &'a str,
    /// The storage prefix.
    pub storage: &'a str,
}

impl<'a> MountRef<'a> {
    /// A mount whose items are stored under its name (the environment's mounts).
    pub fn named(name: &'a str) -> Self {
        Self {
            name,
            storage: name,
        }
    }
}

/// The key of a mount's config item.
pub fn config_key(mount: &str) -> Key {
    Key::new(format!("auth/{mount}/config"), "config")
}

/// The key of a mount's role item.
pub fn role_key(mount: &str, name: &str) -> Key {
    Key::new(format!("auth/{mount}/roles"), name)
}

/// Decodes an item written by [`put`] (500 when it is malformed).
pub fn decode<T: DeserializeOwned>(item: &Item, what: &str) -> Result<T, ApiError> {
    crate::store::decode::from_value(item.get(A_DOC).unwrap_or(&Value::Null))
        .map_err(|_| StoreError::Malformed(what.to_owned()).into())
}

/// A mount's config document (JWT, Kubernetes): built whole from a write's body,
/// checked by fetching its keys, printed as Vault's read prints it.
pub trait MountConfig: Serialize + DeserializeOwned {
    /// What the item holds, for storage errors (e.g. `jwt config`).
    const WHAT: &'static str;
    /// Builds the config from a write's body (400 on invalid input).
    fn from_body(body: &Body) -> Result<Self, ApiError>;
    /// Where its verification keys come from.
    fn key_source(&self) -> crate::jwt::source::KeySource;
    /// The read response's `data`.
    fn to_json(&self) -> Json;
}

/// A mount's role document (JWT, Kubernetes): updated field by field from a write's
/// body, printed as Vault's read prints it.
pub trait MountRole: Serialize + DeserializeOwned + Default {
    /// What the item holds, for storage errors (e.g. `jwt role`).
    const WHAT: &'static str;
    /// Applies a write's fields and checks the whole role (400 on invalid input).
    fn apply(&mut self, body: &Body) -> Result<(), ApiError>;
    /// The read response's `data`.
    fn to_json(&self) -> Json;
}

/// Reads and decodes one item.
pub async fn read<T: DeserializeOwned>(
    store: &dyn Store,
    key: &Key,
    what: &str,
) -> Result<Option<T>, ApiError> {
    match store.get(key).await? {
        Some(item) => decode(&item, what).map(Some),
        None => Ok(None),
    }
}

/// Writes `doc` as the item at `key` (create or replace).
pub async fn put<T: Serialize>(store: &dyn Store, key: &Key, doc: &T) -> Result<(), ApiError> {
    let mut item = new_item(key);
    let json = serde_json::to_value(doc).map_err(|_| ApiError::Internal)?;
    item.insert(A_DOC.into(), Value::from_json(&json));
    store.write(Write::Put { item, cond: None }).await?;
    Ok(())
}

/// Deletes the item at `key` (idempotent).
pub async fn delete(store: &dyn Store, key: &Key) -> Result<(), ApiError> {
    store
        .write(Write::Delete {
            key: key.clone(),
            cond: None,
        })
        .await?;
    Ok(())
}

/// A mount's role names, sorted.
pub async fn list_roles(store: &dyn Store, mount: &str) -> Result<Vec<String>, ApiError> {
    Ok(query_sort_keys(store, Query::partition(format!("auth/{mount}/roles"))).await?)
}

/// A leeway field in seconds: a duration, or `-1` to turn the leeway off (Vault's
/// convention for `clock_skew_leeway`, `expiration_leeway`, `not_before_leeway`).
pub fn leeway(body: &Body, name: &str) -> Result<Option<i64>, ApiError> {
    match body.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(v) if v.as_i64() == Some(-1) || v.as_str() == Some("-1") => Ok(Some(-1)),
        Some(v) => parse_duration(v)
            .map(Some)
            .map_err(|e| ApiError::bad(format!("invalid value for \"{name}\": {e}"))),
    }
}

/// Longest string accepted in a role's bound values and claim names, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024;

/// Checks a list field's size: at most [`crate::token_fields::MAX_LIST_ITEMS`]
/// entries of at most [`MAX_VALUE_BYTES`] bytes each.
pub fn check_list(name: &str, list: &[String]) -> Result<(), ApiError> {
    use crate::token_fields::MAX_LIST_ITEMS;
    if list.len() > MAX_LIST_ITEMS || list.iter().any(|s| s.len() > MAX_VALUE_BYTES) {
        return Err(ApiError::bad(format!(
            "\"{name}\" takes at most {MAX_LIST_ITEMS} values of at most {MAX_VALUE_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Checks URL fields that must be absolute `https://` URLs without credentials
/// (empty: not set). 400 naming the first field that is not.
pub fn check_https_fields(fields: &[(&str, &str)]) -> Result<(), ApiError> {
    match fields
        .iter()
        .find(|(_, url)| !url.is_empty() && crate::jwt::source::check_https_url(url).is_err())
    {
        Some((name, _)) => Err(ApiError::bad(format!(
            "\"{name}\" must be an absolute https:// URL"
        ))),
        None => Ok(()),
    }
}

/// Checks the CA fields of a config (each empty, or PEM certificates only; see
/// [`crate::jwt::source::check_ca_pem`]). 400 naming the field, never its text.
pub fn check_ca_fields(fields: &[(&str, &str)]) -> Result<(), ApiError> {
    for (name, pem) in fields {
        if !pem.is_empty() {
            crate::jwt::source::check_ca_pem(pem)
                .map_err(|why| ApiError::bad(format!("invalid \"{name}\": {why}")))?;
        }
    }
    Ok(())
}

/// Checks PEM public keys given in a config field (`jwt_validation_pubkeys`,
/// `pem_keys`): each must be a usable `PUBLIC KEY` / `RSA PUBLIC KEY` (see
/// [`crate::jwt::keys`]). 400 naming the field and the key's position, never its text.
pub fn check_pem_keys(field: &str, pems: &[String]) -> Result<(), ApiError> {
    if pems.is_empty() {
        return Ok(());
    }
    if let Some(i) = pems
        .iter()
        .position(|p| !crate::jwt::source::only_pem_blocks(p))
    {
        return Err(ApiError::bad(format!(
            "invalid \"{field}\": key {i} may hold only a PEM block: no text outside it, \
             no damaged armor (keys are numbered from 0)"
        )));
    }
    crate::jwt::keys::KeySet::from_pems(pems)
        .map(|_| ())
        .map_err(|e| ApiError::bad(format!("invalid \"{field}\": {e}")))
}

/// A role name from the path, checked by Vault's rule (see [`crate::approle::valid_name`]).
pub fn checked_role_name(name: &str) -> Result<&str, ApiError> {
    if crate::approle::valid_name(name) {
        Ok(name)
    } else {
        Err(ApiError::bad("invalid role name"))
    }
}

/// The `error validating token: ...` refusal (400), Vault's wording for a JWT that fails
/// parsing, signature, time or issuer/audience checks.
pub fn token_error(e: crate::jwt::verify::JwtError) -> ApiError {
    ApiError::bad(format!("error validating token: {e}"))
}

/// The presented `jwt` of a JWT or Kubernetes login, before any read, without
/// surrounding ASCII whitespace (a token file's trailing newline; Vault's JWT library
/// strips whitespace too): 400 `missing jwt` when empty, `error validating token: ...`
/// when over [`crate::jwt::verify::MAX_JWT_BYTES`] (16 KiB).
pub fn presented_jwt(jwt: &secrecy::SecretString) -> Result<&str, ApiError> {
    let jwt = secrecy::ExposeSecret::expose_secret(jwt).trim_ascii();
    if jwt.is_empty() {
        return Err(ApiError::bad("missing jwt"));
    }
    if jwt.len() > crate::jwt::verify::MAX_JWT_BYTES {
        return Err(token_error(crate::jwt::verify::JwtError::TooLarge));
    }
    Ok(jwt)
}

/// Parses `jwt`, gets the mount's keys for its `kid` (cached; see
/// [`crate::jwt::cache::KeyCache`]) and verifies signature and time claims with `algs`
/// and `leeways` at `now` (Unix seconds). Returns the claims and the issuer a discovery
/// document named (if any). 400 via [`token_error`]; 503 when the keys cannot be
/// fetched ([`fetch_error`]).
pub async fn verified_claims(
    keys: &crate::jwt::cache::KeyCache,
    source: &crate::jwt::source::KeySource,
    jwt: &str,
    algs: &[jsonwebtoken::Algorithm],
    leeways: crate::jwt::verify::Leeways,
    now: i64,
) -> Result<(crate::jwt::verify::Claims, Option<String>), ApiError> {
    use crate::jwt::verify;
    let parsed = verify::parse(jwt).map_err(token_error)?;
    let fetched = keys
        .keys(source, parsed.kid.as_deref(), now)
        .await
        .map_err(fetch_error)?;
    let claims = verify::verify(&parsed, &fetched.set, algs, leeways, now).map_err(token_error)?;
    Ok((claims, fetched.issuer))
}

/// Maps a key fetch failure: the issuer's trouble is not the caller's, so it is a 503
/// (the detail goes to the log).
pub fn fetch_error(e: crate::jwt::source::FetchError) -> ApiError {
    tracing::warn!(error = %e, "verification keys unavailable");
    ApiError::Unavailable
}

/// Reads a mount's config and one of its roles with one batch read (a login's only
/// read). 400 when the mount has no config or the role does not exist (Vault's
/// messages).
pub async fn config_and_role<C: DeserializeOwned, R: DeserializeOwned>(
    store: &dyn Store,
    mount: &str,
    role: &str,
) -> Result<(C, R), ApiError> {
    let mut found = store
        .get_many(&[config_key(mount), role_key(mount, role)])
        .await?;
    let config = found
        .first_mut()
        .and_then(Option::take)
        .ok_or_else(|| ApiError::bad("could not load configuration"))?;
    let role_item = found
        .get_mut(1)
        .and_then(Option::take)
        .ok_or_else(|| ApiError::bad(format!("role \"{role}\" could not be found")))?;
    Ok((
        decode(&config, "auth config")?,
        decode(&role_item, "auth role")?,
    ))
}

/// Longest token display name built from a login's claims, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 128;

/// A token display name from `prefix` and a claim value: control characters and the
/// invisible characters that change how text around them reads (bidirectional
/// overrides and isolates, zero-width characters, line and paragraph separators, the
/// byte order mark) become `_`. A claim is the issuer's text and may carry newlines,
/// escapes or a right-to-left override that would forge or disguise lines wherever the
/// name is printed. Cut at [`MAX_DISPLAY_NAME_CHARS`].
pub fn display_name(prefix: &str, value: &str) -> String {
    format!("{prefix}-{value}")
        .chars()
        .map(|c| {
            if c.is_control() || invisible(c) {
                '_'
            } else {
                c
            }
        })
        .take(MAX_DISPLAY_NAME_CHARS)
        .collect()
}

/// Unicode format characters that reorder or hide text (Unicode's bidirectional
/// controls, UAX #9, and the zero-width and separator characters).
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_printable_and_bounded() {
        assert_eq!(
            display_name("jwt", "alice\n{\"level\":\"ERROR\"}\u{1b}[2J"),
            "jwt-alice_{\"level\":\"ERROR\"}_[2J"
        );
        assert_eq!(display_name("jwt", &"x".repeat(500)).chars().count(), 128);
        assert_eq!(
            display_name("jwt", "\u{202E}evil\u{200B}\u{2028}x\u{2066}\u{FEFF}"),
            "jwt-_evil__x__"
        );
        assert_eq!(display_name("k8s", "ns:héllo-世界"), "k8s-ns:héllo-世界");
    }

    #[test]
    fn presented_jwts_lose_surrounding_whitespace_only() {
        let p =
            |s: &str| presented_jwt(&secrecy::SecretString::from(s.to_owned())).map(str::to_owned);
        assert_eq!(p("a.b.c\n").unwrap(), "a.b.c");
        assert_eq!(p(" \r\na.b.c\r\n\t").unwrap(), "a.b.c");
        assert_eq!(
            p("a.b .c").unwrap(),
            "a.b .c",
            "inside: left for the parser to refuse"
        );
        assert_eq!(p(" \n ").unwrap_err().to_string(), "missing jwt");
        assert_eq!(p(&"a".repeat(16 * 1024 + 1)).unwrap_err().status(), 400);
        assert!(
            p(&format!("{}\n", "a".repeat(16 * 1024))).is_ok(),
            "the newline is not counted"
        );
    }
}
