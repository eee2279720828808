//! Request handlers, one module per area, behind one dispatcher.

mod approle;
mod audit;
mod auth;
mod auth_aws;
mod aws;
mod kv;
mod lease;
mod policy;
mod quota;
mod token;

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::app::{App, wrong_function};
use crate::audit::Exchange;
use crate::authz;
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::http::envelope::Reply;
use crate::route::{self, Access, Route};
use crate::token::TokenEntry;

/// The authenticated caller of a request.
pub(crate) struct Caller {
    /// The token's entry.
    pub entry: TokenEntry,
    /// The token as presented (for lookup-self's `id`).
    pub token: SecretString,
}

/// Resolves, authenticates, authorizes, audits and runs the handler for `req`, in that
/// order: the request's audit line is written after authorization and before anything
/// is written (a limited-use token's use included), so a failing audit device stops
/// the request with nothing changed (fail closed).
pub(crate) async fn dispatch(
    app: &App,
    req: &ApiRequest,
    audit: &mut Exchange,
) -> Result<Reply, ApiError> {
    // Go's strconv.ParseBool, as Vault parses `list`.
    let list = matches!(
        req.query_param("list"),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True")
    );
    req.check_limits()?;
    let resolved = route::resolve(&app.config, &req.method, &req.path, list)?;
    audit.resolved(&resolved);
    if resolved.function() != app.function {
        return Err(wrong_function(&resolved.path));
    }
    refuse_wrapping(req)?;
    let now = app.clock.now();
    let caller = match resolved.access() {
        Access::Public => None,
        _ => {
            let token = req.token().ok_or(ApiError::PermissionDenied)?;
            let entry = crate::token::lookup(app.store.as_ref(), Some(&token), now)
                .await
                .inspect_err(|_| audit.decide(false))?;
            audit.caller(token.expose_secret(), &entry);
            Some(Caller { entry, token })
        }
    };
    let body = canonical_body(&resolved.route, req.json()?);
    // Parameter constraints judge a write's body, or a read's query parameters.
    let query_params: crate::http::params::Body;
    let params = if resolved.op == route::Operation::Read {
        query_params = req
            .query
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        &query_params
    } else {
        &body
    };
    audit.data(params);
    let grant = authz::authorize(
        app,
        &resolved,
        caller.as_ref().map(|c| &c.entry),
        params,
        now,
    )
    .await
    .inspect_err(|e| {
        if matches!(e, ApiError::PermissionDenied) {
            audit.decide(false);
        }
    })?;
    // Rate-limit quotas govern logins: the routes the login function serves. Checked
    // before the request line, so a refusal is logged as `rate_limited`.
    if resolved.function() == crate::route::Function::Login {
        crate::quota::admit(
            app.store.as_ref(),
            &app.quotas,
            app.config.policy_cache_ttl,
            &resolved.route,
            &resolved.path,
            &body,
            now,
        )
        .await
        .inspect_err(|_| audit.rate_limited())?;
    }
    audit.decide(true);
    audit.write_request(None).map_err(|_| ApiError::Internal)?;
    let caller = match caller {
        Some(c) => Some(Caller {
            entry: crate::token::consume_use(app.store.as_ref(), c.entry, now).await?,
            token: c.token,
        }),
        None => None,
    };
    let op = resolved.op;
    match &resolved.route {
        Route::Health => Ok(health(now)),
        Route::ApproleLogin
        | Route::ApproleRoles
        | Route::ApproleRole { .. }
        | Route::ApproleRoleId { .. }
        | Route::ApproleSecretId { .. }
        | Route::ApproleSecretIdLookup { .. }
        | Route::ApproleSecretIdDestroy { .. }
        | Route::ApproleAccessorLookup { .. }
        | Route::ApproleAccessorDestroy { .. } => {
            approle::handle(app, req, &resolved.route, op, &body, grant, now).await
        }
        Route::TokenLookupSelf
        | Route::TokenLookup
        | Route::TokenLookupAccessor
        | Route::TokenRenewSelf
        | Route::TokenRenew
        | Route::TokenRevokeSelf
        | Route::TokenRevoke
        | Route::TokenRevokeAccessor => {
            token::handle(app, caller, &resolved.route, &body, now).await
        }
        Route::LeaseLookup
        | Route::LeaseRenew
        | Route::LeaseRevoke
        | Route::LeaseRevokePrefix { .. }
        | Route::LeaseRevokeForce { .. }
        | Route::LeaseList { .. }
        | Route::Leases => lease::handle(app, req, &resolved.route, &body, now).await,
        Route::KvData { .. }
        | Route::KvMetadata { .. }
        | Route::KvDelete { .. }
        | Route::KvUndelete { .. }
        | Route::KvDestroy { .. }
        | Route::KvConfig { .. } => {
            kv::handle(app, req, &resolved.route, op, &body, grant, now).await
        }
        Route::Policies | Route::Policy { .. } => {
            policy::handle(app, &resolved.route, op, &body, now).await
        }
        Route::AwsCreds { .. }
        | Route::AwsSts { .. }
        | Route::AwsRoles
        | Route::AwsRole { .. }
        | Route::AwsConfigRoot
        | Route::AwsConfigLease => {
            aws::handle(app, req, caller, &resolved.route, op, &body, now).await
        }
        Route::AwsAuthLogin
        | Route::AwsAuthConfigClient
        | Route::AwsAuthRoles
        | Route::AwsAuthRole { .. } => {
            auth_aws::handle(app, req, &resolved.route, op, &body, grant, now).await
        }
        Route::CapabilitiesSelf => policy::capabilities_self(app, caller, &body, now).await,
        Route::AuditHash { device } => audit::hash(audit.key(), device, &body),
        Route::Quotas | Route::Quota { .. } => quota::handle(app, &resolved.route, op, &body).await,
        Route::AuthConfig { .. }
        | Route::AuthRoles { .. }
        | Route::AuthRole { .. }
        | Route::AuthLogin { .. } => {
            auth::handle(app, &resolved.route, op, &body, grant, now).await
        }
    }
}

