//! The `CallerIdentity` port: sends a checked `GetCallerIdentity` request to STS and
//! reads who signed it. The HTTP adapter ([`HttpCallerIdentity`]) forwards the
//! client's signed request as is (Sigil adds no credentials); the fake
//! ([`FakeCallerIdentity`]) answers from a table, for unit tests and benchmarks.
//!
//! STS's answer is Query-protocol XML (`GetCallerIdentityResponse` /
//! `GetCallerIdentityResult` with `Arn`, `UserId`, `Account`; errors as
//! `ErrorResponse` / `Error` / `Code`), read with `quick-xml`.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::iam_request::StsRequest;

/// Largest STS response read, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Connection timeout towards STS.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Whole-request timeout towards STS.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Who signed the request, as STS says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The caller's ARN.
    pub arn: String,
    /// The caller's unique ID (`AIDA...` for a user, `AROA...:session` for a role
    /// session).
    pub user_id: String,
    /// The caller's account.
    pub account: String,
}

/// Why STS gave no identity.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallerIdentityError {
    /// STS refused the request (bad or expired signature or credentials): the code it
    /// gave (e.g. `SignatureDoesNotMatch`, `ExpiredToken`), for the log.
    #[error("STS refused the request: {0}")]
    Refused(String),
    /// STS could not be reached, throttled, failed, or answered something unreadable.
    #[error("STS unavailable: {0}")]
    Unavailable(String),
}

