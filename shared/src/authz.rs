//! Authorization: the one place that decides whether a caller may make a request, by
//! the caller's ACL policies (Vault's semantics, see [`crate::policy`]).

use crate::app::App;
use crate::error::ApiError;
use crate::http::params::Body;
use crate::policy::{Capabilities, Capability};
use crate::route::{Access, Operation, Resolved};
use crate::token::TokenEntry;

/// What the caller holds on the request's path. Handlers that tell creating from
/// updating (KV v2, AppRole roles: Vault's existence checks) read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Capabilities on the path (all, for public routes).
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

/// Decides a request: public routes pass; otherwise the caller's policies must grant
/// the operation's capability on the path (read, list, delete; create or update for
/// writes, refined by the handler), `sudo` where the route needs it, and the request's
/// parameters must satisfy the winning rule's constraints. 403 `permission denied`
/// otherwise.
pub async fn authorize(
    app: &App,
    resolved: &Resolved,
    caller: Option<&TokenEntry>,
    body: &Body,
    now: i64,
) -> Result<Grant, ApiError> {
    if resolved.access() == Access::Public {
        return Ok(Grant {
            caps: Capabilities::all_root(),
        });
    }
    let caller = caller.ok_or(ApiError::PermissionDenied)?;
    let acl = app
        .acl_cache
        .acl(
            app.store.as_ref(),
            &caller.policies,
            now,
            app.config.policy_cache_ttl,
        )
        .await?;
    let caps = acl.operation_capabilities(&resolved.path, resolved.op == Operation::List);
    let allowed = match resolved.op {
        Operation::Read => caps.contains(Capability::Read),
        Operation::List => caps.contains(Capability::List),
        Operation::Delete => caps.contains(Capability::Delete),
        // Only existence-checked writes accept `create`; their handlers then require
        // `create` for a new item and `update` for an existing one.
        Operation::Update if resolved.has_existence_check() => {
            caps.contains(Capability::Update) || caps.contains(Capability::Create)
        }
        Operation::Update => caps.contains(Capability::Update),
    };
    if !allowed || (resolved.needs_sudo() && !caps.contains(Capability::Sudo)) {
        return Err(ApiError::PermissionDenied);
    }
    if resolved.checks_parameters() {
        acl.check_parameters(&resolved.path, body).map_err(|why| {
            tracing::info!(reason = %why, "parameter constraints refused the request");
            ApiError::PermissionDenied
        })?;
    }
    Ok(Grant { caps })
}
