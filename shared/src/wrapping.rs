//! Response wrapping (Vault's `X-Vault-Wrap-TTL` and `sys/wrapping/*`).
//!
//! A request that asks for wrapping gets, instead of its response, a single-use
//! wrapping token: a service token in the token store (orphan, one use, policies
//! `["response-wrapping"]`, not renewable, TTL = the wrap TTL). The response itself is
//! sealed under the keyring (AES-256-GCM) with associated data naming its purpose and
//! the wrapping token's hash, and stored beside the token, written in the token's own
//! transaction:
//!
//! `wrapping/{token hash}` / `wrapping`: `key_version`, `ciphertext`, `creation_ttl`,
//! `creation_time`, `creation_path`, `expire_at` (and the expiry-index attributes, so
//! the sweeper deletes it once expired; DynamoDB's TTL a week later as the last resort).
//!
//! Unwrapping takes the item with one conditional delete that returns it
//! ([`Store::take`]: the item exists and has not expired), so of any number of
//! concurrent unwraps exactly one gets the response; the token is then revoked. A
//! ciphertext moved to another wrapping item, or altered, fails to open.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value as Json, json};
use zeroize::Zeroizing;

use crate::backend::{Ctx, Services};
use crate::clock::rfc3339;
use crate::crypto::Plaintext;
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::Body;
use crate::keyring::{Keyring, Sealed};
use crate::store::{Cond, Item, ItemExt, Key, Store, StoreError, Value, Write, new_item, schema};
use crate::token::{self, Limits, TokenEntry, TokenParams};

pub use crate::policy::RESPONSE_WRAPPING_POLICY_NAME as POLICY;

/// Vault's answer for an unknown, expired, used or non-wrapping token
/// (`consts.ErrInvalidWrappingToken`), with 400.
pub const INVALID: &str = "wrapping token is not valid or does not exist";

/// The header asking for wrapping.
pub const HEADER: &str = "x-vault-wrap-ttl";

/// The associated data's purpose: a wrapped response, never any other sealed value.
const PURPOSE: &str = "response-wrapping";

const SK: &str = "wrapping";
const A_KEY_VERSION: &str = "key_version";
const A_CIPHERTEXT: &str = "ciphertext";
const A_CREATION_TTL: &str = "creation_ttl";
const A_CREATION_TIME: &str = "creation_time";
const A_CREATION_PATH: &str = "creation_path";
const A_EXPIRE: &str = "expire_at";

/// Partition prefix of wrapped responses (the sweeper recognizes them by it).
pub const PK_PREFIX: &str = "wrapping/";

/// 400 `wrapping token is not valid or does not exist`.
pub fn invalid() -> ApiError {
    ApiError::bad(INVALID)
}

/// The stored key of the response wrapped by the token with hash `hash`.
pub fn wrap_key(hash: &str) -> Key {
    Key::new(format!("{PK_PREFIX}{hash}"), SK)
}

/// The associated data of a wrapped response: its purpose and its token's hash.
fn aad(hash: &str) -> [&str; 2] {
    [PURPOSE, hash]
}

/// The condition of a wrapped response that may still be unwrapped at `now`: it
/// exists and has not expired.
fn live_cond(now: i64) -> Cond {
    Cond::And(vec![
        Cond::Exists,
        Cond::Ge(A_EXPIRE, now.saturating_add(1)),
    ])
}

/// The wrap TTL a request asks for, seconds (0: no wrapping): `X-Vault-Wrap-TTL`,
/// integer seconds or a duration string (the CLI's `-wrap-ttl`). An empty or zero
/// value asks for no wrapping, as in Vault. Every copy of the header counts: copies
/// that ask for different TTLs are refused, so are values that do not parse (400,
/// before anything happens).
pub fn requested_ttl(req: &ApiRequest) -> Result<i64, ApiError> {
    let mut asked = 0;
    for (_, value) in req.headers.iter().filter(|(k, _)| k == HEADER) {
        let value = value.trim();
        let ttl = if value.starts_with('-') {
            return Err(ApiError::bad(
                "error parsing X-Vault-Wrap-TTL header: requested wrap ttl cannot be negative",
            ));
        } else {
            crate::http::params::parse_duration(&Json::String(value.to_owned())).map_err(|_| {
                let shown: String = value.chars().take(32).collect();
                ApiError::bad(format!(
                    "error parsing X-Vault-Wrap-TTL header: invalid duration {shown:?}"
                ))
            })?
        };
        match (asked, ttl) {
            (_, 0) => {}
            (0, t) => asked = t,
            (a, t) if a == t => {}
            _ => {
                return Err(ApiError::bad(
                    "error parsing X-Vault-Wrap-TTL header: conflicting values",
                ));
            }
        }
    }
    Ok(asked)
}

