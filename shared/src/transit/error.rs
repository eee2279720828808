//! The transit engine's errors. A request the engine refuses carries OpenBao's text
//! (`sdk/helper/keysutil/policy.go`, `builtin/logical/transit/path_*.go`) and answers
//! 400; a failure inside Sigil answers 500 with a fixed message and is logged by its
//! static cause only. No variant ever holds key material or plaintext.

use crate::error::ApiError;

/// A transit failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitError {
    /// The request is invalid for the key or the input (400): Vault's message.
    #[error("{0}")]
    Invalid(String),
    /// Something failed inside Sigil (the crypto library refused a stored key, a
    /// stored item is malformed): 500. The cause is a fixed text, logged, never sent.
    #[error("internal error")]
    Internal(&'static str),
    /// Storage, keyring or authorization failed: the API error as is.
    #[error("{0}")]
    Api(ApiError),
}

impl TransitError {
    /// A 400 with `msg`.
    pub fn invalid(msg: impl Into<String>) -> Self {
        TransitError::Invalid(msg.into())
    }

    /// Whether the error is the caller's (Vault's `UserError`): batch answers count
    /// these apart from internal ones (400 before 500).
    pub fn is_user(&self) -> bool {
        match self {
            TransitError::Invalid(_) => true,
            TransitError::Internal(_) => false,
            TransitError::Api(e) => e.status() < 500,
        }
    }
}

impl From<ApiError> for TransitError {
    fn from(e: ApiError) -> Self {
        TransitError::Api(e)
    }
}

impl From<crate::store::StoreError> for TransitError {
    fn from(e: crate::store::StoreError) -> Self {
        TransitError::Api(e.into())
    }
}

impl From<crate::keyring::KeyringError> for TransitError {
    fn from(e: crate::keyring::KeyringError) -> Self {
        TransitError::Api(e.into())
    }
}

impl From<TransitError> for ApiError {
    fn from(e: TransitError) -> Self {
        match e {
            TransitError::Invalid(m) => ApiError::BadRequest(m),
            TransitError::Internal(cause) => {
                tracing::error!(cause, "transit failure");
                ApiError::Internal
            }
            TransitError::Api(e) => e,
        }
    }
}

/// Shorthand for results of the engine.
pub type Result<T, E = TransitError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(ApiError::from(TransitError::invalid("x")).status(), 400);
        assert_eq!(ApiError::from(TransitError::Internal("why")).status(), 500);
        assert_eq!(
            ApiError::from(TransitError::Internal("why")).body(),
            serde_json::json!({"errors": ["internal error"]})
        );
        assert!(TransitError::invalid("x").is_user());
        assert!(!TransitError::Internal("x").is_user());
    }
}
