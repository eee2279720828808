//! The database secrets engine's paths (rules: [`crate::database`]), at any path the
//! engine is mounted at: connections, roles, root rotation and credentials.
//! Dynamic credentials go to the issue function, the rest (static-creds too: no lease,
//! and the admin function already reaches the database) to admin.

use secrecy::ExposeSecret;
use serde_json::json;

use crate::database::{Mount, config, issue, roles, static_roles};
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::op;

use super::ctx::Ctx;
use super::reply::keys_reply;
use super::spec::PathSpec;

/// The database engine's paths (OpenBao's `builtin/logical/database` path table).
pub static PATHS: &[PathSpec] = &[
    PathSpec::new("creds/{role}", &[op!(Read, Issue, creds)]),
    PathSpec::new("config", &[op!(List, Admin, list_config)]),
    PathSpec::new(
        "config/{name}",
        &[
            op!(Read, Admin, read_config),
            op!(Update, Admin, write_config),
            op!(Delete, Admin, delete_config),
        ],
    ),
    PathSpec::new("reset/{name}", &[op!(Update, Admin, reset)]),
    PathSpec::new("rotate-root/{name}", &[op!(Update, Admin, rotate_root)]),
    PathSpec::new("roles", &[op!(List, Admin, list_roles)]),
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
    PathSpec::new("rotate-role/{name}", &[op!(Update, Admin, rotate_role)]),
    PathSpec::new(
        "roles/{name}",
        &[
            op!(Read, Admin, read_role),
            op!(Update, Admin, write_role),
            op!(Delete, Admin, delete_role),
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

async fn list_config(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    keys_reply(config::list(c.store(), mount(c)).await?)
}

async fn read_config(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let cfg = config::read(c.store(), mount(c), c.param("name"))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(cfg.to_json()).ok())
}

async fn write_config(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    config::write(
        c.store(),
        c.svc.keyring,
        c.svc.database.db.as_ref(),
        mount(c),
        c.param("name"),
        c.body,
    )
    .await?;
    Ok(Reply::NoContent)
}

async fn delete_config(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    config::delete(c.store(), mount(c), c.param("name")).await?;
    Ok(Reply::NoContent)
}

/// OpenBao closes and reopens the plugin's connection; Sigil keeps none between
/// requests, so a reset only checks that the connection exists.
async fn reset(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    config::read(c.store(), mount(c), c.param("name"))
        .await?
        .ok_or_else(|| ApiError::bad("no configuration found for database"))?;
    Ok(Reply::NoContent)
}

async fn rotate_root(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    config::rotate_root(
        c.store(),
        c.svc.keyring,
        c.svc.database.db.as_ref(),
        mount(c),
        c.param("name"),
        c.svc.database.failpoints.as_ref(),
        c.now,
    )
    .await?;
    Ok(Reply::NoContent)
}

/// The static-role context of a request.
fn static_ctx<'c>(c: &'c Ctx<'_>) -> static_roles::Ctx<'c> {
    static_roles::Ctx {
        store: c.store(),
        keyring: c.svc.keyring,
        db: c.svc.database.db.as_ref(),
        failpoints: c.svc.database.failpoints.as_ref(),
        mount: mount(c),
        now: c.now,
    }
}

async fn list_static_roles(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    keys_reply(static_roles::list(c.store(), mount(c)).await?)
}

async fn read_static_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let r = static_roles::read(c.store(), mount(c), c.param("name"))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(r.to_json()).ok())
}

async fn write_static_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    static_roles::write(&static_ctx(c), c.param("name"), c.body).await?;
    Ok(Reply::NoContent)
}

async fn delete_static_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    static_roles::delete(c.store(), mount(c), c.param("name")).await?;
    Ok(Reply::NoContent)
}

/// The static role's current password (no lease: `ttl` is the time to the next
/// rotation).
async fn static_creds(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let data = static_roles::creds(&static_ctx(c), c.param("name")).await?;
    Ok(Envelope::data(data).ok())
}

async fn rotate_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    static_roles::rotate_now(&static_ctx(c), c.param("name")).await?;
    Ok(Reply::NoContent)
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

/// A user for the role, under a lease (Vault's `username`, `password`).
async fn creds(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let caller = c.caller()?;
    let role_name = c.param("role");
    let (role, cfg) = issue::load(c.store(), mount(c), role_name).await?;
    let limits = c.limits();
    let x = issue::IssueCtx {
        store: c.store(),
        keyring: c.svc.keyring,
        db: c.svc.database.db.as_ref(),
        failpoints: c.svc.database.failpoints.as_ref(),
        mount: mount(c),
        default_ttl: limits.default_ttl,
        max_ttl: limits.max_ttl,
        now: c.now,
    };
    let issued = issue::issue(&x, role_name, &role, &cfg, &caller.entry).await?;
    Ok(Envelope {
        data: Some(json!({
            "username": issued.username,
            "password": issued.password.expose_secret(),
        })),
        lease_id: issued.lease.id.clone(),
        lease_duration: issued.lease.expire_at - c.now,
        renewable: true,
        ..Envelope::default()
    }
    .mount("database")
    .ok())
}
