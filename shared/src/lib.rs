//! Sigil's shared library: everything the Lambda functions and the CLI do, behind small
//! ports (`Store`, `Kms`, `Clock`) with AWS adapters and in-memory fakes.
//!
//! Map (DESIGN.md, docs/architecture.md): [`route`] resolves a request through the
//! [`mounts`] table to a path of a backend, authorization decides, and the backend's
//! handler runs the engines and auth methods over the store and the [`keyring`];
//! [`http`] maps Lambda events and Vault's envelope; [`sweeper`] cleans up; [`aws`]
//! builds the real adapters.
//!
//! The public surface is what the functions and the `sigil` CLI use: [`App`],
//! [`Function`], [`ApiError`], [`aws`], [`http`], [`telemetry`], [`route`],
//! [`sweeper`], [`mounts`], [`bootstrap`], [`keyring`], [`config`], [`clock`],
//! [`token`] and [`auth_aws`] (the CLI signs AWS logins). The other modules are
//! public only so that the end-to-end suite, the benchmarks and the fuzz targets can
//! drive the internals; they are hidden from the documentation and are no API.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

#[doc(hidden)]
pub mod adapters;
#[doc(hidden)]
pub mod app;
#[doc(hidden)]
pub mod approle;
#[doc(hidden)]
pub mod audit;
#[doc(hidden)]
pub mod auth;
pub mod auth_aws;
#[doc(hidden)]
pub mod authz;
#[doc(hidden)]
pub mod aws_engine;
#[doc(hidden)]
pub mod backend;
pub mod backoff;
pub mod batch_token;
pub mod bootstrap;
pub mod clock;
pub mod config;
#[doc(hidden)]
pub mod crypto;
#[doc(hidden)]
pub mod database;
/// Due-time jobs the sweeper runs (scheduled rotations).
pub mod due;
#[doc(hidden)]
pub mod error;
pub mod http;
pub mod identity;
#[doc(hidden)]
pub mod jwt;
pub mod keyring;
#[doc(hidden)]
pub mod kms;
#[doc(hidden)]
pub mod kv;
#[doc(hidden)]
pub mod lease;
pub mod mounts;
mod pipeline;
#[doc(hidden)]
pub mod policies;
#[doc(hidden)]
pub mod policy;
#[doc(hidden)]
pub mod quota;
#[cfg(test)]
mod redaction_tests;
#[doc(hidden)]
pub mod request_path;
pub mod revocation;
pub mod route;
#[doc(hidden)]
pub mod store;
pub mod sweeper;
pub mod telemetry;
pub mod token;
pub mod token_create;
#[doc(hidden)]
pub mod token_fields;
#[doc(hidden)]
pub mod token_format;
pub mod token_role;
#[doc(hidden)]
pub mod transit;
#[doc(hidden)]
pub mod ttl;
pub mod wrapping;

pub use adapters::aws;
pub use app::App;
pub use error::ApiError;
pub use route::Function;