/// What a wrapping token's answer tells about it (`wrap_info`).
#[derive(Clone)]
pub struct WrapInfo {
    /// The wrapping token (shown once).
    pub token: SecretString,
    /// Its accessor.
    pub accessor: String,
    /// Its TTL, seconds.
    pub ttl: i64,
    /// When it was created, Unix seconds.
    pub creation_time: i64,
    /// The path of the request whose response it wraps.
    pub creation_path: String,
    /// The accessor of the token (or AppRole secret ID) the response holds.
    pub wrapped_accessor: Option<String>,
}

impl std::fmt::Debug for WrapInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrapInfo")
            .field("token", &"redacted")
            .field("accessor", &self.accessor)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl WrapInfo {
    /// The wrapped response's envelope: `wrap_info` and the wrapped response's
    /// warnings, no `data` or `auth` (Vault's shape).
    pub fn reply(&self, warnings: Vec<String>) -> Reply {
        let mut info = json!({
            "token": self.token.expose_secret(),
            "accessor": self.accessor,
            "ttl": self.ttl,
            "creation_time": rfc3339(self.creation_time),
            "creation_path": self.creation_path,
        });
        if let (Some(a), Json::Object(m)) = (&self.wrapped_accessor, &mut info) {
            m.insert("wrapped_accessor".into(), Json::String(a.clone()));
        }
        Envelope {
            wrap_info: Some(info),
            warnings,
            ..Envelope::default()
        }
        .ok()
    }
}

/// What is stored of a wrapped response besides the sealed response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The wrap TTL it was created with, seconds.
    pub creation_ttl: i64,
    /// Creation time, Unix seconds.
    pub creation_time: i64,
    /// The path whose response it wraps.
    pub creation_path: String,
    /// When it expires, Unix seconds.
    pub expire_at: i64,
}

impl TryFrom<&Item> for Stored {
    type Error = StoreError;
    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(Self {
            creation_ttl: item.n(A_CREATION_TTL)?,
            creation_time: item.n(A_CREATION_TIME)?,
            creation_path: item.s(A_CREATION_PATH)?.to_owned(),
            expire_at: item.n(A_EXPIRE)?,
        })
    }
}

/// The writes that create a wrapping token holding `response` (the JSON body to hand
/// back on unwrap), sealed under the keyring, and its `wrap_info`. The caller applies
/// them in one transaction (with anything else that must go with them).
pub async fn prepare(
    svc: &Services<'_>,
    display_name: &str,
    creation_path: &str,
    ttl: i64,
    response: &[u8],
    now: i64,
) -> Result<(Vec<Write>, WrapInfo), ApiError> {
    // Never beyond the system max TTL (the token store's cap on every token).
    let ttl = ttl.clamp(1, svc.config.max_ttl.max(1));
    let minted = token::mint(
        &TokenParams {
            policies: vec![POLICY.to_owned()],
            no_default_policy: true,
            ttl,
            max_ttl: ttl,
            explicit_max_ttl: ttl,
            num_uses: 1,
            display_name: display_name.to_owned(),
            path: creation_path.to_owned(),
            renewable: Some(false),
            ..TokenParams::default()
        },
        Limits {
            default_ttl: ttl,
            max_ttl: ttl,
            batch: None,
        },
        now,
    )?;
    let hash = minted.entry.hash.clone();
    let sealed = seal(svc.keyring, &hash, response).await?;
    let key = wrap_key(&hash);
    let mut item = new_item(&key);
    item.insert(
        A_KEY_VERSION.into(),
        Value::N(i64::from(sealed.key_version)),
    );
    item.insert(A_CIPHERTEXT.into(), Value::B(sealed.ciphertext));
    item.insert(A_CREATION_TTL.into(), Value::N(ttl));
    item.insert(A_CREATION_TIME.into(), Value::N(now));
    item.insert(A_CREATION_PATH.into(), Value::S(creation_path.to_owned()));
    let expire_at = minted.entry.expire_at;
    item.insert(A_EXPIRE.into(), Value::N(expire_at));
    for (k, v) in schema::expiry_attrs(&key.pk, expire_at) {
        item.insert(k.into(), v);
    }
    let mut writes = minted.writes();
    writes.push(Write::Put {
        item,
        cond: Some(Cond::NotExists),
    });
    let info = WrapInfo {
        token: minted.token,
        accessor: minted.entry.accessor,
        ttl,
        creation_time: now,
        creation_path: creation_path.to_owned(),
        wrapped_accessor: None,
    };
    Ok((writes, info))
}

