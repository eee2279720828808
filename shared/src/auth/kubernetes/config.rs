//! A Kubernetes mount's config (`auth/kubernetes/config`). Vault's fields where they
//! apply (`kubernetes_host`, `kubernetes_ca_cert`, `pem_keys`, `issuer`,
//! `disable_iss_validation`), plus the JWT method's key-source fields: the keys come
//! from `pem_keys`, `jwks_url`, or OIDC discovery at `oidc_discovery_url` (default: the
//! `issuer`).

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::jwt::source::{KeySource, check_https_url};

/// A Kubernetes mount's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KubernetesConfig {
    /// The API server URL (recorded; Sigil does not call it).
    pub kubernetes_host: String,
    /// PEM CA of the cluster; trusted for discovery and JWKS fetches unless
    /// `oidc_discovery_ca_pem` / `jwks_ca_pem` say otherwise.
    pub kubernetes_ca_cert: String,
    /// PEM public keys of the service-account signer.
    pub pem_keys: Vec<String>,
    /// The service-account issuer (`--service-account-issuer`), checked against `iss`.
    pub issuer: String,
    /// Skip the `iss` check (Vault's option; not recommended).
    pub disable_iss_validation: bool,
    /// OIDC discovery URL (default: `issuer`, when no other key source is set).
    pub oidc_discovery_url: String,
    /// PEM CA for discovery fetches (default: `kubernetes_ca_cert`, else public roots).
    pub oidc_discovery_ca_pem: String,
    /// JWKS URL.
    pub jwks_url: String,
    /// PEM CA for the JWKS fetch (default: `kubernetes_ca_cert`, else public roots).
    pub jwks_ca_pem: String,
}

impl KubernetesConfig {
    /// Builds a config from a write's body (a write replaces the config). 400 unless
    /// exactly one key source results (`pem_keys`, `jwks_url`, `oidc_discovery_url` or
    /// an `issuer` to discover from), for non-`https` URLs, and for Vault's
    /// `token_reviewer_jwt` (Sigil never calls the TokenReview API).
    pub fn from_body(body: &Body) -> Result<Self, ApiError> {
        if body
            .string("token_reviewer_jwt")?
            .is_some_and(|v| !v.is_empty())
        {
            return Err(ApiError::bad(
                "\"token_reviewer_jwt\" is not used: Sigil checks service-account tokens \
                 against the cluster's OIDC issuer keys, not the TokenReview API",
            ));
        }
        let s = |name: &str| -> Result<String, ApiError> {
            Ok(body.string(name)?.unwrap_or_default().trim().to_owned())
        };
        let mut c = Self {
            kubernetes_host: s("kubernetes_host")?,
            kubernetes_ca_cert: s("kubernetes_ca_cert")?,
            pem_keys: body.list("pem_keys")?.unwrap_or_default(),
            issuer: s("issuer")?,
            disable_iss_validation: body.boolean("disable_iss_validation")?.unwrap_or(false),
            oidc_discovery_url: s("oidc_discovery_url")?,
            oidc_discovery_ca_pem: s("oidc_discovery_ca_pem")?,
            jwks_url: s("jwks_url")?,
            jwks_ca_pem: s("jwks_ca_pem")?,
        };
        if c.pem_keys.is_empty() && c.jwks_url.is_empty() && c.oidc_discovery_url.is_empty() {
            c.oidc_discovery_url = c.issuer.clone();
        }
        let sources = [
            !c.oidc_discovery_url.is_empty(),
            !c.jwks_url.is_empty(),
            !c.pem_keys.is_empty(),
        ];
        if sources.iter().filter(|x| **x).count() != 1 {
            return Err(ApiError::bad(
                "exactly one of 'pem_keys', 'jwks_url' or 'oidc_discovery_url' (or an \
                 'issuer' to discover) must be set",
            ));
        }
        crate::auth::check_https_fields(&[
            ("oidc_discovery_url", &c.oidc_discovery_url),
            ("jwks_url", &c.jwks_url),
        ])?;
        crate::auth::check_ca_fields(&[
            ("kubernetes_ca_cert", &c.kubernetes_ca_cert),
            ("oidc_discovery_ca_pem", &c.oidc_discovery_ca_pem),
            ("jwks_ca_pem", &c.jwks_ca_pem),
        ])?;
        // Recorded and shown on reads, never called: still no credentials in it.
        if !c.kubernetes_host.is_empty() && check_https_url(&c.kubernetes_host).is_err() {
            return Err(ApiError::bad(
                "\"kubernetes_host\" must be an absolute https:// URL without credentials",
            ));
        }
        if c.pem_keys.len() > crate::jwt::keys::MAX_KEYS {
            return Err(ApiError::bad("too many \"pem_keys\""));
        }
        crate::auth::check_pem_keys("pem_keys", &c.pem_keys)?;
        Ok(c)
    }

