//! The AWS IAM auth method's paths (`auth/aws`): login, client configuration, roles
//! (rules: [`crate::auth_aws`]).

use crate::auth_aws::iam_request::IamLogin;
use crate::auth_aws::login::{self, Proof};
use crate::auth_aws::{MOUNT, config, identity, role};
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::{Body, BodyExt, normalize_list, resolve_alias};
use crate::op;
use crate::token;

use super::ctx::Ctx;
use super::reply::keys_reply;
use super::spec::PathSpec;

/// The AWS auth method's paths. Logins go to the login function, the rest to admin.
pub static PATHS: &[PathSpec] = &[
    PathSpec::new("login", &[op!(Update, Login, login)]).public(),
    PathSpec::new(
        "config/client",
        &[
            op!(Read, Admin, read_config),
            op!(Update, Admin, write_config),
            op!(Delete, Admin, delete_config),
        ],
    )
    .existence_check()
    .normalize(normalize_config),
    PathSpec::new(
        "config/identity",
        &[
            op!(Read, Admin, read_identity),
            op!(Update, Admin, write_identity),
        ],
    ),
    PathSpec::new("role", &[op!(List, Admin, list_roles)]),
    PathSpec::new(
        "role/{name}",
        &[
            op!(Read, Admin, read_role),
            op!(Update, Admin, write_role),
            op!(Delete, Admin, delete_role),
        ],
    )
    .existence_check()
    .normalize(normalize_role),
];

/// The mount as the AWS auth method keeps it: storage prefix and name.
fn mount<'a>(c: &'a Ctx<'a>) -> crate::auth_aws::Mount<'a> {
    crate::auth_aws::Mount {
        prefix: &c.mount.storage,
        name: c.mount.name(),
    }
}

fn normalize_config(body: &mut Body) {
    normalize_list(body, "allowed_sts_header_values", false);
}

fn normalize_role(body: &mut Body) {
    crate::token_fields::canonicalize(body);
    // Vault's legacy names of the token TTLs on aws auth roles.
    resolve_alias(body, "ttl", "token_ttl");
    resolve_alias(body, "max_ttl", "token_max_ttl");
    normalize_list(body, "bound_iam_principal_arn", false);
}

async fn login(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let role_name = c.body.string("role")?.unwrap_or_default();
    let proof = if IamLogin::present(c.body) {
        Proof::SignedRequest(IamLogin::from_body(c.body)?)
    } else if let Some(arn) = c.req.iam_caller_arn.as_deref() {
        Proof::RequestContext(arn)
    } else {
        return Err(ApiError::bad(
            "missing AWS credentials: give the iam_http_request_method, iam_request_url, iam_request_body and iam_request_headers of a signed sts:GetCallerIdentity request, or call through API Gateway's IAM authorization",
        ));
    };
    let l = login::login(
        c.store(),
        mount(c),
        c.svc.caller_identity,
        &role_name,
        proof,
        c.limits(),
        &c.login_at(),
        c.now,
    )
    .await?;
    let ttl = l.minted.entry.expire_at - c.now;
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

async fn read_config(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let cfg = config::read(c.store(), mount(c))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(cfg.doc.to_json()).mount(MOUNT).ok())
}

async fn write_config(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    c.grant
        .require_write(config::read(c.store(), mount(c)).await?.is_some())?;
    let warnings = config::write(c.store(), mount(c), c.body).await?;
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

async fn delete_config(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    config::delete(c.store(), mount(c)).await?;
    Ok(Reply::NoContent)
}

async fn read_identity(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let cfg = identity::read(c.store(), mount(c)).await?;
    let doc = cfg.map(|s| s.doc).unwrap_or_default();
    Ok(Envelope::data(doc.to_json()).mount(MOUNT).ok())
}

async fn write_identity(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    identity::write(c.store(), mount(c), c.body).await?;
    Ok(Reply::NoContent)
}

async fn list_roles(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    keys_reply(role::list(c.store(), mount(c)).await?)
}

async fn read_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let r = role::read(c.store(), mount(c), c.param("name"))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(r.doc.to_json()).mount(MOUNT).ok())
}

async fn write_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = c.param("name");
    // Vault's existence check: creating a role needs `create`, changing one `update`.
    let existing = role::read(c.store(), mount(c), name).await?;
    c.grant.require_write(existing.is_some())?;
    role::write(c.store(), mount(c), name, existing, c.body).await?;
    Ok(Reply::NoContent)
}

async fn delete_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    role::delete(c.store(), mount(c), c.param("name")).await?;
    Ok(Reply::NoContent)
}
