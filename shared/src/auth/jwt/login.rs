//! JWT login (`POST auth/{mount}/login` with `role` and `jwt`): Vault's checks in
//! Vault's order — signature and algorithm, time claims with the role's leeways,
//! issuer, audience, subject, bound claims, user claim, groups, claim mappings — then a
//! Sigil token. Costs one batch read, one transaction, and no fetch while the keys are
//! cached.

use std::collections::BTreeMap;

use secrecy::SecretString;

use super::config::JwtConfig;
use super::role::JwtRole;
use crate::auth::{
    config_and_role, issue_token, presented_jwt, read, token_error, verified_claims,
};
use crate::error::ApiError;
use crate::jwt::cache::KeyCache;
use crate::jwt::claims::{self, ClaimError};
use crate::jwt::verify;
use crate::store::Store;
use crate::token::{Limits, Minted};

/// A login request.
pub struct LoginRequest<'a> {
    /// The mount, e.g. `jwt` or `github`.
    pub mount: &'a str,
    /// The role (empty: the config's `default_role`).
    pub role: &'a str,
    /// The token presented.
    pub jwt: &'a SecretString,
}

fn claim_err(e: ClaimError) -> ApiError {
    ApiError::bad(format!("error validating claims: {e}"))
}

/// Logs in: returns the minted (and stored) token. 400 with Vault-style messages for
/// every refusal (`error validating token: ...`, `error validating claims: ...`,
/// unknown role, missing config); 503 when the issuer's keys cannot be fetched.
pub async fn login(
    store: &dyn Store,
    keys: &KeyCache,
    req: LoginRequest<'_>,
    limits: Limits,
    now: i64,
) -> Result<Minted, ApiError> {
    let jwt = presented_jwt(req.jwt)?;
    let role_name = if req.role.is_empty() {
        let config: JwtConfig = read(store, &crate::auth::config_key(req.mount), "jwt config")
            .await?
            .ok_or_else(|| ApiError::bad("could not load configuration"))?;
        if config.default_role.is_empty() {
            return Err(ApiError::bad("missing role"));
        }
        config.default_role
    } else {
        req.role.to_owned()
    };
    crate::auth::checked_role_name(&role_name)?;
    let (config, role): (JwtConfig, JwtRole) =
        config_and_role(store, req.mount, &role_name).await?;
    let (claims, discovered_issuer) = verified_claims(
        keys,
        &config.key_source(),
        jwt,
        &config.algorithms(),
        role.leeways(),
        now,
    )
    .await?;
    let issuer = (!config.bound_issuer.is_empty())
        .then_some(config.bound_issuer.as_str())
        .or(discovered_issuer.as_deref());
    verify::check_issuer(&claims, issuer).map_err(token_error)?;
    verify::check_audience(&claims, &role.bound_audiences).map_err(token_error)?;
    claims::check_subject(&claims, &role.bound_subject).map_err(claim_err)?;
    claims::check_bound_claims(&claims, &role.bound_claims, role.bound_claims_type)
        .map_err(claim_err)?;
    let user = claims::user(&claims, &role.user_claim).map_err(claim_err)?;
    let mut meta: BTreeMap<String, String> =
        claims::mapped_metadata(&claims, &role.claim_mappings).map_err(claim_err)?;
    if !role.groups_claim.is_empty() {
        let groups = claims::groups(&claims, &role.groups_claim).map_err(claim_err)?;
        meta.insert("groups".into(), groups.join(","));
    }
    meta.insert("role".into(), role_name.clone());
    let display = crate::auth::display_name(req.mount, &user);
    let params = role
        .token
        .params(&display, meta, &format!("auth/{}/login", req.mount));
    issue_token(store, &params, limits, now).await
}
