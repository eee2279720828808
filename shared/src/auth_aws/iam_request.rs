//! Vault's `iam` login fields: a signed `sts:GetCallerIdentity` request, decoded
//! ([`IamLogin::from_body`]) and checked ([`IamLogin::verify`]) BEFORE Sigil forwards
//! it, so that Sigil only ever sends STS one thing: a `GetCallerIdentity` to the
//! configured endpoint.
//!
//! The fields, as Vault's CLI and client libraries send them: `iam_http_request_method`
//! (`POST`), `iam_request_url`, `iam_request_body` and `iam_request_headers`, each
//! base64 (standard alphabet, padded); the headers are a JSON object of header name to
//! a string or a list of one string (Go's `http.Header`), or that object itself.
//!
//! The checks (Vault's, made stricter where Vault relies on STS to refuse): method
//! `POST`; URL exactly the configured endpoint (scheme, host, port) with path `/` and no
//! query; body a form of exactly `Action=GetCallerIdentity` and `Version=2011-06-15`;
//! an `Authorization` header holding a SigV4 signature for service `sts` (and the
//! configured `sts_region`, if any) whose `SignedHeaders` include `host`; a `Host`
//! header, when given, naming the endpoint; `X-Amz-*` headers only from SigV4's own
//! (plus `allowed_sts_header_values`), as Vault allows; no framing or hop-by-hop
//! headers; and, when `iam_server_id_header_value` is configured, an
//! `X-Vault-AWS-IAM-Server-ID` header with exactly that value, among the signed ones.
//!
//! Malformed fields get specific 400s (they depend on nothing stored); a request that
//! is well formed but fails a check is refused with a reason for the log, which the
//! login turns into its one uniform message.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value as Json;

use super::SERVER_ID_HEADER;
use super::config::{AMZ_ALLOWED, ClientConfig};
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};

/// Longest decoded `iam_request_url`, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Longest decoded `iam_request_body`, in bytes.
pub const MAX_BODY_BYTES: usize = 1024;
/// Longest decoded `iam_request_headers` (the JSON text), in bytes.
pub const MAX_HEADERS_BYTES: usize = 16 * 1024;
/// Most headers in `iam_request_headers`.
pub const MAX_HEADERS: usize = 32;
/// Longest header name, in bytes.
pub const MAX_HEADER_NAME_BYTES: usize = 64;
/// Longest header value, in bytes (a session token is a few KiB at most).
pub const MAX_HEADER_VALUE_BYTES: usize = 8 * 1024;
/// Longest `iam_http_request_method`, in bytes.
const MAX_METHOD_BYTES: usize = 16;

/// The only body Sigil forwards, as its form pairs.
pub const ACTION: (&str, &str) = ("Action", "GetCallerIdentity");
/// The API version of [`ACTION`].
pub const VERSION: (&str, &str) = ("Version", "2011-06-15");

/// The login fields Vault's `iam` method takes.
pub const FIELDS: [&str; 4] = [
    "iam_http_request_method",
    "iam_request_url",
    "iam_request_body",
    "iam_request_headers",
];

