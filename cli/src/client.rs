//! The HTTP client of Sigil's (Vault-compatible) API: where to connect, which token to
//! send, and how a response becomes a JSON value or a [`CliError`].
//!
//! Address: `SIGIL_ADDR`, else `VAULT_ADDR`, else `http://127.0.0.1:8200`.
//! Token: `SIGIL_TOKEN`, else `VAULT_TOKEN`; sent as `X-Vault-Token` (marked sensitive,
//! never printed). Paths are relative to `/v1/`.

use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::error::{ApiFailure, CliError, errors_from_body};

/// Address used when neither `SIGIL_ADDR` nor `VAULT_ADDR` is set.
pub const DEFAULT_ADDR: &str = "http://127.0.0.1:8200";
/// Header that carries the token.
pub const TOKEN_HEADER: &str = "X-Vault-Token";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The first set, non-empty variable among `names`.
fn first_var(lookup: &impl Fn(&str) -> Option<String>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| lookup(n).filter(|v| !v.trim().is_empty()))
}

/// The server address from `SIGIL_ADDR`, `VAULT_ADDR` or the default.
pub fn resolve_addr(lookup: impl Fn(&str) -> Option<String>) -> String {
    first_var(&lookup, &["SIGIL_ADDR", "VAULT_ADDR"])
        .map(|a| a.trim().to_owned())
        .unwrap_or_else(|| DEFAULT_ADDR.to_owned())
}

/// The token from `SIGIL_TOKEN` or `VAULT_TOKEN`, if either is set.
pub fn resolve_token(lookup: impl Fn(&str) -> Option<String>) -> Option<SecretString> {
    first_var(&lookup, &["SIGIL_TOKEN", "VAULT_TOKEN"])
        .map(|t| SecretString::from(t.trim().to_owned()))
}

/// One API request: method, path below `/v1/`, query and JSON body.
#[derive(Clone)]
pub struct Request {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Value>,
}

/// `Debug` leaves out the body and query: they carry secret IDs, JWTs and secrets.
impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// A request with `method` on `path` (relative to `/v1/`).
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into().trim_start_matches('/').to_owned(),
            query: Vec::new(),
            body: None,
        }
    }

    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// `LIST path/` (Vault's list method; a trailing slash is added when missing).
    pub fn list(path: impl Into<String>) -> Result<Self, CliError> {
        let method = Method::from_bytes(b"LIST")
            .map_err(|e| CliError::usage(format!("LIST method: {e}")))?;
        let mut path: String = path.into();
        if !path.ends_with('/') {
            path.push('/');
        }
        Ok(Self::new(method, path))
    }

    /// `POST path` with a JSON body.
    pub fn post(path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::POST, path).body(body)
    }

    /// `PUT path` with a JSON body.
    pub fn put(path: impl Into<String>, body: Value) -> Self {
        Self::new(Method::PUT, path).body(body)
    }

    /// `DELETE path`.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    /// Sets the JSON body.
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    /// The path below `/v1/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The JSON body, if any.
    #[cfg(test)]
    pub fn json(&self) -> Option<&Value> {
        self.body.as_ref()
    }
}

/// A client of one Sigil server.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    addr: String,
    base: Url,
    token: Option<SecretString>,
}

impl Client {
    /// A client configured from the environment (see the module documentation).
    pub fn from_env() -> Result<Self, CliError> {
        let env = |k: &str| std::env::var(k).ok();
        Self::new(resolve_addr(env), resolve_token(env))
    }

    /// A client of the server at `addr`, sending `token` when given.
    pub fn new(addr: String, token: Option<SecretString>) -> Result<Self, CliError> {
        let base = Url::parse(&addr)
            .map_err(|e| CliError::usage(format!("invalid address {addr:?} (SIGIL_ADDR): {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(CliError::usage(format!(
                "invalid address {addr:?} (SIGIL_ADDR): the scheme must be http or https"
            )));
        }
        let http = sigil::http::client::builder()
            .user_agent(concat!("sigil-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // A redirect could carry the token header to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CliError::usage(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            http,
            addr,
            base,
            token,
        })
    }

    /// The same client sending `token` instead.
    pub fn with_token(&self, token: SecretString) -> Self {
        Self {
            http: self.http.clone(),
            addr: self.addr.clone(),
            base: self.base.clone(),
            token: Some(token),
        }
    }

    /// The full URL of `path` (relative to `/v1/`), each segment percent-encoded. `.`
    /// and `..` segments are resolved first, as Vault's CLI cleans a path (`a/../b` is
    /// `b`; never above `/v1/`): the `url` crate would drop them silently otherwise.
    pub fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.pop_if_empty().push("v1");
            segs.extend(clean_segments(path));
        }
        url
    }

    /// Sends `req`. Returns the response's JSON, or `None` for an empty success (204).
    pub async fn send(&self, req: Request) -> Result<Option<Value>, CliError> {
        let mut url = self.url(&req.path);
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(req.query.iter());
        }
        let mut rb = self.http.request(req.method.clone(), url.clone());
        if let Some(token) = &self.token {
            let mut value = HeaderValue::from_str(token.expose_secret()).map_err(|_| {
                CliError::usage("the token in SIGIL_TOKEN / VAULT_TOKEN holds characters not allowed in an HTTP header")
            })?;
            value.set_sensitive(true);
            rb = rb.header(TOKEN_HEADER, value);
        }
        if let Some(body) = &req.body {
            rb = rb.json(body);
        }
        let resp = rb.send().await.map_err(|e| self.unreachable(&e))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| self.unreachable(&e))?;
        let display_url = display_url(&url);
        if status.is_success() {
            if status == StatusCode::NO_CONTENT || text.trim().is_empty() {
                return Ok(None);
            }
            return serde_json::from_str(&text).map(Some).map_err(|_| {
                CliError::Api(ApiFailure::new(
                    req.method.as_str(),
                    &display_url,
                    status.as_u16(),
                    vec!["the response body is not JSON".into()],
                    self.token.as_ref(),
                ))
            });
        }
        let errors = errors_from_body(&text);
        if status == StatusCode::NOT_FOUND && errors.is_empty() {
            return Err(CliError::NotFound(req.path));
        }
        Err(CliError::Api(ApiFailure::new(
            req.method.as_str(),
            &display_url,
            status.as_u16(),
            errors,
            self.token.as_ref(),
        )))
    }

    fn unreachable(&self, e: &reqwest::Error) -> CliError {
        CliError::Unreachable {
            addr: display_url(&self.base),
            reason: transport_reason(e),
        }
    }
}