    /// Where the keys come from.
    pub fn key_source(&self) -> KeySource {
        let ca = |own: &str| {
            let pem = if own.is_empty() {
                &self.kubernetes_ca_cert
            } else {
                own
            };
            (!pem.is_empty()).then(|| pem.to_owned())
        };
        if !self.pem_keys.is_empty() {
            KeySource::Pems(self.pem_keys.clone())
        } else if !self.jwks_url.is_empty() {
            KeySource::Jwks {
                url: self.jwks_url.clone(),
                ca_pem: ca(&self.jwks_ca_pem),
            }
        } else {
            KeySource::Discovery {
                url: self.oidc_discovery_url.clone(),
                ca_pem: ca(&self.oidc_discovery_ca_pem),
            }
        }
    }

    /// The config as a read returns it.
    pub fn to_json(&self) -> Json {
        json!({
            "kubernetes_host": self.kubernetes_host,
            "kubernetes_ca_cert": self.kubernetes_ca_cert,
            "pem_keys": self.pem_keys,
            "issuer": self.issuer,
            "disable_iss_validation": self.disable_iss_validation,
            "disable_local_ca_jwt": true,
            "oidc_discovery_url": self.oidc_discovery_url,
            "oidc_discovery_ca_pem": self.oidc_discovery_ca_pem,
            "jwks_url": self.jwks_url,
            "jwks_ca_pem": self.jwks_ca_pem,
        })
    }
}

impl crate::auth::MountConfig for KubernetesConfig {
    const WHAT: &'static str = "kubernetes config";
    fn from_body(body: &Body) -> Result<Self, ApiError> {
        KubernetesConfig::from_body(body)
    }
    fn key_source(&self) -> KeySource {
        KubernetesConfig::key_source(self)
    }
    fn to_json(&self) -> Json {
        KubernetesConfig::to_json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Json) -> Body {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn pem_keys_must_be_public_keys_and_are_never_echoed() {
        for (tag, why) in [
            ("PRIVATE KEY", "private key"),
            ("RSA PRIVATE KEY", "private key"),
            ("CERTIFICATE", "certificate"),
        ] {
            let pem = format!(
                "-----BEGIN {tag}-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END {tag}-----"
            );
            let e = KubernetesConfig::from_body(&body(
                json!({"issuer": "https://i", "pem_keys": [pem]}),
            ))
            .unwrap_err()
            .to_string();
            assert!(e.contains("\"pem_keys\"") && e.contains(why), "{e}");
            assert!(!e.contains("MIIEvQ"), "{e}");
        }
    }

    #[test]
    fn ca_fields_take_certificates_only_and_are_never_echoed() {
        let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
        let bad_cert = "-----BEGIN CERTIFICATE-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END CERTIFICATE-----";
        for field in ["kubernetes_ca_cert", "oidc_discovery_ca_pem", "jwks_ca_pem"] {
            for (pem, why) in [
                (key, "only PEM CERTIFICATE blocks"),
                (bad_cert, "does not parse"),
                ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "only PEM blocks"),
                (
                    "----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
                    "only PEM blocks",
                ),
                (
                    "-----BEGIN CERTIFICATE-----\nMIIE\n-----END CERTIFICATE-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
                    "only PEM blocks",
                ),
            ] {
                let e =
                    KubernetesConfig::from_body(&body(json!({"issuer": "https://i", field: pem})))
                        .unwrap_err()
                        .to_string();
                assert!(
                    e.contains(&format!("\"{field}\"")) && e.contains(why),
                    "{e}"
                );
                assert!(!e.contains("MIIEvQ"), "{e}");
            }
        }
    }

    #[test]
    fn the_issuer_is_discovered_and_the_host_holds_no_credentials() {
        let c = KubernetesConfig::from_body(&body(json!({
            "kubernetes_host": "https://10.0.0.1:443",
            "issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/ABC",
        })))
        .unwrap();
        assert!(matches!(c.key_source(), KeySource::Discovery { url, .. } if url == c.issuer));
        for b in [
            json!({"kubernetes_host": "https://admin:pw@10.0.0.1", "issuer": "https://i"}),
            json!({"kubernetes_host": "http://10.0.0.1", "issuer": "https://i"}),
            json!({"issuer": "https://i", "token_reviewer_jwt": "x"}),
            json!({"kubernetes_host": "https://k"}),
            json!({"issuer": "https://i", "pem_keys": ["k"], "jwks_url": "https://j"}),
            json!({"issuer": "https://i", "pem_keys": ["-----BEGIN PRIVATE KEY-----\nMIIEvQ==\n-----END PRIVATE KEY-----"]}),
            json!({"issuer": "https://i", "pem_keys": ["-----BEGIN CERTIFICATE-----\nMIIEvQ==\n-----END CERTIFICATE-----"]}),
            json!({"issuer": "https://i", "pem_keys": ["----BEGIN PRIVATE KEY-----\nMIIEvQ==\n-----END PRIVATE KEY-----"]}),
        ] {
            assert!(
                KubernetesConfig::from_body(&body(b.clone())).is_err(),
                "{b}"
            );
        }
    }
}