/// Framing and hop-by-hop headers: a forwarded request never carries the client's.
const FORBIDDEN: &[&str] = &[
    "connection",
    "expect",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers that carry credentials: forwarded marked sensitive.
const SENSITIVE: &[&str] = &["authorization", "x-amz-security-token"];

/// The decoded `iam` login fields. `Debug` shows header names only: the headers carry
/// the signature and, for temporary credentials, the session token.
#[derive(Clone)]
pub struct IamLogin {
    /// `iam_http_request_method`.
    pub method: String,
    /// `iam_request_url`, decoded.
    pub url: String,
    /// `iam_request_body`, decoded.
    pub body: String,
    /// `iam_request_headers`, decoded: lowercase name and value, one per name.
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for IamLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IamLogin")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("body_bytes", &self.body.len())
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The request Sigil sends STS. `Debug` shows the URL and header names only.
#[derive(Clone)]
pub struct StsRequest {
    /// The configured endpoint, path `/`.
    pub url: Url,
    /// The form body, exactly as signed.
    pub body: String,
    /// The headers to send (without `Host` and `Content-Length`, which the HTTP client
    /// writes from the URL and the body); credentials are marked sensitive.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl std::fmt::Debug for StsRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsRequest")
            .field("url", &self.url.as_str())
            .field("body_bytes", &self.body.len())
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The largest base64 text of `max` bytes.
const fn b64_len(max: usize) -> usize {
    max.div_ceil(3) * 4
}

fn decode_b64(body: &Body, field: &str, max: usize) -> Result<String, ApiError> {
    let text = body
        .string(field)?
        .ok_or_else(|| ApiError::bad(format!("missing {field}")))?;
    if text.is_empty() {
        return Err(ApiError::bad(format!("missing {field}")));
    }
    if text.len() > b64_len(max) {
        return Err(ApiError::bad(format!(
            "\"{field}\" is too large (at most {max} bytes decoded)"
        )));
    }
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| ApiError::bad(format!("failed to base64 decode {field}")))?;
    if bytes.len() > max {
        return Err(ApiError::bad(format!(
            "\"{field}\" is too large (at most {max} bytes decoded)"
        )));
    }
    String::from_utf8(bytes).map_err(|_| ApiError::bad(format!("{field} is not valid UTF-8")))
}

fn header_object(body: &Body) -> Result<serde_json::Map<String, Json>, ApiError> {
    const F: &str = "iam_request_headers";
    let parsed = match body.get(F) {
        None | Some(Json::Null) => return Err(ApiError::bad(format!("missing {F}"))),
        Some(Json::Object(o)) => {
            let size = serde_json::to_string(o)
                .map(|s| s.len())
                .unwrap_or(usize::MAX);
            if size > MAX_HEADERS_BYTES {
                return Err(ApiError::bad(format!(
                    "\"{F}\" is too large (at most {MAX_HEADERS_BYTES} bytes)"
                )));
            }
            return Ok(o.clone());
        }
        Some(Json::String(_)) => decode_b64(body, F, MAX_HEADERS_BYTES)?,
        Some(_) => {
            return Err(ApiError::bad(format!(
                "{F} must be base64-encoded JSON or a JSON object"
            )));
        }
    };
    match serde_json::from_str::<Json>(&parsed) {
        Ok(Json::Object(o)) => Ok(o),
        _ => Err(ApiError::bad(format!("{F} must be a JSON object"))),
    }
}

fn parse_headers(obj: serde_json::Map<String, Json>) -> Result<Vec<(String, String)>, ApiError> {
    let bad = |why: &str| ApiError::bad(format!("invalid iam_request_headers: {why}"));
    if obj.is_empty() {
        return Err(ApiError::bad("missing iam_request_headers"));
    }
    if obj.len() > MAX_HEADERS {
        return Err(bad(&format!("at most {MAX_HEADERS} headers")));
    }
    let mut out: Vec<(String, String)> = Vec::with_capacity(obj.len());
    for (name, value) in obj {
        let value = match value {
            Json::String(s) => s,
            Json::Array(mut a) if a.len() == 1 => match a.pop() {
                Some(Json::String(s)) => s,
                _ => return Err(bad("each value must be a string or a list of one string")),
            },
            _ => return Err(bad("each value must be a string or a list of one string")),
        };
        if name.len() > MAX_HEADER_NAME_BYTES || HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(bad("a header name is not valid"));
        }
        if value.len() > MAX_HEADER_VALUE_BYTES
            || HeaderValue::from_str(&value).is_err()
            || value.bytes().any(|b| b.is_ascii_control() && b != b'\t')
        {
            return Err(bad(
                "a header value is too long or holds invalid characters",
            ));
        }
        let lower = name.to_ascii_lowercase();
        if out.iter().any(|(n, _)| *n == lower) {
            return Err(bad("a header is given twice"));
        }
        out.push((lower, value));
    }
    Ok(out)
}

/// A SigV4 `Authorization` header's parts Sigil checks.
#[derive(Debug, PartialEq, Eq)]
struct SigV4 {
    region: String,
    service: String,
    signed_headers: Vec<String>,
}

fn parse_authorization(value: &str) -> Option<SigV4> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        let slot = match k {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return None,
        };
        if slot.replace(v).is_some() {
            return None;
        }
    }
    let signature = signature?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let scope: Vec<&str> = credential?.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = scope.as_slice() else {
        return None;
    };
    if key_id.is_empty() || date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let signed_headers: Vec<String> = signed?.split(';').map(str::to_owned).collect();
    if signed_headers
        .iter()
        .any(|h| h.is_empty() || h.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return None;
    }
    Some(SigV4 {
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers,
    })
}

