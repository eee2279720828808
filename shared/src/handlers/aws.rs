//! AWS secrets engine routes: roles, root and lease settings, and credentials.

use secrecy::ExposeSecret;
use serde_json::json;

use super::Caller;
use crate::app::App;
use crate::aws_engine::issue::issue_iam_user;
use crate::aws_engine::roles::{self, CredentialType};
use crate::aws_engine::root;
use crate::aws_engine::sts;
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::{Body, BodyExt};
use crate::route::{Operation, Route};

pub(crate) async fn handle(
    app: &App,
    req: &ApiRequest,
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
        (Route::AwsConfigRoot, Operation::Read) => {
            Ok(Envelope::data(root::read(store).await?.to_json()).ok())
        }
        (Route::AwsConfigRoot, _) => {
            root::write(store, body).await?;
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
        (Route::AwsCreds { role } | Route::AwsSts { role }, _) => {
            let caller = caller.ok_or(ApiError::PermissionDenied)?;
            let r = roles::read(store, role)
                .await?
                .ok_or_else(|| ApiError::bad(format!("role {role:?} not found")))?;
            if r.credential_type == CredentialType::AssumedRole {
                return sts(app, req, role, &r, &caller, body, now).await;
            }
            if matches!(route, Route::AwsSts { .. }) {
                return Err(ApiError::bad("aws/sts needs an assumed_role role"));
            }
            let cfg =
                roles::lease_config(store, app.config.default_ttl, app.config.max_ttl).await?;
            let clients = app.aws.get().await?;
            let issued = issue_iam_user(
                store,
                clients.iam.as_ref(),
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

/// STS credentials for an `assumed_role` role: `role_arn` and `ttl` from the body (or,
/// for `GET aws/creds`, the query string).
async fn sts(
    app: &App,
    req: &ApiRequest,
    role_name: &str,
    role: &roles::AwsRole,
    caller: &Caller,
    body: &Body,
    now: i64,
) -> Result<Reply, ApiError> {
    let mut params = body.clone();
    for (k, v) in &req.query {
        if k == "role_arn" || k == "ttl" {
            params
                .entry(k.clone())
                .or_insert_with(|| serde_json::Value::String(v.clone()));
        }
    }
    let arn = sts::pick_role_arn(role, params.string("role_arn")?.as_deref())?;
    let ttl = sts::session_ttl(role, params.duration("ttl")?)?;
    let clients = app.aws.get().await?;
    let (lease, creds) = sts::issue_sts(
        app.store.as_ref(),
        clients.sts.as_ref(),
        role_name,
        role,
        &arn,
        ttl,
        &caller.entry,
        now,
    )
    .await?;
    Ok(Envelope {
        data: Some(json!({
            "access_key": creds.access_key,
            "secret_key": creds.secret_key.expose_secret(),
            "security_token": creds.session_token.expose_secret(),
            "arn": arn,
        })),
        lease_id: lease.id.clone(),
        lease_duration: lease.expire_at - now,
        renewable: false,
        ..Envelope::default()
    }
    .mount("aws")
    .ok())
}
