//! AWS IAM auth method routes (`auth/aws`): login, client configuration, roles.

use crate::app::App;
use crate::auth_aws::iam_request::IamLogin;
use crate::auth_aws::login::{self, Proof};
use crate::auth_aws::{MOUNT, config, role};
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
        (Route::AwsAuthLogin, _) => {
            let role_name = body.string("role")?.unwrap_or_default();
            let proof = if IamLogin::present(body) {
                Proof::SignedRequest(IamLogin::from_body(body)?)
            } else if let Some(arn) = req.iam_caller_arn.as_deref() {
                Proof::RequestContext(arn)
            } else {
                return Err(ApiError::bad(
                    "missing AWS credentials: give the iam_http_request_method, iam_request_url, iam_request_body and iam_request_headers of a signed sts:GetCallerIdentity request, or call through API Gateway's IAM authorization",
                ));
            };
            let l = login::login(
                store,
                app.caller_identity.as_ref(),
                &role_name,
                proof,
                app.limits(),
                now,
            )
            .await?;
            let ttl = l.minted.entry.expire_at - now;
            Ok(Envelope {
                auth: Some(token::auth_json(
                    &l.minted.entry,
                    Some(&l.minted.token),
                    ttl,
                )),
                warnings: l.minted.warnings.clone(),
                ..Envelope::default()
            }
            .mount(MOUNT)
            .ok())
        }
        (Route::AwsAuthConfigClient, Operation::Read) => {
            let c = config::read(store).await?.ok_or(ApiError::NotFound)?;
            Ok(Envelope::data(c.doc.to_json()).mount(MOUNT).ok())
        }
        (Route::AwsAuthConfigClient, Operation::Update) => {
            grant.require_write(config::read(store).await?.is_some())?;
            let warnings = config::write(store, body).await?;
            if warnings.is_empty() {
                Ok(Reply::NoContent)
            } else {
                Ok(Envelope {
                    warnings,
                    ..Envelope::default()
                }
                .mount(MOUNT)
                .ok())
            }
        }
        (Route::AwsAuthConfigClient, Operation::Delete) => {
            config::delete(store).await?;
            Ok(Reply::NoContent)
        }
        (Route::AwsAuthRoles, _) => super::approle::keys_reply(role::list(store).await?),
        (Route::AwsAuthRole { name }, Operation::Read) => {
            let r = role::read(store, name).await?.ok_or(ApiError::NotFound)?;
            Ok(Envelope::data(r.doc.to_json()).mount(MOUNT).ok())
        }
        (Route::AwsAuthRole { name }, Operation::Update) => {
            // Vault's existence check: creating a role needs `create`, changing one `update`.
            let existing = role::read(store, name).await?;
            grant.require_write(existing.is_some())?;
            role::write(store, name, existing, body).await?;
            Ok(Reply::NoContent)
        }
        (Route::AwsAuthRole { name }, Operation::Delete) => {
            role::delete(store, name).await?;
            Ok(Reply::NoContent)
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}