/// Response wrapping (`X-Vault-Wrap-TTL`) is not supported. A client that asks for it
/// expects the secret to come back only inside a single-use wrapping token, so
/// answering in the clear would hand it to whoever relays the response: the request is
/// refused (400) before anything happens. As in Vault, an empty or zero TTL asks for no
/// wrapping.
fn refuse_wrapping(req: &ApiRequest) -> Result<(), ApiError> {
    // Every copy of the header counts: a request carrying `0` and then `60` asks for
    // wrapping as much as one carrying `60` alone.
    let zero = |ttl: &str| {
        let ttl = ttl.trim();
        ttl.is_empty()
            || crate::http::params::parse_duration(&serde_json::Value::String(ttl.to_owned()))
                == Ok(0)
    };
    let wrapping = req
        .headers
        .iter()
        .any(|(k, v)| k == "x-vault-wrap-ttl" && !zero(v));
    if wrapping {
        Err(ApiError::bad(
            "response wrapping (X-Vault-Wrap-TTL) is not supported by Sigil",
        ))
    } else {
        Ok(())
    }
}

/// The body in the form the handlers use it: legacy aliases resolved and list
/// parameters as trimmed lists (policy names lowercased), so that policies' parameter
/// constraints see exactly what takes effect.
fn canonical_body(route: &Route, mut body: crate::http::params::Body) -> crate::http::params::Body {
    use crate::http::params::normalize_list;
    match route {
        Route::ApproleRole { .. } => {
            crate::token_fields::canonicalize(&mut body);
            normalize_list(&mut body, "secret_id_bound_cidrs", false);
        }
        Route::ApproleSecretId { .. } => {
            normalize_list(&mut body, "cidr_list", false);
            normalize_list(&mut body, "token_bound_cidrs", false);
        }
        Route::AwsRole { .. } => {
            for name in ["policy_arns", "iam_groups", "role_arns"] {
                normalize_list(&mut body, name, false);
            }
        }
        Route::AwsAuthRole { .. } => {
            crate::token_fields::canonicalize(&mut body);
            // Vault's legacy names of the token TTLs on aws auth roles.
            crate::http::params::resolve_alias(&mut body, "ttl", "token_ttl");
            crate::http::params::resolve_alias(&mut body, "max_ttl", "token_max_ttl");
            normalize_list(&mut body, "bound_iam_principal_arn", false);
        }
        Route::AwsAuthConfigClient => normalize_list(&mut body, "allowed_sts_header_values", false),
        Route::CapabilitiesSelf => normalize_list(&mut body, "paths", false),
        Route::AuthRole { .. } => {
            crate::token_fields::canonicalize(&mut body);
            for name in [
                "bound_audiences",
                "bound_service_account_names",
                "bound_service_account_namespaces",
            ] {
                normalize_list(&mut body, name, false);
            }
        }
        Route::AuthConfig { .. } => normalize_list(&mut body, "jwt_supported_algs", false),
        _ => {}
    }
    body
}

/// `sys/health`: Vault's health body (Sigil is always initialized and unsealed).
fn health(now: i64) -> Reply {
    // Vault answers sys/health with a bare object, not the envelope.
    Reply::Raw(
        200,
        json!({
            "initialized": true,
            "sealed": false,
            "standby": false,
            "performance_standby": false,
            "replication_performance_mode": "disabled",
            "replication_dr_mode": "disabled",
            "server_time_utc": now,
            "version": concat!("sigil-", env!("CARGO_PKG_VERSION")),
            "cluster_name": "sigil",
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_is_refused_unless_the_ttl_is_zero() {
        let with = |ttl: &str| ApiRequest {
            headers: vec![("x-vault-wrap-ttl".into(), ttl.into())],
            ..ApiRequest::default()
        };
        assert!(refuse_wrapping(&ApiRequest::default()).is_ok());
        for zero in ["", " ", "0", "0s"] {
            assert!(refuse_wrapping(&with(zero)).is_ok(), "{zero:?}");
        }
        for asked in ["5m", "300", "1h30m", "soon", "-1", "5m\u{0}"] {
            let err = refuse_wrapping(&with(asked)).expect_err(asked);
            assert_eq!(err.status(), 400);
            assert!(err.to_string().contains("not supported"), "{err}");
        }
        // A repeated header: any non-zero copy asks for wrapping, whatever its place.
        for pair in [["0", "60"], ["60", "0"], ["", "5m"]] {
            let req = ApiRequest {
                headers: pair
                    .iter()
                    .map(|v| ("x-vault-wrap-ttl".to_owned(), (*v).to_owned()))
                    .collect(),
                ..ApiRequest::default()
            };
            assert!(refuse_wrapping(&req).is_err(), "{pair:?}");
        }
        assert!(refuse_wrapping(&with("0,60")).is_err(), "joined by a proxy");
    }
}
