//! Routing: the mount a request's path falls under ([`crate::mounts`]), then the path
//! spec in that mount's backend table ([`crate::backend`]), which names the operation's
//! function, handler and the access it needs.
//!
//! No route is listed here: each backend owns its paths. The Lambda watch router in
//! `Cargo.toml` and the deployment template split requests between functions the same
//! way (tests check they agree).

use std::sync::Arc;

use crate::backend::{self, PathSpec};
use crate::error::ApiError;
use crate::mounts::{MountEntry, MountTable};

pub use crate::backend::ctx::Params;
pub use crate::backend::operation::{Function, Operation};
pub use crate::backend::spec::OpSpec;
pub use crate::request_path::{MAX_PATH_BYTES, clean_segments, logical_path};

/// A resolved request: the mount, the backend's path spec and operation, captured
/// parameters, and the logical path (without `/v1/`), which policies are written
/// against.
#[derive(Clone)]
pub struct Resolved {
    /// The mount serving the path.
    pub mount: Arc<MountEntry>,
    /// The backend's path spec.
    pub spec: &'static PathSpec,
    /// The operation's spec (function, handler).
    pub op_spec: &'static OpSpec,
    /// Parameters captured from the path.
    pub params: Params,
    /// The operation.
    pub op: Operation,
    /// The logical path, e.g. `secret/data/app/db`.
    pub path: String,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("mount", &self.mount.full_path())
            .field("pattern", &self.spec.pattern)
            .field("op", &self.op)
            .finish_non_exhaustive()
    }
}

impl Resolved {
    /// The function that serves this request.
    pub fn function(&self) -> Function {
        self.op_spec.function
    }

    /// Whether policies' parameter constraints apply: on reads and writes, as Vault's
    /// `AllowOperation`, where the path's spec does not exempt them (no path does
    /// today; KV v2 data paths are judged on their top-level parameters, as OpenBao
    /// judges them).
    pub fn checks_parameters(&self) -> bool {
        matches!(
            self.op,
            Operation::Update | Operation::Read | Operation::Patch
        ) && self.spec.parameter_checks
    }

    /// The route's name: the backend's type and the path's pattern, e.g.
    /// `kv:data/{*path}` (tests and audit tooling name routes so).
    pub fn route_name(&self) -> String {
        format!(
            "{}:{}",
            backend::kind_name(self.mount.kind),
            self.spec.pattern
        )
    }
}

fn op_of(method: &str, list_query: bool) -> Result<Operation, ApiError> {
    Ok(match method {
        "GET" | "HEAD" if list_query => Operation::List,
        "GET" | "HEAD" => Operation::Read,
        "LIST" => Operation::List,
        "POST" | "PUT" => Operation::Update,
        "PATCH" => Operation::Patch,
        "DELETE" => Operation::Delete,
        _ => return Err(ApiError::MethodNotAllowed),
    })
}

/// Resolves a request against a mount table: 404 for a path no mount or no path spec
/// serves, 405 for a known path with a method it does not take.
pub fn resolve(
    table: &MountTable,
    method: &str,
    raw_path: &str,
    list_query: bool,
) -> Result<Resolved, ApiError> {
    let mut path = logical_path(raw_path)?;
    let op = op_of(method, list_query)?;
    // Vault lists folders: a LIST path always ends in `/` (policies are written so).
    // Any other operation on a path ending in `/` names no item: refusing it keeps the
    // path the ACL sees identical to the item the handler acts on.
    if op == Operation::List {
        if !path.ends_with('/') {
            path.push('/');
        }
    } else if path.ends_with('/') {
        return Err(ApiError::no_route(&path));
    }
    let folder = path.ends_with('/');
    let trimmed = path.strip_suffix('/').unwrap_or(&path);
    let (mount, rest) = table
        .find(trimmed)
        .ok_or_else(|| ApiError::no_route(&path))?;
    let (spec, params) = backend::paths(mount.kind)
        .iter()
        .find_map(|s| s.matches(rest, folder).map(|p| (s, p)))
        .ok_or_else(|| ApiError::no_route(&path))?;
    let op_spec = spec.op(op).ok_or(ApiError::MethodNotAllowed)?;
    Ok(Resolved {
        mount: mount.clone(),
        spec,
        op_spec,
        params,
        op,
        path,
    })
}
