//! Checking JWTs from outside issuers (CI OIDC providers, Kubernetes clusters): where
//! the keys come from ([`source`]), how long they are kept ([`cache`]), how a token is
//! verified ([`verify`]) and how its claims meet a role's bindings ([`claims`]).
//! The auth methods built on it live in [`crate::auth`].

pub mod cache;
pub mod claims;
pub mod glob;
pub mod keys;
pub mod source;
pub mod verify;
