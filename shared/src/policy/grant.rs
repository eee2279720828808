//! What a caller holds on a request's path, as handlers that tell creating from
//! updating (Vault's existence checks) read it.

use crate::error::ApiError;

use super::{Capabilities, Capability};

/// The caller's capabilities on the request's path (all, for public routes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Capabilities on the path.
    pub caps: Capabilities,
}

impl Grant {
    /// 403 unless the grant allows `create` (the item is new) or `update` (it exists).
    pub fn require_write(&self, exists: bool) -> Result<(), ApiError> {
        let needed = if exists {
            Capability::Update
        } else {
            Capability::Create
        };
        if self.caps.contains(needed) {
            Ok(())
        } else {
            Err(ApiError::PermissionDenied)
        }
    }
}
