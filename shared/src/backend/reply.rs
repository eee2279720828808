//! Answers several backends share.

use serde_json::json;

use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};

/// A LIST answer: `{"keys": [...]}`, or 404 when there are none (Vault's behaviour).
pub fn keys_reply(keys: Vec<String>) -> Result<Reply, ApiError> {
    if keys.is_empty() {
        return Err(ApiError::NotFound);
    }
    Ok(Envelope::data(json!({ "keys": keys })).ok())
}
