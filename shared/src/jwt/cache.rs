//! The warm function's cache of verification keys, per key source: fetched once, kept
//! for [`KEYS_TTL_SECS`], refetched early when a token names an unknown `kid` (key
//! rotation at the issuer needs no reconfiguration), but at most once per
//! [`REFETCH_INTERVAL_SECS`] per source, so a flood of made-up `kid`s cannot turn into
//! a flood of fetches. When the issuer cannot be reached, keys up to [`MAX_STALE_SECS`]
//! old are still used.

use std::collections::HashMap;
use std::sync::Arc;

use super::keys::KeySet;
use super::source::{FetchError, JwksSource, KeySource, check_https_url};

/// Seconds fetched keys are used before they are fetched again.
pub const KEYS_TTL_SECS: i64 = 600;
/// Fewest seconds between two fetches for one source (unknown `kid`s, failures).
pub const REFETCH_INTERVAL_SECS: i64 = 10;
/// Oldest keys (seconds) still used while the issuer cannot be reached.
pub const MAX_STALE_SECS: i64 = 86_400;

/// Keys for one source, with the issuer that its discovery document names.
#[derive(Clone, Debug)]
pub struct Keys {
    /// The verification keys.
    pub set: Arc<KeySet>,
    /// The discovery document's `issuer` (discovery sources only).
    pub issuer: Option<String>,
}

struct Entry {
    keys: Option<Keys>,
    fetched_at: i64,
    attempted_at: i64,
}

/// The cache (one per warm function, shared by every mount).
pub struct KeyCache {
    source: Arc<dyn JwksSource>,
    entries: tokio::sync::Mutex<HashMap<String, Entry>>,
}