/// The STS call the aws auth method makes.
#[async_trait]
pub trait CallerIdentity: Send + Sync {
    /// Sends `req` (already checked by [`super::iam_request::IamLogin::verify`]) and
    /// returns the identity STS reports.
    async fn get_caller_identity(&self, req: &StsRequest) -> Result<Identity, CallerIdentityError>;
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResponseXml {
    get_caller_identity_result: ResultXml,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResultXml {
    arn: String,
    user_id: String,
    account: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorResponseXml {
    error: ErrorXml,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorXml {
    code: String,
}

/// Parses a `GetCallerIdentityResponse`; `None` when it is not one or a field is empty.
pub fn parse_response(xml: &str) -> Option<Identity> {
    let r: ResponseXml = quick_xml::de::from_str(xml).ok()?;
    let r = r.get_caller_identity_result;
    let id = Identity {
        arn: r.arn.trim().to_owned(),
        user_id: r.user_id.trim().to_owned(),
        account: r.account.trim().to_owned(),
    };
    (!id.arn.is_empty() && !id.account.is_empty()).then_some(id)
}

/// The error code of an STS `ErrorResponse` (at most 64 characters, letters and digits
/// only, so a log line never carries the response's text).
pub fn parse_error_code(xml: &str) -> Option<String> {
    let r: ErrorResponseXml = quick_xml::de::from_str(xml).ok()?;
    let code = r.error.code.trim();
    (!code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| code.to_owned())
}

/// Whether an STS error code means "retry later" rather than "refused".
fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "ServiceUnavailable"
    )
}

/// Maps an STS HTTP answer to the port's result.
pub fn interpret(status: u16, body: &str) -> Result<Identity, CallerIdentityError> {
    match status {
        200 => parse_response(body).ok_or_else(|| {
            CallerIdentityError::Unavailable("unreadable GetCallerIdentity answer".into())
        }),
        429 => Err(CallerIdentityError::Unavailable("throttled".into())),
        400..=499 => match parse_error_code(body) {
            Some(code) if is_throttling(&code) => Err(CallerIdentityError::Unavailable(code)),
            Some(code) => Err(CallerIdentityError::Refused(code)),
            None => Err(CallerIdentityError::Refused(format!("HTTP {status}"))),
        },
        _ => Err(CallerIdentityError::Unavailable(format!("HTTP {status}"))),
    }
}

/// The HTTP adapter: reqwest with rustls, no redirects (a redirect would send the
/// signed request elsewhere), bounded time and response size. The client is built on
/// first use, so a cold start makes no TLS setup it does not need.
#[derive(Debug, Default)]
pub struct HttpCallerIdentity {
    client: OnceLock<reqwest::Client>,
}

impl HttpCallerIdentity {
    /// An adapter; nothing is built or connected until the first call.
    pub fn new() -> Self {
        Self::default()
    }

    fn client(&self) -> Result<&reqwest::Client, CallerIdentityError> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let c = crate::http::client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("sigil/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| CallerIdentityError::Unavailable("HTTP client setup failed".into()))?;
        Ok(self.client.get_or_init(|| c))
    }
}

#[async_trait]
impl CallerIdentity for HttpCallerIdentity {
    async fn get_caller_identity(&self, req: &StsRequest) -> Result<Identity, CallerIdentityError> {
        let mut rb = self.client()?.post(req.url.clone()).body(req.body.clone());
        for (name, value) in &req.headers {
            rb = rb.header(name, value);
        }
        let unreachable = |e: reqwest::Error| {
            CallerIdentityError::Unavailable(if e.is_timeout() {
                "timed out".into()
            } else {
                "unreachable".into()
            })
        };
        let mut resp = rb.send().await.map_err(unreachable)?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(CallerIdentityError::Unavailable("answer too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        interpret(status, &String::from_utf8_lossy(&body))
    }
}

/// A fake STS: answers each request by its access key ID (from the SigV4 credential
/// scope) from a table, refuses unknown keys, and counts calls.
#[derive(Debug, Default)]
pub struct FakeCallerIdentity {
    by_key: Mutex<Vec<(String, Result<Identity, CallerIdentityError>)>>,
    calls: std::sync::atomic::AtomicU64,
}

impl FakeCallerIdentity {
    /// An empty fake: every request is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers requests signed with `access_key_id` with `answer`.
    pub fn answer(&self, access_key_id: &str, answer: Result<Identity, CallerIdentityError>) {
        if let Ok(mut m) = self.by_key.lock() {
            m.push((access_key_id.to_owned(), answer));
        }
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn access_key_id(req: &StsRequest) -> Option<String> {
    let auth = req
        .headers
        .iter()
        .find(|(n, _)| n == "authorization")?
        .1
        .to_str()
        .ok()?;
    let cred = auth.split("Credential=").nth(1)?;
    Some(cred.split('/').next()?.to_owned())
}

#[async_trait]
impl CallerIdentity for FakeCallerIdentity {
    async fn get_caller_identity(&self, req: &StsRequest) -> Result<Identity, CallerIdentityError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let key = access_key_id(req).unwrap_or_default();
        self.by_key
            .lock()
            .ok()
            .and_then(|m| m.iter().find(|(k, _)| *k == key).map(|(_, a)| a.clone()))
            .unwrap_or_else(|| Err(CallerIdentityError::Refused("InvalidClientTokenId".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:sts::123456789012:assumed-role/deploy/s1</Arn>
    <UserId>AROAEXAMPLE:s1</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;

    const ERR: &str = r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error>
  <RequestId>x</RequestId>
</ErrorResponse>"#;

    #[test]
    fn answers_are_read() {
        assert_eq!(
            interpret(200, OK).unwrap(),
            Identity {
                arn: "arn:aws:sts::123456789012:assumed-role/deploy/s1".into(),
                user_id: "AROAEXAMPLE:s1".into(),
                account: "123456789012".into(),
            }
        );
        assert_eq!(
            interpret(403, ERR),
            Err(CallerIdentityError::Refused("SignatureDoesNotMatch".into()))
        );
        let throttled = ERR.replace("SignatureDoesNotMatch", "Throttling");
        assert!(matches!(
            interpret(400, &throttled),
            Err(CallerIdentityError::Unavailable(_))
        ));
        assert!(matches!(
            interpret(503, ""),
            Err(CallerIdentityError::Unavailable(_))
        ));
        assert!(matches!(
            interpret(200, "<html>"),
            Err(CallerIdentityError::Unavailable(_))
        ));
        assert!(matches!(
            interpret(200, ERR),
            Err(CallerIdentityError::Unavailable(_))
        ));
        assert_eq!(
            interpret(403, "nope"),
            Err(CallerIdentityError::Refused("HTTP 403".into()))
        );
        // An error code is only ever logged as letters and digits.
        let odd = ERR.replace("SignatureDoesNotMatch", "bad code <script>");
        assert_eq!(parse_error_code(&odd), None);
    }
}
