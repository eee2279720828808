//! HTTP mapping: the request and response shapes every function handles, independent of
//! the Lambda event format ([`lambda`] converts), plus Vault's envelope and parameter
//! conventions.

pub mod client;
pub mod envelope;
pub mod lambda;
pub mod params;

use secrecy::SecretString;

use crate::error::ApiError;
use params::Body;

/// Largest request body accepted, in bytes (1 MiB); larger: 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most headers in one request; more: 431.
pub const MAX_HEADERS: usize = 64;
/// Largest total size of the headers (names and values), in bytes; larger: 431.
/// (API Gateway's HTTP APIs stop at 10 KiB before Sigil sees the request.)
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most query parameters in one request; more: 400.
pub const MAX_QUERY_PARAMS: usize = 32;
/// Largest total size of the query parameters (names and values), in bytes; larger: 400.
pub const MAX_QUERY_BYTES: usize = 4 * 1024;
/// Deepest nesting of a JSON body (an object or list inside another counts one
/// level; a flat object is depth 1); deeper: 400.
pub const MAX_JSON_DEPTH: usize = 32;
/// Most JSON values in one body, counting every object, list, key's value and list
/// item at every depth; more: 400.
pub const MAX_JSON_ITEMS: usize = 10_000;

/// A request as Sigil sees it.
#[derive(Clone, Default)]
pub struct ApiRequest {
    /// Method, uppercase (`GET`, `POST`, `PUT`, `DELETE`, `LIST`, ...).
    pub method: String,
    /// The path as received, still percent-encoded, e.g. `/v1/secret/data/app`.
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// The caller's address, from the API Gateway request context.
    pub remote_addr: Option<String>,
    /// The request ID (API Gateway's, or a random one).
    pub request_id: String,
    /// The caller's IAM ARN as API Gateway verified it (IAM authorization on the
    /// route): HTTP API payload 2.0 `requestContext.authorizer.iam.userArn`, REST API
    /// `requestContext.identity.userArn`. Only the Lambda adapter
    /// ([`lambda::to_api_request`]) sets it, from the request context; never from a
    /// header or the body, which the caller controls.
    pub iam_caller_arn: Option<String>,
}

/// `Debug` omits headers and body: they carry tokens and secrets.
impl std::fmt::Debug for ApiRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body_bytes", &self.body.len())
            .field("request_id", &self.request_id)
            .field("iam_caller_arn", &self.iam_caller_arn)
            .finish_non_exhaustive()
    }
}

impl ApiRequest {
    /// The first header with this (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The client token: `X-Vault-Token`, else `Authorization: Bearer`.
    pub fn token(&self) -> Option<SecretString> {
        if let Some(t) = self.header("x-vault-token").filter(|t| !t.is_empty()) {
            return Some(SecretString::from(t.to_owned()));
        }
        let auth = self.header("authorization")?;
        let (scheme, rest) = auth.split_once(' ')?;
        (scheme.eq_ignore_ascii_case("bearer") && !rest.trim().is_empty())
            .then(|| SecretString::from(rest.trim().to_owned()))
    }

    /// The first query parameter with this name.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Checks the request's size limits before anything reads it: 431 for more than
    /// [`MAX_HEADERS`] headers or [`MAX_HEADER_BYTES`] of them, 400 for more than
    /// [`MAX_QUERY_PARAMS`] query parameters or [`MAX_QUERY_BYTES`] of them, 413 for a
    /// body over [`MAX_BODY_BYTES`]. (The path's limits are the router's.)
    pub fn check_limits(&self) -> Result<(), ApiError> {
        let header_bytes: usize = self.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        if self.headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
            return Err(ApiError::HeadersTooLarge);
        }
        let query_bytes: usize = self.query.iter().map(|(k, v)| k.len() + v.len()).sum();
        if self.query.len() > MAX_QUERY_PARAMS || query_bytes > MAX_QUERY_BYTES {
            return Err(ApiError::bad(format!(
                "too many query parameters (at most {MAX_QUERY_PARAMS}, {MAX_QUERY_BYTES} bytes)"
            )));
        }
        if self.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::TooLarge);
        }
        Ok(())
    }

    /// The body as a JSON object; empty or `null` is `{}`. 400 with Vault's message otherwise,
    /// and for a body nested deeper than [`MAX_JSON_DEPTH`] or holding more than
    /// [`MAX_JSON_ITEMS`] values.
    pub fn json(&self) -> Result<Body, ApiError> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::TooLarge);
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body::new());
        }
        match serde_json::from_slice::<serde_json::Value>(&self.body) {
            // `vault write -f` sends `null`: no data, as Vault takes it.
            Ok(serde_json::Value::Null) => Ok(Body::new()),
            Ok(v @ serde_json::Value::Object(_)) => {
                check_shape(&v)?;
                match v {
                    serde_json::Value::Object(m) => Ok(m),
                    _ => Err(ApiError::Internal),
                }
            }
            Ok(_) => Err(ApiError::bad(
                "failed to parse JSON input: body must be a JSON object",
            )),
            // serde_json's syntax and end-of-input messages name what was expected and
            // where ("number out of range at line 1 column 9", "recursion limit
            // exceeded ..."), never input text; other categories get a generic word.
            Err(e) => Err(ApiError::bad(match e.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    format!("failed to parse JSON input: {e}")
                }
                serde_json::error::Category::Io | serde_json::error::Category::Data => format!(
                    "failed to parse JSON input: invalid data at line {} column {}",
                    e.line(),
                    e.column()
                ),
            })),
        }
    }
}

