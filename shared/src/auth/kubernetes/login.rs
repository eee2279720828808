//! Kubernetes login (`POST auth/kubernetes/login` with `role` and `jwt`): the
//! service-account token is verified against the cluster's keys, its issuer checked,
//! its audience checked when the role names one, and its service account matched
//! against the role's name and namespace globs.

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde_json::Value;

use super::config::KubernetesConfig;
use super::role::{AliasNameSource, KubernetesRole};
use crate::auth::{config_and_role, presented_jwt, token_error, verified_claims};
use crate::error::ApiError;
use crate::identity::login::{LoginAt, issue};
use crate::jwt::cache::KeyCache;
use crate::jwt::claims::claim;
use crate::jwt::glob;
use crate::jwt::verify::{self, Claims, Leeways};
use crate::store::Store;
use crate::token::{Limits, Minted};

/// The service account a token names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccount {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID (empty when the token has none).
    pub uid: String,
}

/// Reads the service account from a projected token (`kubernetes.io` claim) or a
/// legacy secret-based token (`kubernetes.io/serviceaccount/...` claims), and checks
/// that `sub` agrees (`system:serviceaccount:NS:NAME`).
pub fn service_account(claims: &Claims) -> Option<ServiceAccount> {
    let s = |c: Option<&Value>| c.and_then(Value::as_str).map(str::to_owned);
    let sa = if let Some(ns) = s(claim(claims, "/kubernetes.io/namespace")) {
        ServiceAccount {
            namespace: ns,
            name: s(claim(claims, "/kubernetes.io/serviceaccount/name"))?,
            uid: s(claim(claims, "/kubernetes.io/serviceaccount/uid")).unwrap_or_default(),
        }
    } else {
        ServiceAccount {
            namespace: s(claims.get("kubernetes.io/serviceaccount/namespace"))?,
            name: s(claims.get("kubernetes.io/serviceaccount/service-account.name"))?,
            uid: s(claims.get("kubernetes.io/serviceaccount/service-account.uid"))
                .unwrap_or_default(),
        }
    };
    let sub = format!("system:serviceaccount:{}:{}", sa.namespace, sa.name);
    (claims.get("sub").and_then(Value::as_str) == Some(sub.as_str())).then_some(sa)
}

/// A token refusal as Vault's Kubernetes method answers it: 403 with the reason (a 400
/// from validation becomes one); 503 and the rest unchanged.
fn denied(e: ApiError) -> ApiError {
    match e {
        ApiError::BadRequest(reason) => ApiError::Denied(reason),
        other => other,
    }
}

fn bound(globs: &[String], value: &str) -> bool {
    globs.iter().any(|g| glob::matches(g, value))
}

/// Logs in with a service-account token for `role` on `mount` (name and storage). 400
/// for a missing token or role and an unknown role; 403 with the reason for a token
/// that fails validation (`error validating token: ...`) or names a service account
/// the role does not bind (as Vault's Kubernetes method); 503 when the cluster's keys cannot be fetched; 404 when the mount was disabled since
/// the function read its table (`guard`, [`crate::mounts::guard`]).
#[allow(clippy::too_many_arguments)]
pub async fn login(
    store: &dyn Store,
    keys: &KeyCache,
    mount: crate::auth::MountRef<'_>,
    role_name: &str,
    jwt: &SecretString,
    limits: Limits,
    at: &LoginAt,
    now: i64,
) -> Result<Minted, ApiError> {
    let jwt = presented_jwt(jwt)?;
    if role_name.is_empty() {
        return Err(ApiError::bad("missing role"));
    }
    crate::auth::checked_role_name(role_name)?;
    let (config, role): (KubernetesConfig, KubernetesRole) =
        config_and_role(store, mount.storage, role_name).await?;
    // Kubernetes tokens get the clock-skew leeway only.
    let leeways = Leeways {
        clock_skew: 0,
        expiration: -1,
        not_before: -1,
    };
    let (claims, discovered_issuer) = verified_claims(
        keys,
        &config.key_source(),
        jwt,
        verify::ASYMMETRIC_ALGS,
        leeways,
        now,
    )
    .await
    .map_err(denied)?;
    if !config.disable_iss_validation {
        let issuer = (!config.issuer.is_empty())
            .then_some(config.issuer.as_str())
            .or(discovered_issuer.as_deref());
        verify::check_issuer(&claims, issuer)
            .map_err(token_error)
            .map_err(denied)?;
    }
    if !role.audience.is_empty() {
        verify::check_audience(&claims, std::slice::from_ref(&role.audience))
            .map_err(token_error)
            .map_err(denied)?;
    }
    let sa = service_account(&claims).ok_or_else(|| {
        ApiError::Denied("token is not a Kubernetes service-account token".into())
    })?;
    if !bound(&role.bound_service_account_names, &sa.name)
        || !bound(&role.bound_service_account_namespaces, &sa.namespace)
    {
        return Err(ApiError::Denied(
            "service account name or namespace not authorized".into(),
        ));
    }
    // The alias (OpenBao's `getAliasName` and login metadata): named by the service
    // account's UID, or `namespace/name` when the role's `alias_name_source` is
    // `serviceaccount_name`.
    let alias_name = match role.alias_name_source {
        AliasNameSource::ServiceAccountUid => sa.uid.clone(),
        AliasNameSource::ServiceAccountName => format!("{}/{}", sa.namespace, sa.name),
    };
    if alias_name.is_empty() || alias_name == "/" {
        return Err(ApiError::Denied(
            "the service account has no UID to name its alias by".into(),
        ));
    }
    let alias_meta = BTreeMap::from([
        ("service_account_name".to_owned(), sa.name.clone()),
        ("service_account_namespace".to_owned(), sa.namespace.clone()),
        ("service_account_secret_name".to_owned(), String::new()),
        ("service_account_uid".to_owned(), sa.uid.clone()),
    ]);
    let alias = at.alias(&alias_name, alias_meta);
    let meta = BTreeMap::from([
        ("role".to_owned(), role_name.to_owned()),
        ("service_account_name".to_owned(), sa.name.clone()),
        ("service_account_namespace".to_owned(), sa.namespace.clone()),
        ("service_account_uid".to_owned(), sa.uid.clone()),
    ]);
    let display = crate::auth::display_name(mount.name, &format!("{}-{}", sa.namespace, sa.name));
    let params = role
        .token
        .params(&display, meta, &format!("auth/{}/login", mount.name));
    issue(store, at, &alias, &params, limits, now).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projected_and_legacy_tokens_name_their_service_account() {
        let projected = json!({
            "sub": "system:serviceaccount:prod:api",
            "kubernetes.io": {"namespace": "prod", "serviceaccount": {"name": "api", "uid": "u1"}},
        });
        let sa = service_account(projected.as_object().unwrap()).unwrap();
        assert_eq!(
            (sa.namespace.as_str(), sa.name.as_str(), sa.uid.as_str()),
            ("prod", "api", "u1")
        );
        let legacy = json!({
            "sub": "system:serviceaccount:dev:web",
            "kubernetes.io/serviceaccount/namespace": "dev",
            "kubernetes.io/serviceaccount/service-account.name": "web",
        });
        assert_eq!(
            service_account(legacy.as_object().unwrap()).unwrap().name,
            "web"
        );
        let lying = json!({
            "sub": "system:serviceaccount:kube-system:admin",
            "kubernetes.io": {"namespace": "prod", "serviceaccount": {"name": "api"}},
        });
        assert_eq!(service_account(lying.as_object().unwrap()), None);
    }
}
