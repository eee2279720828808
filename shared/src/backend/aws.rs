//! The AWS secrets engine's paths: roles, root and lease settings, credentials, and
//! static roles (rules: [`crate::aws_engine`]), at any path the engine is mounted at.
//! Static roles and their credentials go to the admin function (no lease), as the
//! database engine's do.

use secrecy::ExposeSecret;
use serde_json::json;

use crate::aws_engine::Mount;
use crate::aws_engine::issue::issue_iam_user;
use crate::aws_engine::roles::{self, CredentialType};
use crate::aws_engine::root;
use crate::aws_engine::static_roles;
use crate::aws_engine::sts;
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::{Body, BodyExt, normalize_list};
use crate::op;

use super::ctx::{Caller, Ctx};
use super::reply::keys_reply;
use super::spec::PathSpec;

/// The AWS engine's paths. Credentials go to the issue function, the rest to admin.
pub static PATHS: &[PathSpec] = &[
    PathSpec::new(
        "creds/{role}",
        &[op!(Read, Issue, creds), op!(Update, Issue, creds)],
    ),
    PathSpec::new("sts/{role}", &[op!(Update, Issue, sts_creds)]),
    PathSpec::new("roles", &[op!(List, Admin, list_roles)]),
    PathSpec::new(
        "roles/{name}",
        &[
            op!(Read, Admin, read_role),
            op!(Update, Admin, write_role),
            op!(Delete, Admin, delete_role),
        ],
    )
    .normalize(normalize_role),
    PathSpec::new("static-roles", &[op!(List, Admin, list_static_roles)]),
    PathSpec::new(
        "static-roles/{name}",
        &[
            op!(Read, Admin, read_static_role),
            op!(Update, Admin, write_static_role),
            op!(Delete, Admin, delete_static_role),
        ],
    ),
    PathSpec::new("static-creds/{name}", &[op!(Read, Admin, static_creds)]),
    PathSpec::new(
        "config/root",
        &[op!(Read, Admin, read_root), op!(Update, Admin, write_root)],
    ),
    PathSpec::new(
        "config/lease",
        &[
            op!(Read, Admin, read_lease),
            op!(Update, Admin, write_lease),
        ],
    ),
];

/// The request's mount, as the engine keeps it.
fn mount<'c>(c: &'c Ctx<'_>) -> Mount<'c> {
    Mount {
        prefix: &c.mount.storage,
        name: c.mount.name(),
    }
}

fn normalize_role(body: &mut Body) {
    for name in ["policy_arns", "iam_groups", "role_arns"] {
        normalize_list(body, name, false);
    }
}

async fn list_roles(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    keys_reply(roles::list(c.store(), mount(c)).await?)
}

async fn read_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let r = roles::read(c.store(), mount(c), c.param("name"))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(r.to_json()).ok())
}

async fn write_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    roles::write(c.store(), mount(c), c.param("name"), c.body).await?;
    Ok(Reply::NoContent)
}

async fn delete_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    roles::delete(c.store(), mount(c), c.param("name")).await?;
    Ok(Reply::NoContent)
}

/// The static-role context of a request, over the mount's IAM client `iam`.
fn static_ctx<'c>(
    c: &'c Ctx<'_>,
    iam: &'c dyn crate::aws_engine::iam::IamApi,
) -> static_roles::Ctx<'c> {
    static_roles::Ctx {
        store: c.store(),
        keyring: c.svc.keyring,
        iam,
        failpoints: c.svc.failpoints,
        mount: mount(c),
        now: c.now,
    }
}

async fn list_static_roles(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    keys_reply(static_roles::list(c.store(), mount(c)).await?)
}

/// Vault's fields; never a key.
async fn read_static_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = c.param("name");
    let r = static_roles::read(c.store(), mount(c), name)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(r.to_json(name)).ok())
}

/// Vault's answer: the role as stored (200).
async fn write_static_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let clients = c.svc.aws.get(mount(c)).await?;
    let x = static_ctx(c, clients.iam.as_ref());
    let data = static_roles::write(&x, c.param("name"), c.body).await?;
    Ok(Envelope::data(data).ok())
}

