//! AppRole routes.

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::app::App;
use crate::approle as ar;
use crate::authz::Grant;
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::{Body, BodyExt};
use crate::route::{Operation, Route};
use crate::token;

pub(crate) async fn handle(
    app: &App,
    req: &ApiRequest,
    route: &Route,
    op: Operation,
    body: &Body,
    grant: Grant,
    now: i64,
) -> Result<Reply, ApiError> {
    let store = app.store.as_ref();
    match (route, op) {
        (Route::ApproleLogin, _) => {
            let role_id = body.string("role_id")?.unwrap_or_default();
            if role_id.is_empty() {
                return Err(ApiError::bad("missing role_id"));
            }
            let secret_id = body.string("secret_id")?.map(SecretString::from);
            let minted = ar::login(
                store,
                &role_id,
                secret_id.as_ref(),
                req.remote_addr.as_deref(),
                app.limits(),
                now,
            )
            .await?;
            let ttl = minted.entry.expire_at - now;
            Ok(Envelope {
                auth: Some(token::auth_json(&minted.entry, Some(&minted.token), ttl)),
                warnings: minted.warnings.clone(),
                ..Envelope::default()
            }
            .mount("approle")
            .ok())
        }
        (Route::ApproleRoles, _) => {
            let names = ar::list_roles(store).await?;
            keys_reply(names)
        }
        (Route::ApproleRole { name }, Operation::Read) => {
            let r = ar::read_role(store, name)
                .await?
                .ok_or(ApiError::NotFound)?;
            Ok(Envelope::data(r.role.to_json()).mount("approle").ok())
        }
        (Route::ApproleRole { name }, Operation::Update) => {
            // Vault's existence check: creating a role needs `create`, changing one `update`.
            grant.require_write(ar::read_role(store, name).await?.is_some())?;
            ar::write_role(store, name, body).await?;
            Ok(Reply::NoContent)
        }
        (Route::ApproleRole { name }, Operation::Delete) => {
            ar::delete_role(store, name).await?;
            Ok(Reply::NoContent)
        }
        (Route::ApproleRoleId { name }, Operation::Read) => {
            let r = ar::read_role(store, name)
                .await?
                .ok_or(ApiError::NotFound)?;
            Ok(Envelope::data(json!({ "role_id": r.role_id }))
                .mount("approle")
                .ok())
        }
        (Route::ApproleRoleId { name }, _) => {
            let id = body
                .string("role_id")?
                .ok_or_else(|| ApiError::bad("missing role_id"))?;
            ar::set_role_id(store, name, &id).await?;
            Ok(Reply::NoContent)
        }
        (Route::ApproleSecretId { name }, Operation::List) => {
            if ar::read_role(store, name).await?.is_none() {
                return Err(ApiError::NotFound);
            }
            keys_reply(ar::list_accessors(store, name).await?)
        }
        (Route::ApproleSecretId { name }, _) => {
            let s = ar::generate_secret_id(store, name, body, now).await?;
            Ok(Envelope::data(json!({
                "secret_id": s.secret_id.expose_secret(),
                "secret_id_accessor": s.accessor,
                "secret_id_ttl": s.ttl,
                "secret_id_num_uses": s.num_uses,
            }))
            .mount("approle")
            .ok())
        }
        (Route::ApproleSecretIdLookup { name } | Route::ApproleAccessorLookup { name }, _) => {
            let item = find(app, route, name, body)
                .await?
                .ok_or(ApiError::NotFound)?;
            Ok(Envelope::data(ar::secret_json(&item)?)
                .mount("approle")
                .ok())
        }
        (Route::ApproleSecretIdDestroy { name } | Route::ApproleAccessorDestroy { name }, _) => {
            if let Some(item) = find(app, route, name, body).await? {
                ar::destroy_secret(store, name, &item).await?;
            }
            Ok(Reply::NoContent)
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

async fn find(
    app: &App,
    route: &Route,
    name: &str,
    body: &Body,
) -> Result<Option<crate::store::Item>, ApiError> {
    let by_accessor = matches!(
        route,
        Route::ApproleAccessorLookup { .. } | Route::ApproleAccessorDestroy { .. }
    );
    if by_accessor {
        let acc = body
            .string("secret_id_accessor")?
            .ok_or_else(|| ApiError::bad("missing secret_id_accessor"))?;
        ar::find_secret(app.store.as_ref(), name, None, Some(&acc)).await
    } else {
        let sid = body
            .string("secret_id")?
            .map(SecretString::from)
            .ok_or_else(|| ApiError::bad("missing secret_id"))?;
        ar::find_secret(app.store.as_ref(), name, Some(sid.expose_secret()), None).await
    }
}

/// A LIST answer: `{"keys": [...]}`, or 404 when there are none (Vault's behaviour).
pub(crate) fn keys_reply(keys: Vec<String>) -> Result<Reply, ApiError> {
    if keys.is_empty() {
        return Err(ApiError::NotFound);
    }
    Ok(Envelope::data(json!({ "keys": keys })).ok())
}
