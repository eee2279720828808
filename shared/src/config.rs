//! Configuration, parsed once from the environment at cold start.

use crate::http::params::parse_duration;

/// Sigil's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// DynamoDB table name (`SIGIL_TABLE`, default `sigil`).
    pub table: String,
    /// KMS key that wraps data keys (`SIGIL_KMS_KEY_ID`, default `alias/sigil`); used when
    /// adding keyring versions.
    pub kms_key_id: String,
    /// KV v2 mount names (`SIGIL_KV_MOUNTS`, comma-separated, default `secret`).
    pub kv_mounts: Vec<String>,
    /// Default token TTL in seconds (`SIGIL_DEFAULT_TTL`, default 768h as in Vault).
    pub default_ttl: i64,
    /// System max token TTL in seconds (`SIGIL_MAX_TTL`, default 768h as in Vault).
    pub max_ttl: i64,
    /// JWT/OIDC auth mount names under `auth/` (`SIGIL_JWT_MOUNTS`, comma-separated,
    /// default `jwt`), e.g. `jwt,github`.
    pub jwt_mounts: Vec<String>,
    /// Kubernetes auth mount names under `auth/` (`SIGIL_KUBERNETES_MOUNTS`, default
    /// `kubernetes`).
    pub kubernetes_mounts: Vec<String>,
    /// Seconds a function keeps a compiled policy set before reading the policies
    /// again (`SIGIL_POLICY_CACHE_TTL`, default 30s; `0` reads them on every request).
    pub policy_cache_ttl: i64,
}

/// A configuration value that did not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid {name}: {reason}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// Why.
    pub reason: String,
}

/// Auth mount names served by Sigil's fixed methods, which JWT and Kubernetes mounts
/// cannot take.
pub const RESERVED_AUTH_MOUNTS: &[&str] = &["approle", "token", "aws"];

/// Vault's default system TTL and max TTL: 32 days.
pub const VAULT_SYSTEM_TTL: i64 = 768 * 3600;

impl Default for Config {
    fn default() -> Self {
        Self {
            table: "sigil".into(),
            kms_key_id: "alias/sigil".into(),
            kv_mounts: vec!["secret".into()],
            jwt_mounts: vec!["jwt".into()],
            kubernetes_mounts: vec!["kubernetes".into()],
            default_ttl: VAULT_SYSTEM_TTL,
            max_ttl: VAULT_SYSTEM_TTL,
            policy_cache_ttl: 30,
        }
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the configuration through `get` (for tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let dur = |name: &'static str, default: i64| -> Result<i64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => parse_duration(&serde_json::Value::String(v))
                    .and_then(|s| {
                        if s > 0 {
                            Ok(s)
                        } else {
                            Err("must be positive".into())
                        }
                    })
                    .map_err(|reason| ConfigError { name, reason }),
            }
        };
        let mounts = |name: &'static str, default: Vec<String>, reserved: &[&str]| {
            let list: Vec<String> = match get(name) {
                None => default,
                Some(v) => v
                    .split(',')
                    .map(|m| m.trim().trim_matches('/').to_owned())
                    .filter(|m| !m.is_empty())
                    .collect(),
            };
            match list
                .iter()
                .find(|m| m.contains('/') || reserved.contains(&m.as_str()))
            {
                Some(m) => Err(ConfigError {
                    name,
                    reason: format!("mount {m:?} is reserved or contains '/'"),
                }),
                None => Ok(list),
            }
        };
        let kv_mounts = mounts(
            "SIGIL_KV_MOUNTS",
            d.kv_mounts,
            &["sys", "auth", "aws", "identity", "cubbyhole"],
        )?;
        let jwt_mounts = mounts("SIGIL_JWT_MOUNTS", d.jwt_mounts, RESERVED_AUTH_MOUNTS)?;
        let kubernetes_mounts = mounts(
            "SIGIL_KUBERNETES_MOUNTS",
            d.kubernetes_mounts,
            RESERVED_AUTH_MOUNTS,
        )?;
        if let Some(m) = jwt_mounts.iter().find(|m| kubernetes_mounts.contains(m)) {
            return Err(ConfigError {
                name: "SIGIL_KUBERNETES_MOUNTS",
                reason: format!("mount {m:?} is also a JWT mount"),
            });
        }
        let cfg = Self {
            table: get("SIGIL_TABLE").unwrap_or(d.table),
            kms_key_id: get("SIGIL_KMS_KEY_ID").unwrap_or(d.kms_key_id),
            kv_mounts,
            jwt_mounts,
            kubernetes_mounts,
            default_ttl: dur("SIGIL_DEFAULT_TTL", d.default_ttl)?,
            max_ttl: dur("SIGIL_MAX_TTL", d.max_ttl)?,
            policy_cache_ttl: match get("SIGIL_POLICY_CACHE_TTL") {
                None => d.policy_cache_ttl,
                Some(v) => {
                    parse_duration(&serde_json::Value::String(v)).map_err(|reason| ConfigError {
                        name: "SIGIL_POLICY_CACHE_TTL",
                        reason,
                    })?
                }
            },
        };
        if cfg.default_ttl > cfg.max_ttl {
            return Err(ConfigError {
                name: "SIGIL_DEFAULT_TTL",
                reason: "exceeds SIGIL_MAX_TTL".into(),
            });
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_env() {
        let c = Config::from_lookup(|k| match k {
            "SIGIL_KV_MOUNTS" => Some("secret, kv/".into()),
            "SIGIL_MAX_TTL" => Some("24h".into()),
            "SIGIL_DEFAULT_TTL" => Some("1h".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.kv_mounts, vec!["secret", "kv"]);
        assert_eq!((c.default_ttl, c.max_ttl), (3600, 86400));
        assert!(Config::from_lookup(|k| (k == "SIGIL_KV_MOUNTS").then(|| "sys".into())).is_err());
        assert!(Config::from_lookup(|k| (k == "SIGIL_MAX_TTL").then(|| "0".into())).is_err());
        assert!(
            Config::from_lookup(|k| (k == "SIGIL_JWT_MOUNTS").then(|| "approle".into())).is_err()
        );
        assert!(
            Config::from_lookup(|k| match k {
                "SIGIL_JWT_MOUNTS" | "SIGIL_KUBERNETES_MOUNTS" => Some("k8s".into()),
                _ => None,
            })
            .is_err()
        );
        let c = Config::from_lookup(|k| (k == "SIGIL_JWT_MOUNTS").then(|| "jwt, github".into()))
            .unwrap();
        assert_eq!(c.jwt_mounts, ["jwt", "github"]);
        assert_eq!(c.kubernetes_mounts, ["kubernetes"]);
    }
}
