//! `auth/aws/config/client`: where logins' signed requests must point and what they
//! must carry (Vault's aws auth "Configure client" API, the fields that apply to the
//! `iam` method).
//!
//! Sigil calls no AWS API with credentials of its own here: it only forwards the
//! client's signed request. So Vault's `access_key`/`secret_key` (and `role_arn`,
//! `identity_token_audience`, `use_sts_region_from_client=true`) are refused with a
//! clear message; the endpoints Vault uses for IAM and EC2 lookups (`endpoint`,
//! `iam_endpoint`, `ec2_endpoint`), `max_retries` and `identity_token_ttl` are
//! type-checked, accepted and ignored, with a warning when set.

use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

/// `X-Amz-*` headers a signed request may carry (Vault's default allowed list).
pub(crate) const AMZ_ALLOWED: &[&str] = &[
    "x-amz-algorithm",
    "x-amz-content-sha256",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-signature",
    "x-amz-signedheaders",
    "x-amz-user-agent",
];

use super::stored::{self, Stored};
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::store::{Key, Store, Write};

use super::Mount;

/// The STS endpoint used when none is configured (Vault's default).
pub const DEFAULT_STS_ENDPOINT: &str = "https://sts.amazonaws.com";
/// Longest endpoint URL accepted, in bytes.
pub const MAX_URL_BYTES: usize = 512;
/// Longest `iam_server_id_header_value`, in bytes.
pub const MAX_SERVER_ID_BYTES: usize = 256;
/// Most entries in `allowed_sts_header_values`.
pub const MAX_ALLOWED_HEADERS: usize = 16;

/// The stored key of the configuration.
pub(crate) fn key(m: Mount<'_>) -> Key {
    Key::new(m.config_partition(), "client")
}

/// The client configuration (Vault's names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientConfig {
    /// The STS endpoint, as its origin (`scheme://host[:port]`, no path): signed
    /// requests must name exactly it, and Sigil forwards them to it.
    pub sts_endpoint: String,
    /// When set, the region the requests' SigV4 credential scope must name.
    pub sts_region: String,
    /// When set, the value the signed `X-Vault-AWS-IAM-Server-ID` header must carry
    /// (it binds a signed request to this server, so another server it was sent to
    /// cannot replay it here).
    pub iam_server_id_header_value: String,
    /// Extra `X-Amz-*` request headers a login may carry besides the standard SigV4
    /// ones (lowercase).
    pub allowed_sts_header_values: Vec<String>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            sts_endpoint: DEFAULT_STS_ENDPOINT.into(),
            sts_region: String::new(),
            iam_server_id_header_value: String::new(),
            allowed_sts_header_values: Vec::new(),
        }
    }
}

/// A parsed STS endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsEndpoint {
    /// The URL requests go to: the origin with path `/`.
    pub url: Url,
}

impl StsEndpoint {
    /// The `Host` header a request to it carries: the host, and the port when it is
    /// not the scheme's default (as HTTP clients and SigV4 signers write it).
    pub fn authority(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        }
    }
}

/// Parses an endpoint URL: absolute `http` or `https`, a host, no user or password, no
/// query or fragment, no path but `/`. Returns its origin (`https://sts.amazonaws.com`).
pub fn parse_endpoint(text: &str) -> Result<StsEndpoint, ApiError> {
    let bad = |why: &str| ApiError::bad(format!("invalid \"sts_endpoint\": {why}"));
    let text = text.trim();
    if text.len() > MAX_URL_BYTES {
        return Err(bad("too long"));
    }
    let url = Url::parse(text).map_err(|_| bad("not an absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must not carry a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        return Err(bad("it must be an origin, without path, query or fragment"));
    }
    let origin = url.origin().ascii_serialization();
    let url = Url::parse(&format!("{origin}/")).map_err(|_| bad("not an absolute URL"))?;
    Ok(StsEndpoint { url })
}

fn check_region(r: &str) -> Result<(), ApiError> {
    let ok = r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad(
            "invalid \"sts_region\": a region ID such as us-east-1",
        ))
    }
}

