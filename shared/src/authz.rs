//! Authorization: the one place that decides whether a caller may make a request, by
//! the caller's ACL policies (Vault's semantics, see [`crate::policy`]).

use crate::error::ApiError;
use crate::http::params::Body;
use crate::identity::request::RequestIdentity;
use crate::policies::AclCache;
use crate::policy::{Capabilities, Capability, Grant};
use crate::route::{Operation, Resolved};
use crate::store::Store;
use crate::token::TokenEntry;

/// Decides a request: public paths pass, token-only paths pass with a valid token
/// (their handlers decide what it sees); otherwise the caller's policies must grant
/// the operation's capability on the path (read, list, delete, patch; create or update
/// for writes, refined by the handler where the path has an existence check), `sudo`
/// where the path needs it, and the request's parameters must satisfy the winning
/// rule's constraints and its wrapping TTL bounds (`wrap_ttl`: the response wrapping
/// the request asks for, seconds, 0: none). 403 `permission denied` otherwise. `ttl`:
/// seconds a compiled policy set is kept. `identity`: the identity the token acts
/// for; its entity's and groups' policies are judged with the token's (Vault's
/// `identity_policies`).
#[allow(clippy::too_many_arguments)]
pub async fn authorize(
    acl_cache: &AclCache,
    store: &dyn Store,
    ttl: i64,
    resolved: &Resolved,
    caller: Option<&TokenEntry>,
    identity: Option<&RequestIdentity>,
    body: &Body,
    wrap_ttl: i64,
    now: i64,
) -> Result<Grant, ApiError> {
    if resolved.spec.public {
        return Ok(Grant {
            caps: Capabilities::all_root(),
        });
    }
    let caller = caller.ok_or(ApiError::PermissionDenied)?;
    if resolved.spec.token_only {
        return Ok(Grant {
            caps: Capabilities::NONE,
        });
    }
    let acl = acl_cache
        .token_acl(store, ttl, caller, identity, now)
        .await?;
    let caps = acl.operation_capabilities(&resolved.path, resolved.op == Operation::List);
    let allowed = match resolved.op {
        Operation::Read => caps.contains(Capability::Read),
        Operation::List => caps.contains(Capability::List),
        Operation::Delete => caps.contains(Capability::Delete),
        Operation::Patch => caps.contains(Capability::Patch),
        // Only existence-checked writes accept `create`; their handlers then require
        // `create` for a new item and `update` for an existing one.
        Operation::Update if resolved.spec.existence_check => {
            caps.contains(Capability::Update) || caps.contains(Capability::Create)
        }
        Operation::Update => caps.contains(Capability::Update),
    };
    if !allowed || (resolved.spec.sudo && !caps.contains(Capability::Sudo)) {
        return Err(ApiError::PermissionDenied);
    }
    acl.check_wrapping(&resolved.path, resolved.op == Operation::List, wrap_ttl)
        .map_err(|why| {
            tracing::info!(reason = %why, "wrapping TTL bounds refused the request");
            ApiError::PermissionDenied
        })?;
    if resolved.checks_parameters() {
        acl.check_parameters(&resolved.path, body).map_err(|why| {
            tracing::info!(reason = %why, "parameter constraints refused the request");
            ApiError::PermissionDenied
        })?;
    }
    Ok(Grant { caps })
}