/// Seals a response for the wrapping token with hash `hash`.
pub async fn seal(keyring: &Keyring, hash: &str, response: &[u8]) -> Result<Sealed, ApiError> {
    Ok(keyring.seal(&aad(hash), response).await?)
}

/// Opens a stored wrapped response of the token with hash `hash`: 500 (integrity)
/// when it was altered or belongs to another token.
pub async fn open(keyring: &Keyring, hash: &str, item: &Item) -> Result<Plaintext, ApiError> {
    let sealed = Sealed {
        key_version: u32::try_from(item.n(A_KEY_VERSION)?)
            .map_err(|_| StoreError::Malformed("key version out of range".into()))?,
        ciphertext: item.b(A_CIPHERTEXT)?.to_vec(),
    };
    Ok(keyring.open(&aad(hash), &sealed).await?)
}

/// Answers a handler's reply wrapped when the request asked for it (`wrap_ttl` > 0)
/// and the reply carries `data` or `auth` (as Vault: a 204, an error, or a reply
/// without either goes back as it is).
pub async fn respond(
    c: &Ctx<'_>,
    wrap_ttl: i64,
    reply: Result<Reply, ApiError>,
) -> Result<Reply, ApiError> {
    let env = match reply? {
        Reply::Envelope(200, env)
            if wrap_ttl > 0
                && env.wrap_info.is_none()
                && (env.data.is_some() || env.auth.is_some()) =>
        {
            env
        }
        other => return Ok(other),
    };
    let wrapped_accessor = wrapped_accessor(&env);
    let warnings = env.warnings.clone();
    let body = Reply::Envelope(200, env)
        .into_response(&c.req.request_id)
        .body
        .unwrap_or(Json::Null);
    let response = Zeroizing::new(serde_json::to_vec(&body).map_err(|_| ApiError::Internal)?);
    drop(body);
    let display_name = c
        .caller
        .map(|caller| caller.entry.display_name.as_str())
        .unwrap_or_default();
    let (writes, mut info) =
        prepare(&c.svc, display_name, c.path, wrap_ttl, &response, c.now).await?;
    c.store().transact(writes).await?;
    info.wrapped_accessor = wrapped_accessor;
    Ok(info.reply(warnings))
}

/// The accessor of what a response hands out: a token's (a login, a token creation),
/// or an AppRole secret ID's (Vault's `wrapped_accessor`).
fn wrapped_accessor(env: &Envelope) -> Option<String> {
    let field = |v: &Option<Json>, name: &str| {
        v.as_ref()
            .and_then(|v| v.get(name))
            .and_then(Json::as_str)
            .map(str::to_owned)
    };
    match &env.auth {
        Some(_) => field(&env.auth, "accessor"),
        None if env.mount_type == "approle" => field(&env.data, "secret_id_accessor"),
        None => None,
    }
}

