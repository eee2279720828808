//! The one API error type: each variant has a stable code and a Vault status, and
//! renders as Vault's `{"errors": [...]}` body. Messages are written for clients and
//! never carry internals (SDK errors, `Debug` output, secret values).

use crate::keyring::KeyringError;
use crate::store::StoreError;

/// Longest error message returned, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 512;

/// An error returned to an API client.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: the request is malformed or violates a rule; the message says which.
    /// Token-shaped words in it are redacted wherever it is shown (body, audit, logs).
    #[error("{}", crate::token_format::redact_tokens_in_text(.0))]
    BadRequest(String),
    /// 403: missing, invalid, expired or revoked token, or not allowed (Vault's message).
    #[error("permission denied")]
    PermissionDenied,
    /// 403 with a reason: an auth method refused the credentials it was given (Vault's
    /// Kubernetes method answers its token validation failures so).
    #[error("{}", crate::token_format::redact_tokens_in_text(.0))]
    Denied(String),
    /// 404: no such path or item. Vault answers `{"errors": []}` for a missing secret.
    #[error("not found")]
    NotFound,
    /// 404 for a path no route serves. Build it with [`ApiError::no_route`], which
    /// redacts tokens in the path.
    #[error("no handler for route \"{0}\". route entry not found.")]
    NoRoute(String),
    /// 405: the path exists but not with this method.
    #[error("unsupported operation")]
    MethodNotAllowed,
    /// 413: the body is larger than allowed.
    #[error("request body too large")]
    TooLarge,
    /// 415: the body's media type is not the one the path takes (Vault's PATCH needs
    /// `application/merge-patch+json`).
    #[error("{}", crate::token_format::redact_tokens_in_text(.0))]
    UnsupportedMediaType(String),
    /// 431: the request's headers are larger or more numerous than allowed.
    #[error("request header fields too large")]
    HeadersTooLarge,
    /// 429: too many requests.
    #[error("rate limit quota exceeded")]
    RateLimited,
    /// 500: something failed inside Sigil; details go to the log, not to the client.
    #[error("internal error")]
    Internal,
    /// 500: a stored ciphertext failed to authenticate: it was altered or moved from
    /// another item.
    #[error("stored value failed its integrity check")]
    Integrity,
    /// 503: a dependency (DynamoDB, KMS) is unavailable or throttling; retry later.
    #[error("service unavailable, retry later")]
    Unavailable,
}

impl ApiError {
    /// The 404 for `path`, with any token in it redacted
    /// ([`crate::token_format::redact_tokens_in_path`]).
    pub fn no_route(path: &str) -> Self {
        ApiError::NoRoute(crate::token_format::redact_tokens_in_path(path).into_owned())
    }

    /// The HTTP status (Vault's codes).
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::PermissionDenied | ApiError::Denied(_) => 403,
            ApiError::NotFound | ApiError::NoRoute(_) => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::TooLarge => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::HeadersTooLarge => 431,
            ApiError::RateLimited => 429,
            ApiError::Internal | ApiError::Integrity => 500,
            ApiError::Unavailable => 503,
        }
    }

    /// A stable machine-readable code, for logs and audit lines.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::PermissionDenied => "permission_denied",
            ApiError::Denied(_) => "denied",
            ApiError::NotFound => "not_found",
            ApiError::NoRoute(_) => "no_route",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::TooLarge => "too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::HeadersTooLarge => "headers_too_large",
            ApiError::RateLimited => "rate_limited",
            ApiError::Internal => "internal",
            ApiError::Integrity => "integrity",
            ApiError::Unavailable => "unavailable",
        }
    }

    /// Vault's error body. A message longer than [`MAX_MESSAGE_BYTES`] is cut to end in
    /// `...` within that many bytes, so an error never echoes an unbounded piece of the
    /// request.
    pub fn body(&self) -> serde_json::Value {
        match self {
            ApiError::NotFound => serde_json::json!({ "errors": [] }),
            other => {
                let mut msg = other.to_string();
                if msg.len() > MAX_MESSAGE_BYTES {
                    let mut cut = MAX_MESSAGE_BYTES - "...".len();
                    while !msg.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    msg.truncate(cut);
                    msg.push_str("...");
                }
                serde_json::json!({ "errors": [msg] })
            }
        }
    }

    /// Shorthand for a 400 with `msg`.
    pub fn bad(msg: impl Into<String>) -> Self {
        ApiError::BadRequest(msg.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Throttled | StoreError::Conflict | StoreError::Unavailable(_) => {
                tracing::error!(error = %e, "storage failure");
                ApiError::Unavailable
            }
            StoreError::Rejected(_) => {
                tracing::info!(error = %e, "storage rejected a request");
                ApiError::bad("the request is too large to store")
            }
            StoreError::ConditionFailed
            | StoreError::TransactionCancelled { .. }
            | StoreError::Malformed(_) => {
                tracing::error!(error = %e, "storage failure");
                ApiError::Internal
            }
        }
    }
}

impl From<KeyringError> for ApiError {
    fn from(e: KeyringError) -> Self {
        tracing::error!(error = %e, "keyring failure");
        match e {
            KeyringError::Store(s) => s.into(),
            KeyringError::Kms(crate::kms::KmsError::Unavailable(_)) => ApiError::Unavailable,
            KeyringError::Crypto(crate::crypto::CryptoError::Open) => ApiError::Integrity,
            _ => ApiError::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_vaults() {
        assert_eq!(
            ApiError::PermissionDenied.body(),
            serde_json::json!({"errors": ["permission denied"]})
        );
        assert_eq!(ApiError::NotFound.body(), serde_json::json!({"errors": []}));
        assert_eq!(ApiError::bad("x").status(), 400);
        let long = ApiError::bad("é".repeat(1000)).body();
        let long = long["errors"][0].as_str().unwrap();
        assert!(long.len() <= MAX_MESSAGE_BYTES && long.len() >= MAX_MESSAGE_BYTES - 4);
        assert!(long.ends_with("..."), "{long}");
        let exact = ApiError::bad("x".repeat(MAX_MESSAGE_BYTES)).body();
        assert_eq!(exact["errors"][0], "x".repeat(MAX_MESSAGE_BYTES), "not cut");
    }

    #[test]
    fn tokens_quoted_in_messages_are_redacted_everywhere_they_are_shown() {
        let quoted = r#"unknown capability "sgl.AbC123" in path "x""#;
        for e in [
            ApiError::bad(quoted),
            ApiError::Denied(quoted.into()),
            ApiError::UnsupportedMediaType(quoted.into()),
        ] {
            // Display feeds the audit line's `error` and log fields; body the client.
            let shown = e.to_string();
            assert!(
                !shown.contains("AbC123") && shown.contains("sgl.REDACTED"),
                "{shown}"
            );
            assert!(!e.body().to_string().contains("AbC123"));
        }
    }

    #[test]
    fn store_internals_do_not_reach_the_client() {
        let e: ApiError =
            StoreError::Unavailable("DynamoDB GetItem: ResourceNotFoundException".into()).into();
        assert_eq!(
            e.body(),
            serde_json::json!({"errors": ["service unavailable, retry later"]})
        );
    }
}