/// The URL as shown in messages: without any password in it.
fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    shown.to_string()
}

/// The most specific cause of a transport error (e.g. `Connection refused (os error 111)`).
fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "the request timed out".to_owned();
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The segments of `path` with `.` dropped and `..` taking the segment before it away
/// (none left: nothing), the other segments (empty ones included) as they are.
fn clean_segments(path: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn dot_segments_are_resolved_as_vaults_cli_cleans_a_path() {
        assert_eq!(
            clean_segments("secret/data/app/../prod/x"),
            ["secret", "data", "prod", "x"]
        );
        assert_eq!(clean_segments("secret/./data/x"), ["secret", "data", "x"]);
        assert_eq!(clean_segments("../../secret/x"), ["secret", "x"]);
        assert_eq!(
            clean_segments("secret/metadata/"),
            ["secret", "metadata", ""]
        );
    }

    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn address_precedence() {
        assert_eq!(resolve_addr(env(&[])), DEFAULT_ADDR);
        assert_eq!(
            resolve_addr(env(&[("VAULT_ADDR", "http://v:1")])),
            "http://v:1"
        );
        assert_eq!(
            resolve_addr(env(&[
                ("VAULT_ADDR", "http://v:1"),
                ("SIGIL_ADDR", "http://s:2")
            ])),
            "http://s:2"
        );
        assert_eq!(
            resolve_addr(env(&[("SIGIL_ADDR", ""), ("VAULT_ADDR", "http://v:1")])),
            "http://v:1"
        );
    }

    #[test]
    fn token_precedence() {
        assert!(resolve_token(env(&[])).is_none());
        let t = resolve_token(env(&[("VAULT_TOKEN", "v"), ("SIGIL_TOKEN", "s")])).unwrap();
        assert_eq!(t.expose_secret(), "s");
        let t = resolve_token(env(&[("VAULT_TOKEN", "v")])).unwrap();
        assert_eq!(t.expose_secret(), "v");
    }

    #[test]
    fn urls_are_below_v1_and_encoded() {
        let c = Client::new("http://127.0.0.1:8200/".into(), None).unwrap();
        assert_eq!(
            c.url("secret/data/app").as_str(),
            "http://127.0.0.1:8200/v1/secret/data/app"
        );
        assert_eq!(
            c.url("secret/metadata/").as_str(),
            "http://127.0.0.1:8200/v1/secret/metadata/"
        );
        assert_eq!(
            c.url("secret/data/a b?").as_str(),
            "http://127.0.0.1:8200/v1/secret/data/a%20b%3F"
        );
        let c = Client::new("https://proxy/vault".into(), None).unwrap();
        assert_eq!(
            c.url("sys/health").as_str(),
            "https://proxy/vault/v1/sys/health"
        );
        assert!(Client::new("127.0.0.1:8200".into(), None).is_err());
        assert!(Client::new("ftp://x".into(), None).is_err());
    }

    #[test]
    fn list_requests_end_in_a_slash() {
        let r = Request::list("secret/metadata/app").unwrap();
        assert_eq!(
            (r.method.as_str(), r.path()),
            ("LIST", "secret/metadata/app/")
        );
        assert_eq!(Request::get("/sys/health").path(), "sys/health");
    }

    #[test]
    fn debug_does_not_show_the_token() {
        let c = Client::new(
            DEFAULT_ADDR.into(),
            Some(SecretString::from("sgl.secretvalue".to_owned())),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("sgl.secretvalue"));
    }

    #[test]
    fn passwords_are_not_displayed() {
        let url = Url::parse("http://user:pw@host/v1/x").unwrap();
        assert_eq!(display_url(&url), "http://user@host/v1/x");
    }
}
