//! The JWT/OIDC auth method's paths (rules: [`crate::auth::jwt`]).

use crate::auth::jwt::config::JwtConfig;
use crate::auth::jwt::login::LoginRequest;
use crate::auth::jwt::role::JwtRole;
use crate::error::ApiError;
use crate::http::envelope::Reply;
use crate::http::params::{Body, normalize_list};
use crate::op;

use super::auth_mount as am;
use super::ctx::Ctx;
use super::spec::PathSpec;

/// JWT's paths. Logins go to the login function, the rest to admin.
pub static PATHS: &[PathSpec] = &[
    PathSpec::new("login", &[op!(Update, Login, login)]).public(),
    PathSpec::new(
        "config",
        &[
            op!(Read, Admin, read_config),
            op!(Update, Admin, write_config),
        ],
    )
    .normalize(normalize_config),
    PathSpec::new("role", &[op!(List, Admin, am::list_roles)]),
    PathSpec::new(
        "role/{name}",
        &[
            op!(Read, Admin, read_role),
            op!(Update, Admin, write_role),
            op!(Delete, Admin, am::delete_role),
        ],
    )
    .existence_check()
    .normalize(normalize_role),
];

pub(super) fn normalize_config(body: &mut Body) {
    normalize_list(body, "jwt_supported_algs", false);
}

pub(super) fn normalize_role(body: &mut Body) {
    crate::token_fields::canonicalize(body);
    for name in [
        "bound_audiences",
        "bound_service_account_names",
        "bound_service_account_namespaces",
    ] {
        normalize_list(body, name, false);
    }
}

async fn login(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (role, jwt) = am::login_params(c)?;
    let req = LoginRequest {
        mount: am::mount_ref(c),
        role: &role,
        jwt: &jwt,
    };
    let minted = crate::auth::jwt::login::login(
        c.store(),
        c.svc.jwt_keys,
        req,
        c.limits(),
        &c.login_at(),
        c.now,
    )
    .await?;
    Ok(am::login_reply(c, &minted))
}

async fn read_config(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    am::read_config::<JwtConfig>(c).await
}

async fn write_config(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    am::write_config::<JwtConfig>(c).await
}

async fn read_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    am::read_role::<JwtRole>(c).await
}

async fn write_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    am::write_role::<JwtRole>(c).await
}
