//! JWT login (`POST auth/{mount}/login` with `role` and `jwt`): Vault's checks in
//! Vault's order — signature and algorithm, time claims with the role's leeways,
//! issuer, audience, subject, bound claims, user claim, groups, claim mappings — then a
//! Sigil token. Costs one batch read, one transaction, and no fetch while the keys are
//! cached.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use super::config::JwtConfig;
use super::role::JwtRole;
use crate::auth::{config_and_role, fetch_error, issue_token, read};
use crate::error::ApiError;
use crate::jwt::cache::KeyCache;
use crate::jwt::claims::{self, ClaimError};
use crate::jwt::verify::{self, JwtError, MAX_JWT_BYTES};
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

fn token_err(e: JwtError) -> ApiError {
    ApiError::bad(format!("error validating token: {e}"))
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
    let jwt = req.jwt.expose_secret();
    if jwt.is_empty() {
        return Err(ApiError::bad("missing jwt"));
    }
    if jwt.len() > MAX_JWT_BYTES {
        return Err(token_err(JwtError::TooLarge));
    }
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
    let parsed = verify::parse(jwt).map_err(token_err)?;
    let fetched = keys
        .keys(&config.key_source(), parsed.kid.as_deref(), now)
        .await
        .map_err(fetch_error)?;
    let claims = verify::verify(
        &parsed,
        &fetched.set,
        &config.algorithms(),
        role.leeways(),
        now,
    )
    .map_err(token_err)?;
    let issuer = (!config.bound_issuer.is_empty())
        .then_some(config.bound_issuer.as_str())
        .or(fetched.issuer.as_deref());
    verify::check_issuer(&claims, issuer).map_err(token_err)?;
    verify::check_audience(&claims, &role.bound_audiences).map_err(token_err)?;
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