fn body_is_get_caller_identity(body: &str) -> bool {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let want = |(k, v): (&str, &str)| pairs.iter().any(|(pk, pv)| pk == k && pv == v);
    pairs.len() == 2 && want(ACTION) && want(VERSION)
}

fn is_form_content_type(v: &str) -> bool {
    let media = v.split(';').next().unwrap_or_default().trim();
    media.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

impl IamLogin {
    /// Whether `body` holds any of Vault's `iam` fields (then it must hold all).
    pub fn present(body: &Body) -> bool {
        FIELDS
            .iter()
            .any(|f| !matches!(body.get(*f), None | Some(Json::Null)))
    }

    /// Decodes the `iam` fields of a login body. 400 for a missing field, a field over
    /// its limit ([`MAX_URL_BYTES`], [`MAX_BODY_BYTES`], [`MAX_HEADERS_BYTES`],
    /// [`MAX_HEADERS`] headers of at most [`MAX_HEADER_VALUE_BYTES`]), bad base64, JSON
    /// that is not an object of string values, an invalid header, or a header given
    /// twice (names compared case-insensitively).
    pub fn from_body(body: &Body) -> Result<Self, ApiError> {
        let method = body
            .string("iam_http_request_method")?
            .filter(|m| !m.is_empty())
            .ok_or_else(|| ApiError::bad("missing iam_http_request_method"))?;
        if method.len() > MAX_METHOD_BYTES {
            return Err(ApiError::bad("invalid iam_http_request_method"));
        }
        Ok(Self {
            method,
            url: decode_b64(body, "iam_request_url", MAX_URL_BYTES)?,
            body: decode_b64(body, "iam_request_body", MAX_BODY_BYTES)?,
            headers: parse_headers(header_object(body)?)?,
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Checks the request against the configuration (see the module documentation)
    /// and returns what to send STS, or the reason it is refused (for the log; never
    /// a secret).
    pub fn verify(&self, cfg: &ClientConfig) -> Result<StsRequest, &'static str> {
        let endpoint = cfg
            .endpoint()
            .map_err(|_| "the configured STS endpoint is invalid")?;
        if self.method != "POST" {
            return Err("the signed request's method is not POST");
        }
        let url = Url::parse(&self.url).map_err(|_| "the signed request's URL does not parse")?;
        let same_endpoint = url.scheme() == endpoint.url.scheme()
            && url.host_str() == endpoint.url.host_str()
            && url.port_or_known_default() == endpoint.url.port_or_known_default()
            && url.username().is_empty()
            && url.password().is_none()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none();
        if !same_endpoint {
            return Err("the signed request is not for the configured STS endpoint");
        }
        if !body_is_get_caller_identity(&self.body) {
            return Err("the signed request is not exactly GetCallerIdentity");
        }
        let authority = endpoint.authority();
        let mut forward = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            match name.as_str() {
                "host" => {
                    if !value.eq_ignore_ascii_case(&authority) {
                        return Err("the signed request's Host is not the STS endpoint");
                    }
                    continue;
                }
                "content-length" => {
                    if value.trim() != self.body.len().to_string() {
                        return Err("the signed request's Content-Length is not its body's");
                    }
                    continue;
                }
                "content-type" if !is_form_content_type(value) => {
                    return Err("the signed request's Content-Type is not a form");
                }
                n if FORBIDDEN.contains(&n) => {
                    return Err("the signed request carries a framing or hop-by-hop header");
                }
                n if n.starts_with("x-amz-")
                    && !AMZ_ALLOWED.contains(&n)
                    && !cfg.allowed_sts_header_values.iter().any(|a| a == n) =>
                {
                    return Err("the signed request carries an X-Amz header that is not allowed");
                }
                _ => {}
            }
            let mut v = HeaderValue::from_str(value).map_err(|_| "invalid header value")?;
            v.set_sensitive(SENSITIVE.contains(&name.as_str()));
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| "invalid header name")?;
            forward.push((n, v));
        }
        let sig = self
            .header("authorization")
            .and_then(parse_authorization)
            .ok_or("the request has no SigV4 Authorization header")?;
        if sig.service != "sts" {
            return Err("the request is signed for another service than STS");
        }
        if !cfg.sts_region.is_empty() && sig.region != cfg.sts_region {
            return Err("the request is signed for another region than sts_region");
        }
        if !sig.signed_headers.iter().any(|h| h == "host") {
            return Err("the request's signature does not cover Host");
        }
        if !cfg.iam_server_id_header_value.is_empty() {
            // Constant time: the comparison's duration says nothing about the value.
            let presented = self.header(SERVER_ID_HEADER).unwrap_or_default();
            if aws_lc_rs::constant_time::verify_slices_are_equal(
                presented.as_bytes(),
                cfg.iam_server_id_header_value.as_bytes(),
            )
            .is_err()
            {
                return Err("the server ID header is missing or wrong");
            }
            if !sig.signed_headers.iter().any(|h| h == SERVER_ID_HEADER) {
                return Err("the server ID header is not signed");
            }
        }
        Ok(StsRequest {
            url: endpoint.url,
            body: self.body.clone(),
            headers: forward,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/sts/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date;x-vault-aws-iam-server-id, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    fn cfg(server_id: &str) -> ClientConfig {
        ClientConfig {
            sts_endpoint: "https://sts.amazonaws.com".into(),
            iam_server_id_header_value: server_id.into(),
            ..ClientConfig::default()
        }
    }

    fn login_body(url: &str, body: &str, headers: Json) -> Body {
        serde_json::from_value(json!({
            "iam_http_request_method": "POST",
            "iam_request_url": b64(url),
            "iam_request_body": b64(body),
            "iam_request_headers": b64(&headers.to_string()),
        }))
        .unwrap()
    }

    fn good_headers() -> Json {
        json!({
            "Authorization": [AUTH],
            "Content-Length": ["43"],
            "Content-Type": ["application/x-www-form-urlencoded; charset=utf-8"],
            "X-Amz-Date": ["20250101T000000Z"],
            "X-Amz-Security-Token": ["SESSIONTOKEN"],
            "X-Vault-Aws-Iam-Server-Id": ["sigil.example"],
        })
    }

    fn verify(b: &Body, c: &ClientConfig) -> Result<StsRequest, &'static str> {
        IamLogin::from_body(b).unwrap().verify(c)
    }

    #[test]
    fn a_vault_cli_request_passes() {
        let b = login_body("https://sts.amazonaws.com/", BODY, good_headers());
        let r = verify(&b, &cfg("sigil.example")).unwrap();
        assert_eq!(r.url.as_str(), "https://sts.amazonaws.com/");
        assert_eq!(r.body, BODY);
        let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert!(!names.contains(&"content-length") && names.contains(&"authorization"));
        assert!(
            r.headers
                .iter()
                .find(|(n, _)| n == "authorization")
                .unwrap()
                .1
                .is_sensitive()
        );
        // The headers may also come as a plain object of strings, with a Host header.
        let mut b = b.clone();
        let mut h = good_headers();
        h["Host"] = json!("STS.amazonaws.com");
        b.insert("iam_request_headers".into(), h);
        assert!(verify(&b, &cfg("sigil.example")).is_ok());
        // Without a configured server ID, the header is not needed.
        let mut h = good_headers();
        h.as_object_mut()
            .unwrap()
            .remove("X-Vault-Aws-Iam-Server-Id");
        let b = login_body("https://sts.amazonaws.com", BODY, h);
        assert!(verify(&b, &cfg("")).is_ok());
    }

    #[test]
    fn requests_for_another_host_action_or_method_are_refused() {
        let c = cfg("sigil.example");
        for url in [
            "https://sts.eu-west-1.amazonaws.com/",
            "http://sts.amazonaws.com/",
            "https://sts.amazonaws.com:8443/",
            "https://sts.amazonaws.com.evil.example/",
            "https://user@sts.amazonaws.com/",
            "https://sts.amazonaws.com/other",
            "https://sts.amazonaws.com/?Action=GetSessionToken",
            "not a url",
        ] {
            let b = login_body(url, BODY, good_headers());
            assert!(verify(&b, &c).is_err(), "{url}");
        }
        for body in [
            "Action=GetSessionToken&Version=2011-06-15",
            "Action=GetCallerIdentity&Version=2011-06-15&DurationSeconds=900",
            "Action=GetCallerIdentity&Version=2011-06-15&Action=GetSessionToken",
            "Action=GetCallerIdentity",
            "{\"Action\":\"GetCallerIdentity\"}",
        ] {
            let b = login_body("https://sts.amazonaws.com/", body, good_headers());
            assert!(verify(&b, &c).is_err(), "{body}");
        }
        assert!(
            verify(
                &login_body(
                    "https://sts.amazonaws.com/",
                    "Version=2011-06-15&Action=GetCallerIdentity",
                    {
                        let mut h = good_headers();
                        h.as_object_mut().unwrap().remove("Content-Length");
                        h
                    }
                ),
                &c
            )
            .is_ok(),
            "the pairs' order is free"
        );
        let mut b = login_body("https://sts.amazonaws.com/", BODY, good_headers());
        b.insert("iam_http_request_method".into(), json!("GET"));
        assert_eq!(
            verify(&b, &c).unwrap_err(),
            "the signed request's method is not POST"
        );
    }

    #[test]
    fn headers_are_checked() {
        let c = cfg("sigil.example");
        let with = |k: &str, v: Json| {
            let mut h = good_headers();
            if v.is_null() {
                h.as_object_mut().unwrap().remove(k);
            } else {
                h[k] = v;
            }
            login_body("https://sts.amazonaws.com/", BODY, h)
        };
        for (k, v, why) in [
            ("Host", json!("evil.example"), "Host"),
            ("Content-Length", json!("44"), "Content-Length"),
            ("Content-Type", json!("application/json"), "Content-Type"),
            ("Transfer-Encoding", json!("chunked"), "hop-by-hop"),
            (
                "X-Amz-Target",
                json!("AWSSecurityTokenServiceV20110615.GetSessionToken"),
                "X-Amz",
            ),
            (
                "X-Vault-Aws-Iam-Server-Id",
                json!("other.example"),
                "server ID",
            ),
            ("X-Vault-Aws-Iam-Server-Id", Json::Null, "server ID"),
            ("Authorization", Json::Null, "Authorization"),
            ("Authorization", json!("Bearer x"), "Authorization"),
            (
                "Authorization",
                json!(AUTH.replace("/sts/", "/iam/")),
                "service",
            ),
            ("Authorization", json!(AUTH.replace("host;", "")), "Host"),
            (
                "Authorization",
                json!(AUTH.replace(";x-vault-aws-iam-server-id", "")),
                "not signed",
            ),
            (
                "Authorization",
                json!(format!("{AUTH}, Signature=00")),
                "Authorization",
            ),
        ] {
            let e = verify(&with(k, v), &c).unwrap_err();
            assert!(e.contains(why), "{k}: {e}");
        }
        let mut c2 = c.clone();
        c2.sts_region = "eu-west-1".into();
        assert!(
            verify(&with("X-Amz-Date", json!("20250101T000000Z")), &c2)
                .unwrap_err()
                .contains("region")
        );
        c2.sts_region = String::new();
        c2.allowed_sts_header_values = vec!["x-amz-target".into()];
        assert!(
            verify(&with("X-Amz-Target", json!("x")), &c2).is_ok(),
            "allowed_sts_header_values widens the X-Amz list"
        );
    }

    #[test]
    fn malformed_fields_get_specific_errors() {
        let good = login_body("https://sts.amazonaws.com/", BODY, good_headers());
        let with = |k: &str, v: Json| {
            let mut b = good.clone();
            b.insert(k.into(), v);
            b
        };
        for (b, needle) in [
            (with("iam_request_url", json!("%%%")), "base64"),
            (
                with("iam_request_body", json!("")),
                "missing iam_request_body",
            ),
            (
                with("iam_request_headers", json!(b64("[1]"))),
                "JSON object",
            ),
            (with("iam_request_headers", json!(b64("{"))), "JSON object"),
            (with("iam_request_headers", json!(7)), "base64-encoded JSON"),
            (with("iam_request_headers", json!({"A": 1})), "string"),
            (
                with("iam_request_headers", json!({"A": ["x", "y"]})),
                "string",
            ),
            (with("iam_request_headers", json!({"A b": "x"})), "name"),
            (with("iam_request_headers", json!({"A": "x\ny"})), "value"),
            (
                with("iam_request_headers", json!({"A": "x", "a": "y"})),
                "twice",
            ),
            (with("iam_request_headers", json!({})), "missing"),
            (
                with(
                    "iam_request_url",
                    json!(b64(&"a".repeat(MAX_URL_BYTES + 1))),
                ),
                "too large",
            ),
            (
                with("iam_request_body", json!("A".repeat(10_000))),
                "too large",
            ),
            (
                with(
                    "iam_request_headers",
                    json!(b64(&format!("{{\"A\":\"{}\"}}", "a".repeat(20_000)))),
                ),
                "too large",
            ),
            (
                with("iam_request_headers", json!({"A": "a".repeat(20_000)})),
                "too large",
            ),
            (
                with("iam_http_request_method", json!("POSTPOSTPOSTPOSTPOST")),
                "method",
            ),
            (
                with("iam_request_url", json!(STANDARD.encode([0xff, 0xfe]))),
                "UTF-8",
            ),
        ] {
            let e = IamLogin::from_body(&b).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle}: {e}");
        }
        let many: serde_json::Map<String, Json> =
            (0..40).map(|i| (format!("h{i}"), json!("v"))).collect();
        assert!(IamLogin::from_body(&with("iam_request_headers", Json::Object(many))).is_err());
    }

    #[test]
    fn debug_shows_no_credentials() {
        let b = login_body("https://sts.amazonaws.com/", BODY, good_headers());
        let l = IamLogin::from_body(&b).unwrap();
        let r = l.verify(&cfg("sigil.example")).unwrap();
        for shown in [format!("{l:?}"), format!("{r:?}")] {
            assert!(
                !shown.contains("SESSIONTOKEN")
                    && !shown.contains("0123456789abcdef")
                    && !shown.contains("AKIDEXAMPLE"),
                "{shown}"
            );
            assert!(shown.contains("authorization"), "{shown}");
        }
    }
}
