//! Authorization: the one place that decides whether a caller may make a request.
//!
//! Interim rule until the policy engine lands (issue "Policy engine"): public routes need
//! nothing; self-service, KV reads and lease routes need a valid token; every other route
//! needs the `root` policy. The policy engine replaces [`authorize`]'s body with an ACL
//! check of `(resolved.path, resolved.op)`; callers do not change.

use crate::error::ApiError;
use crate::route::{Access, Resolved};
use crate::token::{ROOT_POLICY, TokenEntry};

/// Whether `caller` may make the `resolved` request: `Ok` or 403 `permission denied`.
pub fn authorize(resolved: &Resolved, caller: Option<&TokenEntry>) -> Result<(), ApiError> {
    match (resolved.access(), caller) {
        (Access::Public, _) => Ok(()),
        (Access::Token, Some(_)) => Ok(()),
        (Access::Admin, Some(t)) if t.policies.iter().any(|p| p == ROOT_POLICY) => Ok(()),
        _ => Err(ApiError::PermissionDenied),
    }
}
