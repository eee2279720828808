//! AWS secrets engine routes: roles, lease settings, and credentials.

use secrecy::ExposeSecret;
use serde_json::json;

use super::Caller;
use crate::app::App;
use crate::aws_engine::issue::issue_iam_user;
use crate::aws_engine::roles::{self, CredentialType};
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::Body;
use crate::route::{Operation, Route};

pub(crate) async fn handle(
    app: &App,
    caller: Option<Caller>,
    route: &Route,
    op: Operation,
    body: &Body,
    now: i64,
) -> Result<Reply, ApiError> {
    let store = app.store.as_ref();
    match (route, op) {
        (Route::AwsRoles, _) => super::approle::keys_reply(roles::list(store).await?),
        (Route::AwsRole { name }, Operation::Read) => {
            let r = roles::read(store, name).await?.ok_or(ApiError::NotFound)?;
            Ok(Envelope::data(r.to_json()).ok())
        }
        (Route::AwsRole { name }, Operation::Update) => {
            roles::write(store, name, body).await?;
            Ok(Reply::NoContent)
        }
        (Route::AwsRole { name }, Operation::Delete) => {
            roles::delete(store, name).await?;
            Ok(Reply::NoContent)
        }
        (Route::AwsConfigLease, Operation::Read) => {
            let c = roles::lease_config(store, app.config.default_ttl, app.config.max_ttl).await?;
            Ok(Envelope::data(json!({ "lease": c.lease, "lease_max": c.lease_max })).ok())
        }
        (Route::AwsConfigLease, _) => {
            roles::write_lease_config(store, body, app.config.max_ttl).await?;
            Ok(Reply::NoContent)
        }
        (Route::AwsCreds { role }, _) => {
            let caller = caller.ok_or(ApiError::PermissionDenied)?;
            let r = roles::read(store, role)
                .await?
                .ok_or_else(|| ApiError::bad(format!("role {role:?} not found")))?;
            if r.credential_type != CredentialType::IamUser {
                return Err(ApiError::bad(
                    "assumed_role credentials are not supported yet",
                ));
            }
            let cfg =
                roles::lease_config(store, app.config.default_ttl, app.config.max_ttl).await?;
            let issued = issue_iam_user(
                store,
                app.iam.as_ref(),
                app.failpoints.as_ref(),
                role,
                &r,
                cfg,
                &caller.entry,
                now,
            )
            .await?;
            Ok(Envelope {
                data: Some(json!({
                    "access_key": issued.access_key,
                    "secret_key": issued.secret_key.expose_secret(),
                    "security_token": null,
                })),
                lease_id: issued.lease.id.clone(),
                lease_duration: issued.lease.expire_at - now,
                renewable: true,
                ..Envelope::default()
            }
            .mount("aws")
            .ok())
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}