/// Whether a token is a wrapping token (its one policy is `response-wrapping`).
pub fn is_wrapping_token(entry: &TokenEntry) -> bool {
    entry.policies.len() == 1 && entry.policies[0] == POLICY
}

/// The live wrapping token `token`, or 400 [`INVALID`].
pub async fn wrapping_entry(
    store: &dyn Store,
    token: &SecretString,
    now: i64,
) -> Result<TokenEntry, ApiError> {
    match token::find(store, token, now).await? {
        Some(e) if is_wrapping_token(&e) => Ok(e),
        _ => Err(invalid()),
    }
}

/// The wrapping token a `sys/wrapping/*` request names: `token` in its body (or
/// query), else its own token (what the Vault client sends when it holds no other);
/// `true` when it came from the body (a third party unwraps). 403 as Vault's
/// `validateWrappingToken` when there is none.
pub fn named_token(req: &ApiRequest, body: &Body) -> Result<(SecretString, bool), ApiError> {
    let denied = |why: &str| ApiError::Denied(format!("error validating wrapping token: {why}"));
    match body.get("token") {
        None | Some(Json::Null) => {}
        Some(Json::String(t)) if t.is_empty() => return Err(denied("empty token in request body")),
        Some(Json::String(t)) => return Ok((SecretString::from(t.trim().to_owned()), true)),
        Some(_) => return Err(denied("could not decode token in request body")),
    }
    match req.token() {
        Some(t) => Ok((t, false)),
        None => Err(denied("token is empty")),
    }
}

/// Vault's check before a wrapping-token route (`sys/wrapping/unwrap`, `rewrap`) is
/// authenticated: the token it names must be a live wrapping token, else 400
/// [`INVALID`] (403 when it names none). One token read. Returns whether the request
/// presents the wrapping token as its own (`X-Vault-Token`) rather than in the body.
pub async fn validate(store: &dyn Store, req: &ApiRequest, now: i64) -> Result<bool, ApiError> {
    let mut body = req.json().unwrap_or_default();
    if let Some(t) = req.query_param("token") {
        body.entry("token")
            .or_insert_with(|| Json::String(t.to_owned()));
    }
    let (token, in_body) = named_token(req, &body)?;
    wrapping_entry(store, &token, now).await?;
    Ok(!in_body)
}

/// Takes the response wrapped by the token with hash `hash`, exactly once: one
/// conditional delete returning the item (it exists and has not expired), then opens
/// it. 400 [`INVALID`] when it is gone or expired (another unwrap took it).
pub async fn take(
    store: &dyn Store,
    keyring: &Keyring,
    hash: &str,
    now: i64,
) -> Result<(Stored, Plaintext), ApiError> {
    let item = match store.take(&wrap_key(hash), live_cond(now)).await {
        Ok(item) => item,
        Err(StoreError::ConditionFailed) => return Err(invalid()),
        Err(e) => return Err(e.into()),
    };
    let stored = Stored::try_from(&item)?;
    let plain = open(keyring, hash, &item).await?;
    Ok((stored, plain))
}

/// Reads the response wrapped by the token with hash `hash` without taking it, if it
/// may still be unwrapped. One read.
pub async fn read(
    store: &dyn Store,
    hash: &str,
    now: i64,
) -> Result<Option<(Stored, Item)>, ApiError> {
    let Some(item) = store.get(&wrap_key(hash)).await? else {
        return Ok(None);
    };
    let stored = Stored::try_from(&item)?;
    Ok((stored.expire_at > now).then_some((stored, item)))
}

/// The write that consumes a wrapped response read with [`read`] in a transaction
/// (rewrap): it fails unless the response is still there and unexpired.
pub fn consume_write(hash: &str, now: i64) -> Write {
    Write::Delete {
        key: wrap_key(hash),
        cond: Some(live_cond(now)),
    }
}

/// The sweeper's removal of an expired wrapped response: `true` when it deleted one.
pub async fn sweep(store: &dyn Store, key: &Key, now: i64) -> Result<bool, StoreError> {
    match store
        .write(Write::Delete {
            key: key.clone(),
            cond: Some(Cond::Le(A_EXPIRE, now)),
        })
        .await
    {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
