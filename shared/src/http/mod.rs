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

/// Largest request body accepted, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

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

    /// The body as a JSON object; empty is `{}`. 400 with Vault's message otherwise.
    pub fn json(&self) -> Result<Body, ApiError> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::TooLarge);
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body::new());
        }
        match serde_json::from_slice::<serde_json::Value>(&self.body) {
            Ok(serde_json::Value::Object(m)) => Ok(m),
            Ok(_) => Err(ApiError::bad(
                "failed to parse JSON input: body must be a JSON object",
            )),
            Err(e) => Err(ApiError::bad(format!(
                "failed to parse JSON input: {} at line {} column {}",
                match e.classify() {
                    serde_json::error::Category::Io => "read error",
                    serde_json::error::Category::Syntax => "invalid syntax",
                    serde_json::error::Category::Data => "invalid data",
                    serde_json::error::Category::Eof => "unexpected end of input",
                },
                e.line(),
                e.column()
            ))),
        }
    }
}

/// A response: status and JSON body (none for 204).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body, absent for 204.
    pub body: Option<serde_json::Value>,
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
