//! Sigil's shared library: everything the Lambda functions and the CLI do, behind small
//! ports (`Store`, `Kms`, `Clock`) with AWS adapters and in-memory fakes.
//!
//! Map (DESIGN.md): [`route`] resolves a request through the [`mounts`] table to a
//! path of a [`backend`], [`authz`] decides, and the backend's handler runs the
//! engines ([`kv`], [`approle`], [`auth_aws`], [`token`]) over [`store`] and [`keyring`];
//! [`http`] maps Lambda events and Vault's envelope; [`sweeper`] cleans up; [`aws`]
//! builds the real adapters.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod adapters;
pub mod app;
pub mod approle;
pub mod audit;
pub mod auth;
pub mod auth_aws;
pub mod authz;
pub mod aws_engine;
pub mod backend;
pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod jwt;
pub mod keyring;
pub mod kms;
pub mod kv;
pub mod lease;
pub mod mounts;
mod pipeline;
pub mod policies;
pub mod policy;
pub mod quota;
#[cfg(test)]
mod redaction_tests;
pub mod request_path;
pub mod route;
pub mod store;
pub mod sweeper;
pub mod telemetry;
pub mod token;
pub mod token_fields;
pub mod token_format;
pub mod ttl;

pub use adapters::aws;
pub use app::App;
pub use error::ApiError;
pub use route::Function;
