//! The JWT/OIDC auth method (Vault's `jwt` plugin, JWT roles only): a mount's config
//! says where the issuer's keys are ([`config`]), roles say which tokens may log in and
//! what they get ([`role`]), and [`login`] turns a valid token into a Sigil token.
//! Mount names come from `SIGIL_JWT_MOUNTS` (default `jwt`), e.g. `jwt,github`.

pub mod config;
pub mod login;
pub mod role;
