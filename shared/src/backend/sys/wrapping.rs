//! `sys/wrapping/*`: wrap a value, look up, unwrap and rewrap a wrapping token (rules:
//! [`crate::wrapping`]).

use secrecy::SecretString;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::revocation;
use crate::token::TokenEntry;
use crate::wrapping;

use crate::backend::ctx::Ctx;

/// `sys/wrapping/wrap`: the request body as `data`, which the pipeline then wraps; a
/// request that asks for no wrapping is refused (Vault's text).
pub(super) async fn wrap(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    if wrapping::requested_ttl(c.req)? == 0 {
        return Err(ApiError::bad(
            "endpoint requires response wrapping to be used",
        ));
    }
    Ok(Envelope::data(Value::Object(c.body.clone())).ok())
}

/// The wrapping token a request names and its entry: from the body (a third party:
/// `true`), or the caller's own token, already authenticated (its one use spent by
/// this request, which revokes it once done).
async fn named(c: &Ctx<'_>) -> Result<(SecretString, TokenEntry, bool), ApiError> {
    let (token, third_party) = wrapping::named_token(c.req, c.body)?;
    let entry = if third_party {
        wrapping::wrapping_entry(c.store(), &token, c.now).await?
    } else {
        let caller = c.caller()?;
        if !wrapping::is_wrapping_token(&caller.entry) {
            return Err(wrapping::invalid());
        }
        caller.entry.clone()
    };
    Ok((token, entry, third_party))
}

/// Revokes a wrapping token named in a body once its response is taken (the caller's
/// own token is revoked by its last use). A failure is logged: the response is gone
/// already, and the sweeper deletes the token when it expires.
async fn revoke(c: &Ctx<'_>, entry: &TokenEntry) {
    match revocation::start_token(c.store(), &entry.hash, c.now).await {
        Ok(Some(mut job)) => {
            revocation::step_inline(c.store(), c.svc.revokers, &mut job, c.now).await;
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(
            code = e.code(),
            "wrapping token revocation left to the sweeper"
        ),
    }
}

/// `sys/wrapping/unwrap`: the wrapped response, exactly as it would have been
/// answered, exactly once.
pub(super) async fn unwrap(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (_token, entry, third_party) = named(c).await?;
    let (_, plain) = wrapping::take(c.store(), c.svc.keyring, &entry.hash, c.now).await?;
    if third_party {
        revoke(c, &entry).await;
    }
    let body: Value = serde_json::from_slice(plain.expose()).map_err(|_| ApiError::Internal)?;
    Ok(Reply::Raw(200, body))
}

/// `sys/wrapping/lookup` (no token needed): the wrapping token's `creation_ttl`,
/// `creation_time` and `creation_path`.
pub(super) async fn lookup(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (token, _) = wrapping::named_token(c.req, c.body)?;
    let entry = wrapping::wrapping_entry(c.store(), &token, c.now).await?;
    let (stored, _) = wrapping::read(c.store(), &entry.hash, c.now)
        .await?
        .ok_or_else(wrapping::invalid)?;
    Ok(Envelope::data(json!({
        "creation_ttl": stored.creation_ttl,
        "creation_time": crate::clock::rfc3339(stored.creation_time),
        "creation_path": stored.creation_path,
    }))
    .ok())
}

/// `sys/wrapping/rewrap`: the same response under a new wrapping token (TTL: the
/// original's, or the request's wrap TTL if shorter; same creation path); the old
/// token's response goes in the same transaction, so it can be unwrapped by one of
/// them only, and the old token is revoked.
pub(super) async fn rewrap(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (_token, entry, third_party) = named(c).await?;
    let (stored, item) = wrapping::read(c.store(), &entry.hash, c.now)
        .await?
        .ok_or_else(wrapping::invalid)?;
    let plain = wrapping::open(c.svc.keyring, &entry.hash, &item).await?;
    let ttl = match wrapping::requested_ttl(c.req)? {
        0 => stored.creation_ttl,
        asked => asked.min(stored.creation_ttl),
    };
    let (mut writes, info) = wrapping::prepare(
        &c.svc,
        &entry.display_name,
        &stored.creation_path,
        ttl,
        plain.expose(),
        c.now,
    )
    .await?;
    writes.push(wrapping::consume_write(&entry.hash, c.now));
    match c.store().transact(writes).await {
        Ok(()) => {}
        Err(e) if e.is_condition() => return Err(wrapping::invalid()),
        Err(e) => return Err(e.into()),
    }
    if third_party {
        revoke(c, &entry).await;
    }
    Ok(info.reply(Vec::new()))
}