fn check_server_id(v: &str) -> Result<(), ApiError> {
    let printable = v.bytes().all(|b| (0x20..0x7f).contains(&b));
    if v.len() > MAX_SERVER_ID_BYTES || !printable || v.trim() != v {
        return Err(ApiError::bad(format!(
            "invalid \"iam_server_id_header_value\": at most {MAX_SERVER_ID_BYTES} printable ASCII characters, without leading or trailing spaces"
        )));
    }
    Ok(())
}

fn header_names(list: Vec<String>) -> Result<Vec<String>, ApiError> {
    if list.len() > MAX_ALLOWED_HEADERS {
        return Err(ApiError::bad(format!(
            "at most {MAX_ALLOWED_HEADERS} entries in \"allowed_sts_header_values\""
        )));
    }
    let mut out = Vec::with_capacity(list.len());
    for h in list {
        if h.len() > 64 || reqwest::header::HeaderName::from_bytes(h.as_bytes()).is_err() {
            return Err(ApiError::bad(
                "invalid header name in \"allowed_sts_header_values\"",
            ));
        }
        out.push(h.to_ascii_lowercase());
    }
    out.sort();
    out.dedup();
    // Only X-Amz-* headers are checked against the list (Vault's rule): any other name
    // (Host, Authorization, Content-Type, ...) is always checked on its own, and
    // SigV4's own X-Amz-* headers (X-Amz-Date, ...) are always allowed. Listing them
    // would suggest a control that does not exist.
    let meaningless: Vec<&str> = out
        .iter()
        .map(String::as_str)
        .filter(|h| !h.starts_with("x-amz-") || AMZ_ALLOWED.contains(h))
        .collect();
    if !meaningless.is_empty() {
        return Err(ApiError::bad(format!(
            "\"allowed_sts_header_values\" may list only X-Amz-* headers beyond SigV4's own \
             (other headers are checked by Sigil and SigV4's are always allowed); \
             refused: {}",
            meaningless.join(", ")
        )));
    }
    Ok(out)
}

impl ClientConfig {
    /// The configured STS endpoint.
    pub fn endpoint(&self) -> Result<StsEndpoint, ApiError> {
        parse_endpoint(&self.sts_endpoint)
    }

