//! Backends: each secrets engine, auth method and the system backend declares its paths
//! in one table in its own module ([`PathSpec`]s, as OpenBao's `logical.Backend`), and
//! serves them with handlers that take a request context ([`Ctx`]). The router
//! ([`crate::route`]) finds the mount, then the path in its backend's table; a new
//! route is an edit to one backend module.
//!
//! The engines' and auth methods' rules live in their own modules ([`crate::kv`],
//! [`crate::approle`], [`crate::aws_engine`], [`crate::transit`], [`crate::database`], [`crate::auth`],
//! [`crate::auth_aws`], [`crate::identity`], [`crate::token`], [`crate::lease`]); the modules
//! here map requests onto them.

pub mod ctx;
pub mod operation;
pub mod reply;
pub mod spec;

mod approle;
mod auth_mount;
mod aws;
mod aws_auth;
mod database;
mod identity;
mod jwt;
mod kubernetes;
mod kv;
mod sys;
mod token;
mod transit;

use crate::mounts::BackendKind;

pub use ctx::{Caller, Ctx, Services};
pub use spec::{Function, OpSpec, Operation, PathSpec};

/// The path table of a backend.
pub fn paths(kind: BackendKind) -> &'static [PathSpec] {
    match kind {
        BackendKind::System => sys::PATHS,
        BackendKind::Kv => kv::PATHS,
        BackendKind::Aws => aws::PATHS,
        BackendKind::Transit => transit::PATHS,
        BackendKind::Database => database::PATHS,
        BackendKind::Token => token::PATHS,
        BackendKind::AppRole => approle::PATHS,
        BackendKind::Jwt => jwt::PATHS,
        BackendKind::Kubernetes => kubernetes::PATHS,
        BackendKind::AwsAuth => aws_auth::PATHS,
        BackendKind::Identity => identity::PATHS,
    }
}

/// Every backend kind.
pub const KINDS: [BackendKind; 11] = [
    BackendKind::System,
    BackendKind::Kv,
    BackendKind::Aws,
    BackendKind::Transit,
    BackendKind::Database,
    BackendKind::Token,
    BackendKind::AppRole,
    BackendKind::Jwt,
    BackendKind::Kubernetes,
    BackendKind::AwsAuth,
    BackendKind::Identity,
];

/// A backend's name in route names (`kv`, `sys`, `approle`, ...).
pub fn kind_name(kind: BackendKind) -> &'static str {
    match kind {
        BackendKind::System => "sys",
        BackendKind::Kv => "kv",
        BackendKind::Aws => "aws",
        BackendKind::Transit => "transit",
        BackendKind::Database => "database",
        BackendKind::Token => "token",
        BackendKind::AppRole => "approle",
        BackendKind::Jwt => "jwt",
        BackendKind::Kubernetes => "kubernetes",
        BackendKind::AwsAuth => "aws-auth",
        BackendKind::Identity => "identity",
    }
}

/// Every route of every backend, named `<backend>:<pattern>`, with its operations.
pub fn all_routes() -> Vec<(String, &'static PathSpec)> {
    KINDS
        .iter()
        .flat_map(|k| {
            paths(*k)
                .iter()
                .map(move |s| (format!("{}:{}", kind_name(*k), s.pattern), s))
        })
        .collect()
}
