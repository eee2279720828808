//! A JWT mount's config (`auth/{mount}/config`), with Vault's field names: exactly one
//! key source (`oidc_discovery_url`, `jwks_url`, `jwt_validation_pubkeys`), optional CA
//! PEMs for the HTTPS fetches, `bound_issuer`, `jwt_supported_algs`, `default_role`.

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::jwt::source::KeySource;
use crate::jwt::verify::{ASYMMETRIC_ALGS, parse_alg};

/// A JWT mount's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JwtConfig {
    /// The issuer's URL for OIDC discovery (`https://`).
    pub oidc_discovery_url: String,
    /// PEM CA certificates for the discovery and JWKS fetches (default: public roots).
    pub oidc_discovery_ca_pem: String,
    /// A JWKS URL (`https://`).
    pub jwks_url: String,
    /// PEM CA certificates for the JWKS fetch (default: public roots).
    pub jwks_ca_pem: String,
    /// PEM public keys.
    pub jwt_validation_pubkeys: Vec<String>,
    /// The `iss` every token must carry (default with discovery: the discovered issuer).
    pub bound_issuer: String,
    /// Accepted signing algorithms (default: every asymmetric one Sigil verifies).
    pub jwt_supported_algs: Vec<String>,
    /// The role used when a login names none.
    pub default_role: String,
}

/// Fields of Vault's config for its browser OIDC flow, which Sigil does not serve.
const OIDC_FLOW_FIELDS: &[&str] = &["oidc_client_id", "oidc_client_secret"];

impl JwtConfig {
    /// Builds a config from a write's body. Like Vault, a write replaces the whole
    /// config. 400 unless exactly one key source is given, for non-`https` URLs, for an
    /// algorithm outside [`ASYMMETRIC_ALGS`] (HMAC and `none` never), and for the
    /// browser OIDC flow's client fields.
    pub fn from_body(body: &Body) -> Result<Self, ApiError> {
        for f in OIDC_FLOW_FIELDS {
            if body.string(f)?.is_some_and(|v| !v.is_empty()) {
                return Err(ApiError::bad(format!(
                    "\"{f}\" is for Vault's browser OIDC flow, which Sigil does not serve; \
                     use JWT roles"
                )));
            }
        }
        let s = |name: &str| -> Result<String, ApiError> {
            Ok(body.string(name)?.unwrap_or_default().trim().to_owned())
        };
        let c = Self {
            oidc_discovery_url: s("oidc_discovery_url")?,
            oidc_discovery_ca_pem: s("oidc_discovery_ca_pem")?,
            jwks_url: s("jwks_url")?,
            jwks_ca_pem: s("jwks_ca_pem")?,
            jwt_validation_pubkeys: body.list("jwt_validation_pubkeys")?.unwrap_or_default(),
            bound_issuer: s("bound_issuer")?,
            jwt_supported_algs: body.list("jwt_supported_algs")?.unwrap_or_default(),
            default_role: s("default_role")?,
        };
        let sources = [
            !c.oidc_discovery_url.is_empty(),
            !c.jwks_url.is_empty(),
            !c.jwt_validation_pubkeys.is_empty(),
        ];
        if sources.iter().filter(|x| **x).count() != 1 {
            return Err(ApiError::bad(
                "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set",
            ));
        }
        crate::auth::check_https_fields(&[
            ("oidc_discovery_url", &c.oidc_discovery_url),
            ("jwks_url", &c.jwks_url),
        ])?;
        crate::auth::check_ca_fields(&[
            ("oidc_discovery_ca_pem", &c.oidc_discovery_ca_pem),
            ("jwks_ca_pem", &c.jwks_ca_pem),
        ])?;
        if c.jwt_validation_pubkeys.len() > crate::jwt::keys::MAX_KEYS {
            return Err(ApiError::bad("too many \"jwt_validation_pubkeys\""));
        }
        crate::auth::check_pem_keys("jwt_validation_pubkeys", &c.jwt_validation_pubkeys)?;
        for a in &c.jwt_supported_algs {
            if parse_alg(a).is_none() {
                return Err(ApiError::bad(format!(
                    "unsupported signing algorithm in \"jwt_supported_algs\"; allowed: {}",
                    alg_names()
                )));
            }
        }
        if !c.default_role.is_empty() {
            super::super::checked_role_name(&c.default_role)?;
        }
        Ok(c)
    }

    /// Where the keys come from.
    pub fn key_source(&self) -> KeySource {
        let ca = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        if !self.oidc_discovery_url.is_empty() {
            KeySource::Discovery {
                url: self.oidc_discovery_url.clone(),
                ca_pem: ca(&self.oidc_discovery_ca_pem),
            }
        } else if !self.jwks_url.is_empty() {
            KeySource::Jwks {
                url: self.jwks_url.clone(),
                ca_pem: ca(&self.jwks_ca_pem),
            }
        } else {
            KeySource::Pems(self.jwt_validation_pubkeys.clone())
        }
    }

    /// The accepted algorithms.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        if self.jwt_supported_algs.is_empty() {
            ASYMMETRIC_ALGS.to_vec()
        } else {
            self.jwt_supported_algs
                .iter()
                .filter_map(|a| parse_alg(a))
                .collect()
        }
    }

    /// The config as Vault's read returns it.
    pub fn to_json(&self) -> Json {
        json!({
            "oidc_discovery_url": self.oidc_discovery_url,
            "oidc_discovery_ca_pem": self.oidc_discovery_ca_pem,
            "jwks_url": self.jwks_url,
            "jwks_ca_pem": self.jwks_ca_pem,
            "jwt_validation_pubkeys": self.jwt_validation_pubkeys,
            "bound_issuer": self.bound_issuer,
            "jwt_supported_algs": self.jwt_supported_algs,
            "default_role": self.default_role,
            "oidc_client_id": "",
            "oidc_response_mode": "",
            "oidc_response_types": [],
            "provider_config": {},
            "namespace_in_state": false,
        })
    }
}

impl crate::auth::MountConfig for JwtConfig {
    const WHAT: &'static str = "jwt config";
    fn from_body(body: &Body) -> Result<Self, ApiError> {
        JwtConfig::from_body(body)
    }
    fn key_source(&self) -> KeySource {
        JwtConfig::key_source(self)
    }
    fn to_json(&self) -> Json {
        JwtConfig::to_json(self)
    }
}

fn alg_names() -> String {
    ASYMMETRIC_ALGS
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Json) -> Body {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn exactly_one_key_source() {
        for b in [
            json!({}),
            json!({"jwks_url": "https://a/jwks", "oidc_discovery_url": "https://a"}),
        ] {
            assert!(JwtConfig::from_body(&body(b)).is_err());
        }
        let c = JwtConfig::from_body(&body(
            json!({"oidc_discovery_url": "https://token.actions.githubusercontent.com"}),
        ))
        .unwrap();
        assert!(matches!(c.key_source(), KeySource::Discovery { .. }));
        assert_eq!(c.algorithms(), ASYMMETRIC_ALGS);
    }

    #[test]
    fn hmac_none_and_plain_http_are_refused() {
        for b in [
            json!({"jwks_url": "https://a/jwks", "jwt_supported_algs": ["HS256"]}),
            json!({"jwks_url": "https://a/jwks", "jwt_supported_algs": "RS256,none"}),
            json!({"jwks_url": "http://a/jwks"}),
            json!({"oidc_discovery_url": "https://a", "oidc_client_secret": "s"}),
        ] {
            assert!(JwtConfig::from_body(&body(b.clone())).is_err(), "{b}");
        }
    }
}
