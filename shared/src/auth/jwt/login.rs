//! JWT login (`POST auth/{mount}/login` with `role` and `jwt`): Vault's checks in
//! Vault's order — signature and algorithm, time claims with the role's leeways,
//! issuer, audience, subject, bound claims, user claim, groups, claim mappings — then a
//! Sigil token. Costs one batch read, one transaction, and no fetch while the keys are
//! cached.

use std::collections::BTreeMap;

use secrecy::SecretString;

use super::config::JwtConfig;
use super::role::JwtRole;
use crate::auth::{config_and_role, presented_jwt, read, token_error, verified_claims};
use crate::error::ApiError;
use crate::identity::login::{LoginAt, issue};
use crate::jwt::cache::KeyCache;
use crate::jwt::claims::{self, ClaimError};
use crate::jwt::verify;
use crate::store::Store;
use crate::token::{Limits, Minted};

/// A login request.
pub struct LoginRequest<'a> {
    /// The mount: its name (e.g. `jwt`, `github`) and storage prefix.
    pub mount: crate::auth::MountRef<'a>,
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
    at: &LoginAt,
    now: i64,
) -> Result<Minted, ApiError> {
    let jwt = presented_jwt(req.jwt)?;
    let role_name = if req.role.is_empty() {
        let config: JwtConfig = read(
            store,
            &crate::auth::config_key(req.mount.storage),
            "jwt config",
        )
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
        config_and_role(store, req.mount.storage, &role_name).await?;
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
    meta.insert("role".into(), role_name.clone());
    // The alias: named by the `user_claim` value, with the claim mappings and the
    // role as metadata, as the token's (OpenBao's `createIdentity`).
    let mut alias = at.alias(&user, meta.clone());
    // The group names, matched against the mount's group aliases (OpenBao's
    // `GroupAliases`; none without a `groups_claim`). Not token metadata, as OpenBao.
    alias.groups = Some(if role.groups_claim.is_empty() {
        Vec::new()
    } else {
        claims::groups(&claims, &role.groups_claim).map_err(claim_err)?
    });
    let display = crate::auth::display_name(req.mount.name, &user);
    let params = role
        .token
        .params(&display, meta, &format!("auth/{}/login", req.mount.name));
    issue(store, at, &alias, &params, limits, now).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aws_lc_rs::encoding::AsDer;
    use base64::Engine as _;
    use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
    use serde_json::{Value, json};

    use super::*;
    use crate::auth::{config_key, put, role_key};
    use crate::http::params::Body;
    use crate::jwt::source::StaticJwksSource;
    use crate::store::memory::MemoryStore;

    const JWKS_URL: &str = "https://issuer.test/.well-known/jwks";
    const ISSUER: &str = "https://issuer.test";
    const NOW: i64 = 1_700_000_000;
    const LIMITS: Limits = Limits {
        default_ttl: 3600,
        max_ttl: 7200,
        batch: None,
    };

    fn body(v: Value) -> Body {
        serde_json::from_value(v).unwrap()
    }

    /// An RSA-2048 signing key and its JWK (kid `k1`).
    fn rsa_key() -> (EncodingKey, Jwk) {
        let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n");
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some("k1".into());
        (key, jwk)
    }

    fn sign(key: &EncodingKey, aud: &str) -> SecretString {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("k1".into());
        let claims = json!({
            "iss": ISSUER, "aud": aud, "sub": "repo:acme/api:ref:refs/heads/main",
            "repository": "acme/api", "iat": NOW, "nbf": NOW, "exp": NOW + 300,
        });
        SecretString::from(jsonwebtoken::encode(&header, &claims, key).unwrap())
    }

    /// The issue's cost model: with the keys cached, a login is one batch read and one
    /// transaction, and fetches nothing; a refused token writes nothing.
    #[tokio::test]
    async fn a_cached_login_is_one_read_one_transaction_and_no_fetch() {
        let store = MemoryStore::new();
        let (key, jwk) = rsa_key();
        let source = Arc::new(StaticJwksSource::new());
        source.set(JWKS_URL, json!({ "keys": [jwk] }).to_string());
        let keys = KeyCache::new(source.clone());
        let config =
            JwtConfig::from_body(&body(json!({"jwks_url": JWKS_URL, "bound_issuer": ISSUER})))
                .unwrap();
        put(&store, &config_key("jwt"), &config).await.unwrap();
        let mut role = JwtRole::default();
        role.apply(&body(json!({
            "user_claim": "repository", "bound_audiences": "https://github.com/acme",
            "bound_claims_type": "glob", "bound_claims": {"sub": "repo:acme/*"},
            "token_policies": "deploy",
        })))
        .unwrap();
        put(&store, &role_key("jwt", "deploy"), &role)
            .await
            .unwrap();
        let good = sign(&key, "https://github.com/acme");
        let at = LoginAt::unstored("auth_jwt_0");
        let req = |jwt| LoginRequest {
            mount: crate::auth::MountRef::named("jwt"),
            role: "deploy",
            jwt,
        };

        let m = login(&store, &keys, req(&good), LIMITS, &at, NOW)
            .await
            .unwrap();
        assert_eq!(m.entry.policies, ["default", "deploy"]);
        assert_eq!(source.fetches(), 1, "the first login fetches the JWKS");

        let calls = store.calls();
        login(&store, &keys, req(&good), LIMITS, &at, NOW)
            .await
            .unwrap();
        assert_eq!(store.calls() - calls, 2, "one batch read, one transaction");
        assert_eq!(source.fetches(), 1, "the cached JWKS is used");

        let before = store.dump();
        let wrong = sign(&key, "https://github.com/other");
        let e = login(&store, &keys, req(&wrong), LIMITS, &at, NOW)
            .await
            .unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(store.dump() == before, "a refused login writes nothing");
        assert_eq!(source.fetches(), 1);
    }
}
