//! What the JWT/OIDC and Kubernetes auth methods share: a configuration and named
//! roles per mount, stored under the mount's storage prefix ([`crate::auth`]).

use secrecy::SecretString;
use serde_json::Value as Json;

use crate::auth::{self, MountConfig, MountRole, checked_role_name, config_key, role_key};
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::BodyExt;
use crate::jwt::source::KeySource;
use crate::store::Key;
use crate::token::{self, Minted};

use super::ctx::Ctx;
use super::reply::keys_reply;

/// The mount's storage prefix.
fn storage<'a>(c: &'a Ctx<'a>) -> &'a str {
    &c.mount.storage
}

/// The mount as the auth method sees it: name and storage prefix.
pub(super) fn mount_ref<'a>(c: &'a Ctx<'a>) -> crate::auth::MountRef<'a> {
    crate::auth::MountRef {
        name: c.mount.name(),
        storage: &c.mount.storage,
    }
}

/// The login request's `role` and `jwt`.
pub(super) fn login_params(c: &Ctx<'_>) -> Result<(String, SecretString), ApiError> {
    let role = c.body.string("role")?.unwrap_or_default();
    let jwt = SecretString::from(c.body.string("jwt")?.unwrap_or_default());
    Ok((role, jwt))
}

/// A login's answer: the token in `auth`.
pub(super) fn login_reply(c: &Ctx<'_>, minted: &Minted) -> Reply {
    let ttl = minted.entry.expire_at - c.now;
    Envelope {
        auth: Some(token::auth_json(&minted.entry, Some(&minted.token), ttl)),
        warnings: minted.warnings.clone(),
        ..Envelope::default()
    }
    .mount(type_name(c))
    .ok()
}

fn type_name(c: &Ctx<'_>) -> &'static str {
    match c.mount.kind {
        crate::mounts::BackendKind::Kubernetes => "kubernetes",
        _ => "jwt",
    }
}

pub(super) async fn read_config<C: MountConfig>(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let data = auth::read::<C>(c.store(), &config_key(storage(c)), C::WHAT)
        .await?
        .map(|cfg| cfg.to_json())
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(data).mount(type_name(c)).ok())
}

/// Replaces a mount's config once its keys were fetched and parsed.
pub(super) async fn write_config<C: MountConfig>(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let cfg = C::from_body(c.body)?;
    check_keys(c, &cfg.key_source()).await?;
    auth::put(c.store(), &config_key(storage(c)), &cfg).await?;
    Ok(Reply::NoContent)
}

pub(super) async fn list_roles(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    keys_reply(auth::list_roles(c.store(), storage(c)).await?)
}

pub(super) async fn read_role<R: MountRole>(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let key = role_key(storage(c), c.param("name"));
    let data: Json = auth::read::<R>(c.store(), &key, R::WHAT)
        .await?
        .map(|r| r.to_json())
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(data).mount(type_name(c)).ok())
}

/// Creates or updates a role. Vault's existence check: creating needs `create`,
/// changing `update`.
pub(super) async fn write_role<R: MountRole>(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let key: Key = role_key(storage(c), checked_role_name(c.param("name"))?);
    let old = auth::read::<R>(c.store(), &key, R::WHAT).await?;
    c.grant.require_write(old.is_some())?;
    let mut role = old.unwrap_or_default();
    role.apply(c.body)?;
    auth::put(c.store(), &key, &role).await?;
    Ok(Reply::NoContent)
}

pub(super) async fn delete_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    auth::delete(c.store(), &role_key(storage(c), c.param("name"))).await?;
    Ok(Reply::NoContent)
}

/// Fetches and parses a config's keys before it is stored, as Vault checks the
/// discovery URL or JWKS on config writes: a config that cannot work is refused.
async fn check_keys(c: &Ctx<'_>, src: &KeySource) -> Result<(), ApiError> {
    c.svc
        .jwt_keys
        .load(src)
        .await
        .map(|_| ())
        .map_err(|e| ApiError::bad(format!("error checking the key source: {e}")))
}
