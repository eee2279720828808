//! JWT/OIDC and Kubernetes auth mount routes: config, roles, login.

use secrecy::SecretString;

use crate::app::App;
use crate::auth::jwt::config::JwtConfig;
use crate::auth::jwt::login::LoginRequest;
use crate::auth::jwt::role::JwtRole;
use crate::auth::kubernetes::config::KubernetesConfig;
use crate::auth::kubernetes::role::KubernetesRole;
use crate::auth::{self, checked_role_name, config_key, role_key};
use crate::authz::Grant;
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::{Body, BodyExt};
use crate::jwt::source::KeySource;
use crate::route::{AuthKind, Operation, Route};
use crate::token;

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
            let key = config_key(mount);
            let data = match kind {
                AuthKind::Jwt => auth::read::<JwtConfig>(store, &key, "jwt config")
                    .await?
                    .map(|c| c.to_json()),
                AuthKind::Kubernetes => {
                    auth::read::<KubernetesConfig>(store, &key, "kubernetes config")
                        .await?
                        .map(|c| c.to_json())
                }
            };
            Ok(Envelope::data(data.ok_or(ApiError::NotFound)?)
                .mount(kind.type_name())
                .ok())
        }
        (Route::AuthConfig { mount, kind }, _) => {
            let key = config_key(mount);
            match kind {
                AuthKind::Jwt => {
                    let c = JwtConfig::from_body(body)?;
                    check_keys(app, &c.key_source()).await?;
                    auth::put(store, &key, &c).await?;
                }
                AuthKind::Kubernetes => {
                    let c = KubernetesConfig::from_body(body)?;
                    check_keys(app, &c.key_source()).await?;
                    auth::put(store, &key, &c).await?;
                }
            }
            Ok(Reply::NoContent)
        }
        (Route::AuthRoles { mount, .. }, _) => keys_reply(auth::list_roles(store, mount).await?),
        (Route::AuthRole { mount, kind, name }, Operation::Read) => {
            let key = role_key(mount, name);
            let data = match kind {
                AuthKind::Jwt => auth::read::<JwtRole>(store, &key, "jwt role")
                    .await?
                    .map(|r| r.to_json()),
                AuthKind::Kubernetes => {
                    auth::read::<KubernetesRole>(store, &key, "kubernetes role")
                        .await?
                        .map(|r| r.to_json())
                }
            };
            Ok(Envelope::data(data.ok_or(ApiError::NotFound)?)
                .mount(kind.type_name())
                .ok())
        }
        (Route::AuthRole { mount, kind, name }, Operation::Update) => {
            let key = role_key(checked_role_name(name).map(|_| mount.as_str())?, name);
            match kind {
                AuthKind::Jwt => {
                    let old = auth::read::<JwtRole>(store, &key, "jwt role").await?;
                    // Vault's existence check: creating needs `create`, changing `update`.
                    grant.require_write(old.is_some())?;
                    let mut role = old.unwrap_or_default();
                    role.apply(body)?;
                    auth::put(store, &key, &role).await?;
                }
                AuthKind::Kubernetes => {
                    let old = auth::read::<KubernetesRole>(store, &key, "kubernetes role").await?;
                    grant.require_write(old.is_some())?;
                    let mut role = old.unwrap_or_default();
                    role.apply(body)?;
                    auth::put(store, &key, &role).await?;
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

/// Fetches and parses a config's keys before it is stored, as Vault checks the
/// discovery URL or JWKS on config writes: a config that cannot work is refused.
async fn check_keys(app: &App, src: &KeySource) -> Result<(), ApiError> {
    app.jwt_keys
        .load(src)
        .await
        .map(|_| ())
        .map_err(|e| ApiError::bad(format!("error checking the key source: {e}")))
}
