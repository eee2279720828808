//! JWT/OIDC and Kubernetes auth mount routes: config, roles, login.

use secrecy::SecretString;

use crate::app::App;
use crate::auth::jwt::config::JwtConfig;
use crate::auth::jwt::login::LoginRequest;
use crate::auth::jwt::role::JwtRole;
use crate::auth::kubernetes::config::KubernetesConfig;
use crate::auth::kubernetes::role::KubernetesRole;
use crate::auth::{self, MountConfig, MountRole, checked_role_name, config_key, role_key};
use crate::authz::Grant;
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::{Body, BodyExt};
use crate::jwt::source::KeySource;
use crate::route::{AuthKind, Operation, Route};
use crate::store::Key;
use crate::token;
use serde_json::Value as Json;

use super::approle::keys_reply;

pub(crate) async fn handle(
    app: &App,
    route: &Route,
    op: Operation,
    body: &Body,
    grant: Grant,
    now: i64,
) -> Result<Reply, ApiError> {
    let store = app.store.as_ref();
    match (route, op) {
        (Route::AuthLogin { mount, kind }, _) => {
            let role = body.string("role")?.unwrap_or_default();
            let jwt = SecretString::from(body.string("jwt")?.unwrap_or_default());
            let minted = match kind {
                AuthKind::Jwt => {
                    let req = LoginRequest {
                        mount,
                        role: &role,
                        jwt: &jwt,
                    };
                    auth::jwt::login::login(store, &app.jwt_keys, req, app.limits(), now).await?
                }
                AuthKind::Kubernetes => {
                    auth::kubernetes::login::login(
                        store,
                        &app.jwt_keys,
                        mount,
                        &role,
                        &jwt,
                        app.limits(),
                        now,
                    )
                    .await?
                }
            };
            let ttl = minted.entry.expire_at - now;
            Ok(Envelope {
                auth: Some(token::auth_json(&minted.entry, Some(&minted.token), ttl)),
                warnings: minted.warnings.clone(),
                ..Envelope::default()
            }
            .mount(kind.type_name())
            .ok())
        }
        (Route::AuthConfig { mount, kind }, Operation::Read) => {
            let data = match kind {
                AuthKind::Jwt => read_config::<JwtConfig>(app, mount).await?,
                AuthKind::Kubernetes => read_config::<KubernetesConfig>(app, mount).await?,
            };
            Ok(Envelope::data(data.ok_or(ApiError::NotFound)?)
                .mount(kind.type_name())
                .ok())
        }
        (Route::AuthConfig { mount, kind }, _) => {
            match kind {
                AuthKind::Jwt => write_config::<JwtConfig>(app, mount, body).await?,
                AuthKind::Kubernetes => write_config::<KubernetesConfig>(app, mount, body).await?,
            }
            Ok(Reply::NoContent)
        }
        (Route::AuthRoles { mount, .. }, _) => keys_reply(auth::list_roles(store, mount).await?),
        (Route::AuthRole { mount, kind, name }, Operation::Read) => {
            let key = role_key(mount, name);
            let data = match kind {
                AuthKind::Jwt => read_role::<JwtRole>(app, &key).await?,
                AuthKind::Kubernetes => read_role::<KubernetesRole>(app, &key).await?,
            };
            Ok(Envelope::data(data.ok_or(ApiError::NotFound)?)
                .mount(kind.type_name())
                .ok())
        }
        (Route::AuthRole { mount, kind, name }, Operation::Update) => {
            let key = role_key(mount, checked_role_name(name)?);
            match kind {
                AuthKind::Jwt => write_role::<JwtRole>(app, &key, body, grant).await?,
                AuthKind::Kubernetes => {
                    write_role::<KubernetesRole>(app, &key, body, grant).await?
                }
            }
            Ok(Reply::NoContent)
        }
        (Route::AuthRole { mount, name, .. }, _) => {
            auth::delete(store, &role_key(mount, name)).await?;
            Ok(Reply::NoContent)
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

async fn read_config<C: MountConfig>(app: &App, mount: &str) -> Result<Option<Json>, ApiError> {
    Ok(
        auth::read::<C>(app.store.as_ref(), &config_key(mount), C::WHAT)
            .await?
            .map(|c| c.to_json()),
    )
}

/// Replaces a mount's config once its keys were fetched and parsed.
async fn write_config<C: MountConfig>(app: &App, mount: &str, body: &Body) -> Result<(), ApiError> {
    let c = C::from_body(body)?;
    check_keys(app, &c.key_source()).await?;
    auth::put(app.store.as_ref(), &config_key(mount), &c).await
}

async fn read_role<R: MountRole>(app: &App, key: &Key) -> Result<Option<Json>, ApiError> {
    Ok(auth::read::<R>(app.store.as_ref(), key, R::WHAT)
        .await?
        .map(|r| r.to_json()))
}

/// Creates or updates a role. Vault's existence check: creating needs `create`,
/// changing `update`.
async fn write_role<R: MountRole>(
    app: &App,
    key: &Key,
    body: &Body,
    grant: Grant,
) -> Result<(), ApiError> {
    let old = auth::read::<R>(app.store.as_ref(), key, R::WHAT).await?;
    grant.require_write(old.is_some())?;
    let mut role = old.unwrap_or_default();
    role.apply(body)?;
    auth::put(app.store.as_ref(), key, &role).await
}

/// Fetches and parses a config's keys before it is stored, as Vault checks the
/// discovery URL or JWKS on config writes: a config that cannot work is refused.
async fn check_keys(app: &App, src: &KeySource) -> Result<(), ApiError> {
    app.jwt_keys
        .load(src)
        .await
        .map(|_| ())
        .map_err(|e| ApiError::bad(format!("error checking the key source: {e}")))
}