    /// Applies the parameters present in `body` (Vault updates only what is given; an
    /// empty `sts_endpoint` restores the default). Returns warnings for parameters
    /// Sigil accepts but does not use; 400 for invalid values and for parameters that
    /// would need AWS credentials of Sigil's own.
    pub fn apply(&mut self, body: &Body) -> Result<Vec<String>, ApiError> {
        for (field, why) in [
            (
                "access_key",
                "Sigil forwards the client's signed request and needs no AWS credentials of its own: leave \"access_key\" and \"secret_key\" out",
            ),
            (
                "secret_key",
                "Sigil forwards the client's signed request and needs no AWS credentials of its own: leave \"access_key\" and \"secret_key\" out",
            ),
            (
                "role_arn",
                "\"role_arn\" is not supported: Sigil makes no AWS calls with credentials of its own",
            ),
            (
                "identity_token_audience",
                "\"identity_token_audience\" is not supported: Sigil makes no AWS calls with credentials of its own",
            ),
        ] {
            if body.string(field)?.is_some_and(|v| !v.is_empty()) {
                return Err(ApiError::bad(why));
            }
        }
        if body.boolean("use_sts_region_from_client")? == Some(true) {
            return Err(ApiError::bad(
                "\"use_sts_region_from_client\" is not supported: configure \"sts_endpoint\" and \"sts_region\"",
            ));
        }
        let mut warnings = Vec::new();
        for field in ["endpoint", "iam_endpoint", "ec2_endpoint"] {
            if body.string(field)?.is_some_and(|v| !v.is_empty()) {
                warnings.push(format!(
                    "\"{field}\" is ignored: Sigil makes no IAM or EC2 calls for this method"
                ));
            }
        }
        // Type-checked like Vault's (an int and a duration), then ignored.
        match body.get("max_retries") {
            None | Some(Json::Null) => {}
            Some(v) => {
                let n = match v {
                    Json::Number(n) => n.as_i64(),
                    Json::String(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                };
                if n.is_none_or(|n| n < -1) {
                    return Err(ApiError::bad(
                        "invalid \"max_retries\": must be an integer, -1 or more",
                    ));
                }
                warnings.push(
                    "\"max_retries\" is ignored: Sigil forwards each login to STS once".into(),
                );
            }
        }
        if body.duration("identity_token_ttl")?.is_some_and(|t| t != 0) {
            warnings.push(
                "\"identity_token_ttl\" is ignored: Sigil makes no AWS calls with credentials \
                 of its own"
                    .into(),
            );
        }
        if let Some(e) = body.string("sts_endpoint")? {
            self.sts_endpoint = if e.trim().is_empty() {
                DEFAULT_STS_ENDPOINT.to_owned()
            } else {
                parse_endpoint(&e)?.url.origin().ascii_serialization()
            };
        }
        if let Some(r) = body.string("sts_region")? {
            check_region(r.trim())?;
            self.sts_region = r.trim().to_owned();
        }
        if let Some(v) = body.string("iam_server_id_header_value")? {
            check_server_id(&v)?;
            self.iam_server_id_header_value = v;
        }
        if let Some(l) = body.list("allowed_sts_header_values")? {
            self.allowed_sts_header_values = header_names(l)?;
        }
        Ok(warnings)
    }

    /// The configuration as Vault's read returns it (fields Sigil does not use are
    /// shown at their empty values).
    pub fn to_json(&self) -> Json {
        json!({
            "sts_endpoint": self.sts_endpoint,
            "sts_region": self.sts_region,
            "iam_server_id_header_value": self.iam_server_id_header_value,
            "allowed_sts_header_values": self.allowed_sts_header_values,
            "use_sts_region_from_client": false,
            "access_key": "",
            "endpoint": "",
            "iam_endpoint": "",
            "max_retries": -1,
            "role_arn": "",
            "identity_token_audience": "",
            "identity_token_ttl": 0,
        })
    }
}

/// Reads the configuration; `None` when it was never written.
pub async fn read(
    store: &dyn Store,
    m: Mount<'_>,
) -> Result<Option<Stored<ClientConfig>>, ApiError> {
    match store.get(&key(m)).await? {
        Some(item) => Ok(Some(stored::decode(&item, "aws auth config")?)),
        None => Ok(None),
    }
}

/// Creates or updates the configuration from `body`; returns the warnings.
pub async fn write(store: &dyn Store, m: Mount<'_>, body: &Body) -> Result<Vec<String>, ApiError> {
    stored::update(
        store,
        &key(m),
        "aws auth config",
        |cfg: &mut ClientConfig| cfg.apply(body),
    )
    .await
}

/// Deletes the configuration (logins then use the defaults). Idempotent.
pub async fn delete(store: &dyn Store, m: Mount<'_>) -> Result<(), ApiError> {
    store
        .write(Write::Delete {
            key: key(m),
            cond: None,
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    fn body(v: Json) -> Body {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn endpoints_are_origins() {
        let e = parse_endpoint("https://sts.amazonaws.com").unwrap();
        assert_eq!(e.url.as_str(), "https://sts.amazonaws.com/");
        assert_eq!(e.authority(), "sts.amazonaws.com");
        let e = parse_endpoint("http://127.0.0.1:8211/").unwrap();
        assert_eq!(e.authority(), "127.0.0.1:8211");
        let e = parse_endpoint("HTTPS://STS.us-east-1.AMAZONAWS.com:443").unwrap();
        assert_eq!(e.url.as_str(), "https://sts.us-east-1.amazonaws.com/");
        for bad in [
            "sts.amazonaws.com",
            "ftp://sts.amazonaws.com",
            "https://user:pw@sts.amazonaws.com",
            "https://user@sts.amazonaws.com",
            "https://sts.amazonaws.com/path",
            "https://sts.amazonaws.com/?a=b",
            "https://sts.amazonaws.com/#x",
            "file:///etc/passwd",
            "https://",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_and_unsupported_fields_are_refused_clearly() {
        for (b, needle) in [
            (
                json!({"access_key": "AKIA", "secret_key": "s"}),
                "no AWS credentials",
            ),
            (json!({"secret_key": "s"}), "no AWS credentials"),
            (
                json!({"role_arn": "arn:aws:iam::123456789012:role/x"}),
                "role_arn",
            ),
            (json!({"use_sts_region_from_client": true}), "sts_region"),
            (json!({"sts_region": "US East"}), "sts_region"),
            (json!({"iam_server_id_header_value": "a\nb"}), "printable"),
            (
                json!({"allowed_sts_header_values": "bad header"}),
                "header name",
            ),
            (
                json!({"allowed_sts_header_values": ["X-Amz-Foo", "Host", "Authorization"]}),
                "refused: authorization, host",
            ),
            (
                json!({"allowed_sts_header_values": "X-Amz-Date,Content-Type"}),
                "refused: content-type, x-amz-date",
            ),
            (
                json!({"allowed_sts_header_values": "X-Vault-AWS-IAM-Server-ID"}),
                "refused: x-vault-aws-iam-server-id",
            ),
            (json!({"max_retries": "abc"}), "max_retries"),
            (json!({"max_retries": 1.5}), "max_retries"),
            (json!({"max_retries": -2}), "max_retries"),
            (json!({"max_retries": [3]}), "max_retries"),
            (json!({"max_retries": true}), "max_retries"),
            (json!({"identity_token_ttl": "soon"}), "identity_token_ttl"),
            (json!({"identity_token_ttl": {}}), "identity_token_ttl"),
        ] {
            let e = ClientConfig::default().apply(&body(b)).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
        let mut c = ClientConfig::default();
        let w = c
            .apply(&body(
                json!({"access_key": "", "iam_endpoint": "https://iam.example", "max_retries": 3}),
            ))
            .unwrap();
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(c, ClientConfig::default());
        let w = c
            .apply(&body(json!({"max_retries": "-1", "identity_token_ttl": 0})))
            .unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
    }

    #[tokio::test]
    async fn partial_updates_and_defaults() {
        let store = MemoryStore::new();
        assert!(
            read(&store, crate::auth_aws::Mount::DEFAULT)
                .await
                .unwrap()
                .is_none()
        );
        write(&store, crate::auth_aws::Mount::DEFAULT,
            &body(json!({"sts_endpoint": "http://127.0.0.1:8211", "iam_server_id_header_value": "sigil.example"})),
        )
        .await
        .unwrap();
        write(
            &store,
            crate::auth_aws::Mount::DEFAULT,
            &body(json!({"sts_region": "us-east-1", "allowed_sts_header_values": "X-Amz-Foo"})),
        )
        .await
        .unwrap();
        let c = read(&store, crate::auth_aws::Mount::DEFAULT)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.rev, 2);
        assert_eq!(c.doc.sts_endpoint, "http://127.0.0.1:8211");
        assert_eq!(c.doc.iam_server_id_header_value, "sigil.example");
        assert_eq!(c.doc.sts_region, "us-east-1");
        assert_eq!(c.doc.allowed_sts_header_values, ["x-amz-foo"]);
        write(
            &store,
            crate::auth_aws::Mount::DEFAULT,
            &body(json!({"sts_endpoint": ""})),
        )
        .await
        .unwrap();
        let c = read(&store, crate::auth_aws::Mount::DEFAULT)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.doc.sts_endpoint, DEFAULT_STS_ENDPOINT);
        assert!(
            write(
                &store,
                crate::auth_aws::Mount::DEFAULT,
                &body(json!({"sts_endpoint": "nope"}))
            )
            .await
            .is_err()
        );
        assert_eq!(
            read(&store, crate::auth_aws::Mount::DEFAULT)
                .await
                .unwrap()
                .unwrap()
                .rev,
            3,
            "a refused write changes nothing"
        );
        delete(&store, crate::auth_aws::Mount::DEFAULT)
            .await
            .unwrap();
        assert!(
            read(&store, crate::auth_aws::Mount::DEFAULT)
                .await
                .unwrap()
                .is_none()
        );
    }
}
