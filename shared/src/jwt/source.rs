//! Where verification keys come from: an OIDC discovery URL, a JWKS URL, or PEM keys in
//! the configuration; and the port that fetches documents over HTTPS ([`JwksSource`]),
//! with its reqwest/rustls adapter ([`HttpJwksSource`]) and an in-memory fake
//! ([`StaticJwksSource`]) for unit tests and benchmarks.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::keys::MAX_DOCUMENT_BYTES;

/// Where a mount's keys come from (exactly one, as Vault's config requires).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeySource {
    /// `oidc_discovery_url`: the issuer; keys from its discovery document's `jwks_uri`.
    Discovery {
        /// The issuer URL (`https://`), without `/.well-known/openid-configuration`.
        url: String,
        /// PEM CA certificates to trust instead of the public roots.
        ca_pem: Option<String>,
    },
    /// `jwks_url`: a JWKS document.
    Jwks {
        /// The JWKS URL (`https://`).
        url: String,
        /// PEM CA certificates to trust instead of the public roots.
        ca_pem: Option<String>,
    },
    /// `jwt_validation_pubkeys` / `pem_keys`: PEM public keys.
    Pems(Vec<String>),
}

impl KeySource {
    /// A short stable key for caches (hashes, never the PEM text itself).
    pub fn cache_key(&self) -> String {
        let h = |s: &str| crate::crypto::sha256_hex(s.as_bytes());
        match self {
            KeySource::Discovery { url, ca_pem } => {
                format!("discovery:{url}:{}", h(ca_pem.as_deref().unwrap_or("")))
            }
            KeySource::Jwks { url, ca_pem } => {
                format!("jwks:{url}:{}", h(ca_pem.as_deref().unwrap_or("")))
            }
            KeySource::Pems(pems) => format!("pems:{}", h(&pems.join("\n"))),
        }
    }
}

/// Why a document could not be fetched. Messages carry no response content.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Not an `https://` URL.
    #[error("the URL must be an absolute https:// URL")]
    NotHttps,
    /// The CA PEM did not parse.
    #[error("the CA certificate PEM does not parse")]
    BadCa,
    /// Connecting, TLS, or reading failed, or it timed out.
    #[error("the issuer could not be reached")]
    Unreachable,
    /// The server answered with a non-2xx status.
    #[error("the issuer answered with HTTP status {0}")]
    Status(u16),
    /// The document is larger than allowed.
    #[error("the issuer's document is too large")]
    TooLarge,
    /// The document is not what was expected (discovery without `jwks_uri`, wrong
    /// issuer, bad JWKS).
    #[error("{0}")]
    Invalid(String),
}

/// Fetches documents over HTTPS (the port behind JWKS and discovery).
#[async_trait]
pub trait JwksSource: Send + Sync {
    /// GETs `url` (which must be `https://`), trusting `ca_pem` instead of the public
    /// roots when given. Returns the body, at most [`MAX_DOCUMENT_BYTES`].
    async fn get(&self, url: &str, ca_pem: Option<&str>) -> Result<Vec<u8>, FetchError>;
}

/// Checks that `url` is an absolute `https://` URL with a host and no userinfo.
pub fn check_https_url(url: &str) -> Result<(), FetchError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| FetchError::NotHttps)?;
    if parsed.scheme() != "https"
        || parsed.host_str().is_none_or(str::is_empty)
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return Err(FetchError::NotHttps);
    }
    Ok(())
}

/// Most certificates one CA field may hold.
pub const MAX_CA_CERTIFICATES: usize = 64;

/// Whether `text` is one or more PEM blocks and nothing else: outside a block only blank
/// lines; each block opened by `-----BEGIN T-----` and closed by `-----END T-----` with
/// the same label on lines of their own, with only base64 lines between. Parsers skip
/// anything else (RFC 7468 allows it), which would let a pasted private key with
/// damaged armor, or a bare base64 body, through a field that is shown on reads.
pub fn only_pem_blocks(text: &str) -> bool {
    let mut open: Option<&str> = None;
    let mut blocks = 0;
    for line in text.lines().map(str::trim) {
        match open {
            None if line.is_empty() => {}
            None => match line
                .strip_prefix("-----BEGIN ")
                .and_then(|l| l.strip_suffix("-----"))
            {
                Some(label) if !label.is_empty() => open = Some(label),
                _ => return false,
            },
            Some(label) => {
                if let Some(end) = line
                    .strip_prefix("-----END ")
                    .and_then(|l| l.strip_suffix("-----"))
                {
                    if end != label {
                        return false;
                    }
                    open = None;
                    blocks += 1;
                } else if !line
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                {
                    return false;
                }
            }
        }
    }
    open.is_none() && blocks > 0
}