/// Refuses a JSON value nested deeper than [`MAX_JSON_DEPTH`] or holding more than
/// [`MAX_JSON_ITEMS`] values (one pass, no recursion).
fn check_shape(v: &serde_json::Value) -> Result<(), ApiError> {
    let mut stack = vec![(v, 1usize)];
    let mut items = 0usize;
    while let Some((v, depth)) = stack.pop() {
        items += 1;
        if items > MAX_JSON_ITEMS {
            return Err(ApiError::bad(format!(
                "failed to parse JSON input: more than {MAX_JSON_ITEMS} values"
            )));
        }
        let is_container = matches!(
            v,
            serde_json::Value::Object(_) | serde_json::Value::Array(_)
        );
        if is_container && depth > MAX_JSON_DEPTH {
            return Err(ApiError::bad(format!(
                "failed to parse JSON input: nested deeper than {MAX_JSON_DEPTH} levels"
            )));
        }
        match v {
            serde_json::Value::Object(m) => stack.extend(m.values().map(|c| (c, depth + 1))),
            serde_json::Value::Array(a) => stack.extend(a.iter().map(|c| (c, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

/// A response: status and JSON body (none for 204). `Debug` shows the status and the
/// body's top-level field names only: bodies carry tokens, secret IDs and secret data.
#[derive(Clone, PartialEq)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body, absent for 204.
    pub body: Option<serde_json::Value>,
}

impl std::fmt::Debug for ApiResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Option<Vec<&String>> = self.body.as_ref().map(|b| {
            b.as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default()
        });
        f.debug_struct("ApiResponse")
            .field("status", &self.status)
            .field("body_fields", &fields)
            .finish_non_exhaustive()
    }
}

impl ApiResponse {
    /// The error response for `e`.
    pub fn error(e: &ApiError) -> Self {
        Self {
            status: e.status(),
            body: Some(e.body()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_omits_token_and_body() {
        let req = ApiRequest {
            method: "POST".into(),
            path: "/v1/auth/approle/login".into(),
            headers: vec![("x-vault-token".into(), "sgl.SECRETTOKEN".into())],
            body: br#"{"secret_id":"SECRETID"}"#.to_vec(),
            ..ApiRequest::default()
        };
        let shown = format!("{req:?}");
        assert!(
            !shown.contains("SECRETTOKEN") && !shown.contains("SECRETID"),
            "{shown}"
        );
        let t = req.token().unwrap();
        assert!(!format!("{t:?}").contains("SECRETTOKEN"));
    }

    #[test]
    fn size_limits() {
        let body = |b: &str| ApiRequest {
            body: b.as_bytes().to_vec(),
            ..ApiRequest::default()
        };
        let nested = |n: usize| format!("{{\"a\":{}1{}}}", "[".repeat(n), "]".repeat(n));
        assert!(body(&nested(MAX_JSON_DEPTH - 1)).json().is_ok());
        let e = body(&nested(MAX_JSON_DEPTH)).json().unwrap_err();
        assert!(e.to_string().contains("nested deeper"), "{e}");
        // serde_json's own recursion limit (128) answers for far deeper bodies.
        let e = body(&nested(100_000)).json().unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("recursion limit exceeded"), "{e}");
        let e = body(r#"{"data":{"a":1e999999}}"#).json().unwrap_err();
        assert!(
            e.to_string().contains("number out of range at line 1"),
            "{e}"
        );
        let e = body(r#"{"secret-value": tru}"#).json().unwrap_err();
        assert!(!e.to_string().contains("secret-value"), "{e}");
        assert!(e.to_string().contains("line 1 column"), "{e}");
        let many = format!("{{\"a\":[{}0]}}", "0,".repeat(MAX_JSON_ITEMS));
        let e = body(&many).json().unwrap_err();
        assert!(e.to_string().contains("more than 10000 values"), "{e}");
        let ok = format!("{{\"a\":[{}0]}}", "0,".repeat(MAX_JSON_ITEMS - 3));
        assert!(body(&ok).json().is_ok());

        let headers = |n: usize, len: usize| ApiRequest {
            headers: (0..n).map(|i| (format!("h{i}"), "v".repeat(len))).collect(),
            ..ApiRequest::default()
        };
        assert!(headers(MAX_HEADERS, 10).check_limits().is_ok());
        assert_eq!(
            headers(MAX_HEADERS + 1, 1).check_limits(),
            Err(ApiError::HeadersTooLarge)
        );
        assert_eq!(
            headers(1, MAX_HEADER_BYTES).check_limits(),
            Err(ApiError::HeadersTooLarge)
        );
        assert_eq!(
            headers(1, MAX_HEADER_BYTES)
                .check_limits()
                .unwrap_err()
                .status(),
            431
        );
        let query = ApiRequest {
            query: (0..=MAX_QUERY_PARAMS)
                .map(|i| (format!("q{i}"), String::new()))
                .collect(),
            ..ApiRequest::default()
        };
        assert_eq!(query.check_limits().unwrap_err().status(), 400);
        let big = ApiRequest {
            body: vec![b' '; MAX_BODY_BYTES + 1],
            ..ApiRequest::default()
        };
        assert_eq!(big.check_limits(), Err(ApiError::TooLarge));
    }

    #[test]
    fn bearer_token_and_json_errors() {
        let req = ApiRequest {
            headers: vec![("authorization".into(), "Bearer sgl.abc".into())],
            body: b"{\"password\": \"hunter2\"".to_vec(),
            ..ApiRequest::default()
        };
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&req.token().unwrap()),
            "sgl.abc"
        );
        let err = req.json().unwrap_err().to_string();
        assert!(
            err.starts_with("failed to parse JSON input") && !err.contains("hunter2"),
            "{err}"
        );
    }
}
