//! Storage failures, as every adapter reports them.

/// Storage failures. Messages never carry item contents.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A write's condition did not hold.
    #[error("condition failed")]
    ConditionFailed,
    /// A transaction was cancelled; `conditions` lists, per write, whether its condition failed.
    #[error("transaction cancelled")]
    TransactionCancelled {
        /// For each write of the transaction, whether its own condition failed.
        conditions: Vec<bool>,
    },
    /// Concurrent transactions touched the same item; retry.
    #[error("transaction conflict")]
    Conflict,
    /// The request rate exceeded what the table allows; retry with backoff.
    #[error("throttled")]
    Throttled,
    /// DynamoDB refused the request as invalid, in practice an item over its 400 KB
    /// limit: retrying cannot succeed.
    #[error("storage rejected the request: {0}")]
    Rejected(String),
    /// An item did not have the shape its type expects.
    #[error("malformed item: {0}")]
    Malformed(String),
    /// Any other backend failure (no details: they may hold internals).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Whether a failed condition (alone, or within a transaction) caused this error.
    pub fn is_condition(&self) -> bool {
        match self {
            StoreError::ConditionFailed => true,
            StoreError::TransactionCancelled { conditions } => conditions.iter().any(|c| *c),
            _ => false,
        }
    }

    /// Whether retrying the same request may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Conflict | StoreError::Throttled)
    }
}