/// Deletes the role and the access keys Sigil created for it, as Vault does.
async fn delete_static_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let clients = c.svc.aws.get(mount(c)).await?;
    static_roles::delete(&static_ctx(c, clients.iam.as_ref()), c.param("name")).await?;
    Ok(Reply::NoContent)
}

/// The static role's current key (no lease: `expiration` is the next rotation).
async fn static_creds(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let clients = c.svc.aws.get(mount(c)).await?;
    let data = static_roles::creds(&static_ctx(c, clients.iam.as_ref()), c.param("name")).await?;
    Ok(Envelope::data(data).ok())
}

async fn read_root(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    Ok(Envelope::data(root::read(c.store(), mount(c)).await?.to_json()).ok())
}

async fn write_root(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    root::write(c.store(), mount(c), c.body).await?;
    Ok(Reply::NoContent)
}

/// The lease settings' defaults and cap: the mount's tuned TTLs, else the system's.
async fn lease_config(c: &Ctx<'_>) -> Result<roles::LeaseConfig, ApiError> {
    let limits = c.limits();
    let l = roles::lease_config(c.store(), mount(c), limits.default_ttl, limits.max_ttl).await?;
    // Stored settings never outlive a later tune of the mount's max TTL.
    Ok(roles::LeaseConfig {
        lease: l.lease.min(limits.max_ttl),
        lease_max: l.lease_max.min(limits.max_ttl),
    })
}

async fn read_lease(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let l = lease_config(c).await?;
    Ok(Envelope::data(json!({ "lease": l.lease, "lease_max": l.lease_max })).ok())
}

async fn write_lease(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    roles::write_lease_config(c.store(), mount(c), c.body, c.limits().max_ttl).await?;
    Ok(Reply::NoContent)
}

async fn creds(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    issue(c, false).await
}

async fn sts_creds(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    issue(c, true).await
}

/// IAM user credentials (iam_user roles) or STS credentials (assumed_role roles);
/// `aws/sts` takes assumed_role roles only.
async fn issue(c: &Ctx<'_>, sts_path: bool) -> Result<Reply, ApiError> {
    let caller = c.caller()?;
    let role = c.param("role");
    let store = c.store();
    let r = roles::read(store, mount(c), role)
        .await?
        .ok_or_else(|| ApiError::bad(format!("role {role:?} not found")))?;
    if r.credential_type == CredentialType::AssumedRole {
        return sts(c, role, &r, caller).await;
    }
    if sts_path {
        return Err(ApiError::bad(format!(
            "{}/sts needs an assumed_role role",
            c.mount.name()
        )));
    }
    let cfg = lease_config(c).await?;
    let clients = c.svc.aws.get(mount(c)).await?;
    let issued = issue_iam_user(
        store,
        mount(c),
        clients.iam.as_ref(),
        c.svc.failpoints,
        role,
        &r,
        cfg,
        &caller.entry,
        c.now,
    )
    .await?;
    Ok(Envelope {
        data: Some(json!({
            "access_key": issued.access_key,
            "secret_key": issued.secret_key.expose_secret(),
            "security_token": null,
        })),
        lease_id: issued.lease.id.clone(),
        lease_duration: issued.lease.expire_at - c.now,
        renewable: true,
        ..Envelope::default()
    }
    .mount("aws")
    .ok())
}

/// STS credentials for an `assumed_role` role: `role_arn` and `ttl` from the body (or,
/// for `GET aws/creds`, the query string).
async fn sts(
    c: &Ctx<'_>,
    role_name: &str,
    role: &roles::AwsRole,
    caller: &Caller,
) -> Result<Reply, ApiError> {
    let now = c.now;
    let mut params = c.body.clone();
    for (k, v) in &c.req.query {
        if k == "role_arn" || k == "ttl" {
            params
                .entry(k.clone())
                .or_insert_with(|| serde_json::Value::String(v.clone()));
        }
    }
    let arn = sts::pick_role_arn(role, params.string("role_arn")?.as_deref())?;
    let ttl = sts::session_ttl(role, params.duration("ttl")?)?;
    let clients = c.svc.aws.get(mount(c)).await?;
    let (lease, creds) = sts::issue_sts(
        c.store(),
        mount(c),
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