impl KeyCache {
    /// A cache that fetches through `source`.
    pub fn new(source: Arc<dyn JwksSource>) -> Self {
        Self {
            source,
            entries: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The keys of `src` at `now` (Unix seconds), for a token naming `kid`. Fetches
    /// when there are none yet, when they are older than [`KEYS_TTL_SECS`], or when
    /// `kid` is unknown — unless the last fetch attempt was under
    /// [`REFETCH_INTERVAL_SECS`] ago, in which case the cached keys are returned as
    /// they are (and an unknown `kid` then fails verification).
    pub async fn keys(
        &self,
        src: &KeySource,
        kid: Option<&str>,
        now: i64,
    ) -> Result<Keys, FetchError> {
        let cache_key = src.cache_key();
        let mut entries = self.entries.lock().await;
        if let Some(e) = entries.get(&cache_key) {
            let usable = e.keys.as_ref().filter(|k| {
                now - e.fetched_at < KEYS_TTL_SECS && kid.is_none_or(|kid| k.set.has_kid(kid))
            });
            if let Some(k) = usable {
                return Ok(k.clone());
            }
            if now - e.attempted_at < REFETCH_INTERVAL_SECS {
                return stale(e, now);
            }
        }
        let result = self.load(src).await;
        let entry = entries.entry(cache_key).or_insert(Entry {
            keys: None,
            fetched_at: 0,
            attempted_at: now,
        });
        entry.attempted_at = now;
        match result {
            Ok(keys) => {
                entry.keys = Some(keys.clone());
                entry.fetched_at = now;
                Ok(keys)
            }
            Err(e) => {
                tracing::warn!(error = %e, "verification keys could not be refreshed");
                stale(entry, now).map_err(|_| e)
            }
        }
    }

    /// Fetches and parses the keys of `src` without caching (config writes use this to
    /// check a source before storing it, as Vault does).
    pub async fn load(&self, src: &KeySource) -> Result<Keys, FetchError> {
        let invalid = |e: super::keys::KeysError| FetchError::Invalid(e.to_string());
        match src {
            KeySource::Pems(pems) => Ok(Keys {
                set: Arc::new(KeySet::from_pems(pems).map_err(invalid)?),
                issuer: None,
            }),
            KeySource::Jwks { url, ca_pem } => {
                let doc = self.source.get(url, ca_pem.as_deref()).await?;
                Ok(Keys {
                    set: Arc::new(KeySet::from_jwks(&doc).map_err(invalid)?),
                    issuer: None,
                })
            }
            KeySource::Discovery { url, ca_pem } => {
                let base = url.trim_end_matches('/');
                let doc = self
                    .source
                    .get(
                        &format!("{base}/.well-known/openid-configuration"),
                        ca_pem.as_deref(),
                    )
                    .await?;
                let meta: serde_json::Value = serde_json::from_slice(&doc).map_err(|_| {
                    FetchError::Invalid("the discovery document is not JSON".into())
                })?;
                let issuer = meta.get("issuer").and_then(serde_json::Value::as_str);
                // OpenID Connect Discovery 1.0, section 4.3: the issuer must be the URL
                // the document was fetched for.
                if issuer.map(|i| i.trim_end_matches('/')) != Some(base) {
                    return Err(FetchError::Invalid(
                        "the discovery document's issuer does not match oidc_discovery_url".into(),
                    ));
                }
                let jwks_uri = meta
                    .get("jwks_uri")
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| {
                        FetchError::Invalid("the discovery document has no jwks_uri".into())
                    })?;
                check_https_url(jwks_uri)?;
                let jwks = self.source.get(jwks_uri, ca_pem.as_deref()).await?;
                Ok(Keys {
                    set: Arc::new(KeySet::from_jwks(&jwks).map_err(invalid)?),
                    issuer: issuer.map(str::to_owned),
                })
            }
        }
    }
}

fn stale(e: &Entry, now: i64) -> Result<Keys, FetchError> {
    e.keys
        .as_ref()
        .filter(|_| now - e.fetched_at < MAX_STALE_SECS)
        .cloned()
        .ok_or(FetchError::Unreachable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::source::StaticJwksSource;

    const URL: &str = "https://issuer.example/jwks";

    fn jwks(kids: &[&str]) -> Vec<u8> {
        // A real P-256 public key (x, y from RFC 7515 appendix A.3), under each kid.
        let keys: Vec<_> = kids
            .iter()
            .map(|k| {
                serde_json::json!({"kty": "EC", "crv": "P-256", "kid": k,
                    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})
            })
            .collect();
        serde_json::json!({ "keys": keys }).to_string().into_bytes()
    }

    #[tokio::test]
    async fn unknown_kids_refetch_at_most_once_per_interval() {
        let src = Arc::new(StaticJwksSource::new());
        src.set(URL, jwks(&["k1"]));
        let cache = KeyCache::new(src.clone());
        let s = KeySource::Jwks {
            url: URL.into(),
            ca_pem: None,
        };
        let k = cache.keys(&s, Some("k1"), 1000).await.unwrap();
        assert!(k.set.has_kid("k1"));
        assert_eq!(src.fetches(), 1);
        // Cached: a known kid costs nothing.
        cache.keys(&s, Some("k1"), 1005).await.unwrap();
        assert_eq!(src.fetches(), 1);
        // A flood of made-up kids within the interval: one refetch at most.
        src.set(URL, jwks(&["k1", "k2"]));
        for i in 0..100 {
            let kid = format!("bogus-{i}");
            let k = cache.keys(&s, Some(&kid), 1011).await.unwrap();
            assert!(!k.set.has_kid(&kid));
        }
        assert_eq!(src.fetches(), 2);
        // The rotated-in key was picked up by that refetch.
        assert!(
            cache
                .keys(&s, Some("k2"), 1012)
                .await
                .unwrap()
                .set
                .has_kid("k2")
        );
        assert_eq!(src.fetches(), 2);
        // After the TTL, one fetch again.
        cache
            .keys(&s, Some("k1"), 1011 + KEYS_TTL_SECS)
            .await
            .unwrap();
        assert_eq!(src.fetches(), 3);
    }

    #[tokio::test]
    async fn stale_keys_serve_while_the_issuer_is_down() {
        let src = Arc::new(StaticJwksSource::new());
        src.set(URL, jwks(&["k1"]));
        let cache = KeyCache::new(src.clone());
        let s = KeySource::Jwks {
            url: URL.into(),
            ca_pem: None,
        };
        cache.keys(&s, None, 0).await.unwrap();
        src.set(URL, b"{}".to_vec());
        assert!(cache.keys(&s, None, KEYS_TTL_SECS + 1).await.is_ok());
        assert!(cache.keys(&s, None, MAX_STALE_SECS + 1).await.is_err());
    }
}
