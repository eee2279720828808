//! The Kubernetes auth method's paths (rules: [`crate::auth::kubernetes`]).

use crate::auth::kubernetes::config::KubernetesConfig;
use crate::auth::kubernetes::role::KubernetesRole;
use crate::error::ApiError;
use crate::http::envelope::Reply;
use crate::op;

use super::auth_mount as am;
use super::ctx::Ctx;
use super::jwt::{normalize_config, normalize_role};
use super::spec::PathSpec;

/// Kubernetes' paths. Logins go to the login function, the rest to admin.
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

async fn login(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (role, jwt) = am::login_params(c)?;
    let minted = crate::auth::kubernetes::login::login(
        c.store(),
        c.svc.jwt_keys,
        am::mount_ref(c),
        &role,
        &jwt,
        c.limits(),
        &c.login_at(),
        c.now,
    )
    .await?;
    Ok(am::login_reply(c, &minted))
}

async fn read_config(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    am::read_config::<KubernetesConfig>(c).await
}

async fn write_config(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    am::write_config::<KubernetesConfig>(c).await
}

async fn read_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    am::read_role::<KubernetesRole>(c).await
}

async fn write_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    am::write_role::<KubernetesRole>(c).await
}