/// Checks a CA field (`jwks_ca_pem`, `oidc_discovery_ca_pem`, `kubernetes_ca_cert`):
/// one or more PEM `CERTIFICATE` blocks and nothing else (a private key pasted by
/// mistake is refused, never stored or echoed on reads), at most
/// [`MAX_CA_CERTIFICATES`], each a well-formed X.509 certificate that rustls accepts as
/// a trust anchor. The error names what is wrong, never the field's text.
pub fn check_ca_pem(pem: &str) -> Result<(), &'static str> {
    if !only_pem_blocks(pem) {
        return Err("it may hold only PEM blocks: no text outside them, no damaged armor");
    }
    let blocks = pem::parse_many(pem).map_err(|_| "it is not valid PEM")?;
    if blocks.iter().any(|b| b.tag() != "CERTIFICATE") {
        return Err("it may hold only PEM CERTIFICATE blocks");
    }
    if blocks.len() > MAX_CA_CERTIFICATES {
        return Err("it holds too many certificates");
    }
    ca_client(pem)
        .map(|_| ())
        .map_err(|_| "a certificate in it does not parse")
}

/// A client that trusts exactly the certificates in `pem` (rustls parses each one
/// while building, so a malformed certificate fails here).
fn ca_client(pem: &str) -> Result<reqwest::Client, FetchError> {
    let certs =
        reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|_| FetchError::BadCa)?;
    if certs.is_empty() {
        return Err(FetchError::BadCa);
    }
    let mut b = client_builder().tls_built_in_root_certs(false);
    for c in certs {
        b = b.add_root_certificate(c);
    }
    b.build().map_err(|_| FetchError::BadCa)
}

/// The fetch settings every key-source client shares.
fn client_builder() -> reqwest::ClientBuilder {
    crate::http::client::builder()
        .https_only(true)
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("sigil/", env!("CARGO_PKG_VERSION")))
}

/// The reqwest adapter: rustls, 5 s timeout, at most 3 redirects (all https), one
/// client per CA bundle, kept for the life of the warm function.
#[derive(Default)]
pub struct HttpJwksSource {
    clients: Mutex<HashMap<String, reqwest::Client>>,
}

impl HttpJwksSource {
    /// A source with no clients yet (built on first use per CA bundle).
    pub fn new() -> Self {
        Self::default()
    }

    fn client(&self, ca_pem: Option<&str>) -> Result<reqwest::Client, FetchError> {
        let key = ca_pem
            .map(|p| crate::crypto::sha256_hex(p.as_bytes()))
            .unwrap_or_default();
        let mut clients = self.clients.lock().map_err(|_| FetchError::Unreachable)?;
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let client = match ca_pem {
            Some(pem) => ca_client(pem)?,
            None => client_builder().build().map_err(|_| FetchError::BadCa)?,
        };
        clients.insert(key, client.clone());
        Ok(client)
    }
}

#[async_trait]
impl JwksSource for HttpJwksSource {
    async fn get(&self, url: &str, ca_pem: Option<&str>) -> Result<Vec<u8>, FetchError> {
        check_https_url(url)?;
        let client = self.client(ca_pem)?;
        let mut resp = client.get(url).send().await.map_err(|e| {
            tracing::warn!(error = %e.without_url(), "key document fetch failed");
            FetchError::Unreachable
        })?;
        if !resp.status().is_success() {
            return Err(FetchError::Status(resp.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|_| FetchError::Unreachable)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// An in-memory source: documents by URL, with a count of fetches (tests, benchmarks).
#[derive(Default)]
pub struct StaticJwksSource {
    docs: Mutex<HashMap<String, Vec<u8>>>,
    fetches: std::sync::atomic::AtomicUsize,
}

impl StaticJwksSource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `doc` at `url`.
    pub fn set(&self, url: &str, doc: impl Into<Vec<u8>>) {
        if let Ok(mut d) = self.docs.lock() {
            d.insert(url.to_owned(), doc.into());
        }
    }

    /// How many fetches were made.
    pub fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl JwksSource for StaticJwksSource {
    async fn get(&self, url: &str, _ca_pem: Option<&str>) -> Result<Vec<u8>, FetchError> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.docs
            .lock()
            .map_err(|_| FetchError::Unreachable)?
            .get(url)
            .cloned()
            .ok_or(FetchError::Status(404))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_without_userinfo() {
        assert!(check_https_url("https://token.actions.githubusercontent.com").is_ok());
        for bad in [
            "http://issuer.example",
            "https://user:pw@issuer.example",
            "file:///etc/passwd",
            "issuer.example",
            "https://",
        ] {
            assert_eq!(check_https_url(bad), Err(FetchError::NotHttps), "{bad}");
        }
    }
}
