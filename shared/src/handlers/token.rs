//! Token routes: lookup, renew and revoke, of oneself or (admin) of another token.

use secrecy::SecretString;

use super::Caller;
use crate::app::App;
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::{Body, BodyExt};
use crate::route::Route;
use crate::token::{self, TokenEntry};

pub(crate) async fn handle(
    app: &App,
    caller: Option<Caller>,
    route: &Route,
    body: &Body,
    now: i64,
) -> Result<Reply, ApiError> {
    let store = app.store.as_ref();
    let caller = caller.ok_or(ApiError::PermissionDenied)?;
    match route {
        Route::TokenLookupSelf => {
            Ok(
                Envelope::data(token::lookup_json(&caller.entry, Some(&caller.token), now))
                    .mount("token")
                    .ok(),
            )
        }
        Route::TokenLookup => {
            let (entry, tok) = by_token(app, body, now).await?;
            Ok(Envelope::data(token::lookup_json(&entry, Some(&tok), now))
                .mount("token")
                .ok())
        }
        Route::TokenLookupAccessor => {
            let entry = by_accessor(app, body, now).await?;
            Ok(Envelope::data(token::lookup_json(&entry, None, now))
                .mount("token")
                .ok())
        }
        Route::TokenRenewSelf => renew(app, &caller.entry, Some(&caller.token), body, now).await,
        Route::TokenRenew => {
            let (entry, tok) = by_token(app, body, now).await?;
            renew(app, &entry, Some(&tok), body, now).await
        }
        Route::TokenRevokeSelf => {
            crate::lease::revoke_owned(store, &app.revokers, &caller.entry.hash, now).await?;
            token::revoke(store, &caller.entry).await?;
            Ok(Reply::NoContent)
        }
        Route::TokenRevoke => {
            // Revoking an unknown or expired token succeeds, as in Vault; a missing or
            // malformed `token` parameter does not.
            let tok = token_param(body)?;
            if let Some(entry) = token::find(store, &tok, now).await? {
                crate::lease::revoke_owned(store, &app.revokers, &entry.hash, now).await?;
                token::revoke(store, &entry).await?;
            }
            Ok(Reply::NoContent)
        }
        Route::TokenRevokeAccessor => {
            let acc = body
                .string("accessor")?
                .ok_or_else(|| ApiError::bad("missing accessor"))?;
            if let Some(entry) = token::find_by_accessor(store, &acc, now).await? {
                crate::lease::revoke_owned(store, &app.revokers, &entry.hash, now).await?;
                token::revoke(store, &entry).await?;
            }
            Ok(Reply::NoContent)
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

async fn renew(
    app: &App,
    entry: &TokenEntry,
    tok: Option<&SecretString>,
    body: &Body,
    now: i64,
) -> Result<Reply, ApiError> {
    let increment = body.duration("increment")?.unwrap_or(0);
    let r = token::renew(app.store.as_ref(), entry, increment, now).await?;
    let mut renewed = entry.clone();
    renewed.expire_at = now + r.ttl;
    Ok(Envelope {
        auth: Some(token::auth_json(&renewed, tok, r.ttl)),
        warnings: r.warnings,
        ..Envelope::default()
    }
    .mount("token")
    .ok())
}

fn token_param(body: &Body) -> Result<SecretString, ApiError> {
    body.string("token")?
        .filter(|t| !t.is_empty())
        .map(SecretString::from)
        .ok_or_else(|| ApiError::bad("missing token"))
}

async fn by_token(
    app: &App,
    body: &Body,
    now: i64,
) -> Result<(TokenEntry, SecretString), ApiError> {
    let tok = token_param(body)?;
    let entry = token::find(app.store.as_ref(), &tok, now)
        .await?
        .ok_or_else(|| ApiError::bad("bad token"))?;
    Ok((entry, tok))
}

async fn by_accessor(app: &App, body: &Body, now: i64) -> Result<TokenEntry, ApiError> {
    let acc = body
        .string("accessor")?
        .ok_or_else(|| ApiError::bad("missing accessor"))?;
    token::find_by_accessor(app.store.as_ref(), &acc, now)
        .await?
        .ok_or_else(|| ApiError::bad("invalid accessor"))
}
