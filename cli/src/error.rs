//! The command's errors, their messages (Vault's wording where Vault has one) and exit
//! codes: 0 success, 1 local or usage error, 2 API or connection error.
//!
//! No message here ever holds a token or a secret value: API error texts pass through
//! [`ApiFailure::new`], which removes the caller's token from them.

use secrecy::{ExposeSecret, SecretString};

/// Exit code for a local or usage error.
pub const EXIT_LOCAL: i32 = 1;
/// Exit code for an API or connection error.
pub const EXIT_REMOTE: i32 = 2;

/// Text that replaces a token found in a server message.
const REDACTED: &str = "<redacted>";

/// Everything that can make a command fail.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or local input (a file, stdin, the environment).
    #[error("Error: {0}")]
    Usage(String),
    /// The server could not be reached.
    #[error("Error: could not reach Sigil at {addr}: {reason}. Is it running? Set SIGIL_ADDR.")]
    Unreachable {
        /// The address tried.
        addr: String,
        /// Why (the innermost transport error).
        reason: String,
    },
    /// The server answered with an error status.
    #[error("{0}")]
    Api(ApiFailure),
    /// A read found nothing (404 without error messages, as Vault answers).
    #[error("No value found at {0}")]
    NotFound(String),
    /// An `admin` step against AWS (DynamoDB, KMS) failed.
    #[error("Error: {0}")]
    Aws(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => EXIT_LOCAL,
            CliError::Unreachable { .. }
            | CliError::Api(_)
            | CliError::NotFound(_)
            | CliError::Aws(_) => EXIT_REMOTE,
        }
    }

    /// A usage or local-input error.
    pub fn usage(msg: impl Into<String>) -> Self {
        CliError::Usage(msg.into())
    }
}

/// An error response from the API, rendered in Vault's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// HTTP method sent.
    pub method: String,
    /// URL requested (never holds the token: it travels in a header).
    pub url: String,
    /// HTTP status received.
    pub status: u16,
    /// The server's error messages, with the caller's token removed.
    pub errors: Vec<String>,
}

impl ApiFailure {
    /// Builds a failure, removing every occurrence of `token` from the messages (a
    /// server or proxy that echoes the request must not make the CLI print it).
    pub fn new(
        method: &str,
        url: &str,
        status: u16,
        errors: Vec<String>,
        token: Option<&SecretString>,
    ) -> Self {
        let errors = errors.into_iter().map(|e| redact(&e, token)).collect();
        Self {
            method: method.to_owned(),
            url: redact(url, token),
            status,
            errors,
        }
    }
}

fn redact(text: &str, token: Option<&SecretString>) -> String {
    let text = match token.map(|t| t.expose_secret()) {
        Some(t) if !t.is_empty() => text.replace(t, REDACTED),
        _ => text.to_owned(),
    };
    redact_tokens(&text)
}

/// Replaces anything shaped like a Sigil token (`sgl.` followed by base64url
/// characters) with `sgl.<redacted>`: for messages that echo user input, such as
/// clap's usage errors (`unexpected argument 'sgl....'`).
pub fn redact_tokens(text: &str) -> String {
    const PREFIX: &str = sigil::token::TOKEN_PREFIX;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(PREFIX) {
        let (before, from_prefix) = rest.split_at(at);
        out.push_str(before);
        let body = &from_prefix[PREFIX.len()..];
        let len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(body.len());
        out.push_str(PREFIX);
        if len > 0 {
            out.push_str(REDACTED);
        }
        rest = &body[len..];
    }
    out.push_str(rest);
    out
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Error making API request.\n\nURL: {} {}\nCode: {}. Errors:\n",
            self.method, self.url, self.status
        )?;
        for e in &self.errors {
            write!(f, "\n* {e}")?;
        }
        Ok(())
    }
}

/// Errors as the `errors` list of a Vault error body; any other body (a proxy's HTML
/// page, say) becomes one message holding its start.
pub fn errors_from_body(body: &str) -> Vec<String> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(body)
        && let Some(list) = v.get("errors").and_then(|e| e.as_array())
    {
        return list
            .iter()
            .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned))
            .collect();
    }
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    let mut start: String = trimmed.chars().take(200).collect();
    if start.len() < trimmed.len() {
        start.push_str("...");
    }
    vec![start]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "sgl.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn api_error_has_vaults_shape() {
        let f = ApiFailure::new(
            "GET",
            "http://127.0.0.1:8200/v1/secret/data/app",
            403,
            vec!["permission denied".into()],
            None,
        );
        assert_eq!(
            CliError::Api(f).to_string(),
            "Error making API request.\n\nURL: GET http://127.0.0.1:8200/v1/secret/data/app\nCode: 403. Errors:\n\n* permission denied"
        );
    }

    #[test]
    fn api_error_never_shows_the_token() {
        let token = SecretString::from(TOKEN.to_owned());
        let body = format!(r#"{{"errors": ["invalid token {TOKEN}", "other"]}}"#);
        let f = ApiFailure::new(
            "POST",
            "http://127.0.0.1:8200/v1/auth/token/lookup",
            400,
            errors_from_body(&body),
            Some(&token),
        );
        let text = CliError::Api(f.clone()).to_string();
        assert!(!text.contains(TOKEN), "{text}");
        assert!(
            text.contains("* invalid token <redacted>\n* other"),
            "{text}"
        );
        assert!(!format!("{f:?}").contains(TOKEN));
    }

    #[test]
    fn token_shaped_text_is_redacted() {
        assert_eq!(
            redact_tokens(&format!("unexpected argument '{TOKEN}' found")),
            "unexpected argument 'sgl.<redacted>' found"
        );
        assert_eq!(
            redact_tokens("a sgl. b sgl.x-y_z."),
            "a sgl. b sgl.<redacted>."
        );
        assert_eq!(redact_tokens("nothing here"), "nothing here");
        // A token of another shape is removed by value.
        let other = SecretString::from("hvs.othertoken".to_owned());
        let f = ApiFailure::new(
            "GET",
            "http://x/v1/y",
            403,
            vec!["bad hvs.othertoken".into()],
            Some(&other),
        );
        assert_eq!(f.errors, ["bad <redacted>"]);
    }

    #[test]
    fn errors_from_any_body() {
        assert_eq!(errors_from_body(r#"{"errors": []}"#), Vec::<String>::new());
        assert_eq!(errors_from_body(r#"{"errors": ["a", "b"]}"#), ["a", "b"]);
        assert_eq!(
            errors_from_body("<html>bad gateway</html>"),
            ["<html>bad gateway</html>"]
        );
        assert_eq!(errors_from_body(""), Vec::<String>::new());
        assert!(
            errors_from_body(&"x".repeat(500))
                .first()
                .unwrap()
                .ends_with("...")
        );
    }

    #[test]
    fn exit_codes() {
        assert_eq!(CliError::usage("x").exit_code(), 1);
        assert_eq!(CliError::NotFound("p".into()).exit_code(), 2);
        let e = CliError::Unreachable {
            addr: "http://a".into(),
            reason: "refused".into(),
        };
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "Error: could not reach Sigil at http://a: refused. Is it running? Set SIGIL_ADDR."
        );
    }
}
