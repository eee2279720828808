//! The AppRole auth method's paths (rules: [`crate::approle`]).

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::approle as ar;
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::{Body, BodyExt, normalize_list};
use crate::op;
use crate::token;

use super::ctx::Ctx;
use super::reply::keys_reply;
use super::spec::PathSpec;

/// AppRole's paths. Logins go to the login function, the rest to admin.
pub static PATHS: &[PathSpec] = &[
    PathSpec::new("login", &[op!(Update, Login, login)]).public(),
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
    PathSpec::new(
        "role/{name}/role-id",
        &[
            op!(Read, Admin, read_role_id),
            op!(Update, Admin, write_role_id),
        ],
    ),
    PathSpec::new(
        "role/{name}/secret-id",
        &[
            op!(Update, Admin, generate_secret_id),
            op!(List, Admin, list_accessors),
        ],
    )
    .normalize(normalize_secret_id),
    PathSpec::new(
        "role/{name}/secret-id/lookup",
        &[op!(Update, Admin, lookup_secret_id)],
    ),
    PathSpec::new(
        "role/{name}/secret-id/destroy",
        &[
            op!(Update, Admin, destroy_secret_id),
            op!(Delete, Admin, destroy_secret_id),
        ],
    ),
    PathSpec::new(
        "role/{name}/secret-id-accessor/lookup",
        &[op!(Update, Admin, lookup_accessor)],
    ),
    PathSpec::new(
        "role/{name}/secret-id-accessor/destroy",
        &[
            op!(Update, Admin, destroy_accessor),
            op!(Delete, Admin, destroy_accessor),
        ],
    ),
];

/// The mount as AppRole keeps it: storage prefix and name.
fn mount<'a>(c: &'a Ctx<'a>) -> ar::Mount<'a> {
    ar::Mount {
        prefix: &c.mount.storage,
        name: c.mount.name(),
    }
}

fn normalize_role(body: &mut Body) {
    crate::token_fields::canonicalize(body);
    normalize_list(body, "secret_id_bound_cidrs", false);
}

fn normalize_secret_id(body: &mut Body) {
    normalize_list(body, "cidr_list", false);
    normalize_list(body, "token_bound_cidrs", false);
}

async fn login(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let role_id = c.body.string("role_id")?.unwrap_or_default();
    if role_id.is_empty() {
        return Err(ApiError::bad("missing role_id"));
    }
    let secret_id = c.body.string("secret_id")?.map(SecretString::from);
    let minted = ar::login(
        c.store(),
        mount(c),
        &role_id,
        secret_id.as_ref(),
        c.req.remote_addr.as_deref(),
        c.limits(),
        &c.login_at(),
        c.now,
    )
    .await?;
    let ttl = minted.entry.expire_at - c.now;
    Ok(Envelope {
        auth: Some(token::auth_json(&minted.entry, Some(&minted.token), ttl)),
        warnings: minted.warnings.clone(),
        ..Envelope::default()
    }
    .mount("approle")
    .ok())
}

async fn list_roles(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    keys_reply(ar::list_roles(c.store(), mount(c)).await?)
}

/// The role name of the path, lowercased: Vault's AppRole role names are
/// case-insensitive (`ROLE` and `role` are one role).
fn role_name(c: &Ctx<'_>) -> String {
    c.param("name").to_lowercase()
}

async fn read_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let r = ar::read_role(c.store(), mount(c), &role_name(c))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(r.role.to_json()).mount("approle").ok())
}

async fn write_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = &role_name(c);
    // Vault's existence check: creating a role needs `create`, changing one `update`.
    c.grant
        .require_write(ar::read_role(c.store(), mount(c), name).await?.is_some())?;
    ar::write_role(c.store(), mount(c), name, c.body, c.now).await?;
    Ok(Reply::NoContent)
}

async fn delete_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    ar::delete_role(c.store(), mount(c), &role_name(c), c.now).await?;
    Ok(Reply::NoContent)
}

async fn read_role_id(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let r = ar::read_role(c.store(), mount(c), &role_name(c))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(json!({ "role_id": r.role_id }))
        .mount("approle")
        .ok())
}

async fn write_role_id(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let id = c
        .body
        .string("role_id")?
        .ok_or_else(|| ApiError::bad("missing role_id"))?;
    ar::set_role_id(c.store(), mount(c), &role_name(c), &id).await?;
    Ok(Reply::NoContent)
}

async fn list_accessors(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = &role_name(c);
    if ar::read_role(c.store(), mount(c), name).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    keys_reply(ar::list_accessors(c.store(), mount(c), name).await?)
}

async fn generate_secret_id(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let s = ar::generate_secret_id(c.store(), mount(c), &role_name(c), c.body, c.now).await?;
    Ok(Envelope::data(json!({
        "secret_id": s.secret_id.expose_secret(),
        "secret_id_accessor": s.accessor,
        "secret_id_ttl": s.ttl,
        "secret_id_num_uses": s.num_uses,
    }))
    .mount("approle")
    .ok())
}

/// The secret ID item a lookup or destroy names: by `secret_id_accessor` or by
/// `secret_id`, only within the role.
async fn find(c: &Ctx<'_>, by_accessor: bool) -> Result<Option<crate::store::Item>, ApiError> {
    let name = &role_name(c);
    if by_accessor {
        let acc = c
            .body
            .string("secret_id_accessor")?
            .ok_or_else(|| ApiError::bad("missing secret_id_accessor"))?;
        ar::find_secret(c.store(), mount(c), name, None, Some(&acc)).await
    } else {
        let sid = c
            .body
            .string("secret_id")?
            .map(SecretString::from)
            .ok_or_else(|| ApiError::bad("missing secret_id"))?;
        ar::find_secret(c.store(), mount(c), name, Some(sid.expose_secret()), None).await
    }
}

/// A lookup of an unknown (or destroyed, or expired) secret ID answers 204 with no
/// body, as Vault.
async fn lookup(c: &Ctx<'_>, by_accessor: bool) -> Result<Reply, ApiError> {
    let Some(item) = find(c, by_accessor).await? else {
        return Ok(Reply::NoContent);
    };
    Ok(Envelope::data(ar::secret_json(&item)?)
        .mount("approle")
        .ok())
}

async fn destroy(c: &Ctx<'_>, by_accessor: bool) -> Result<Reply, ApiError> {
    if let Some(item) = find(c, by_accessor).await? {
        ar::destroy_secret(c.store(), mount(c), &role_name(c), &item).await?;
    }
    Ok(Reply::NoContent)
}

async fn lookup_secret_id(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    lookup(c, false).await
}

async fn lookup_accessor(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    lookup(c, true).await
}

async fn destroy_secret_id(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    destroy(c, false).await
}

async fn destroy_accessor(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    destroy(c, true).await
}
