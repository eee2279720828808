//! Vault ACL policies: parsing (HCL and JSON), compilation, evaluation.
//!
//! - [`parse`] turns policy text (Vault's syntax) into a [`Policy`] of [`PathRule`]s,
//!   refusing anything Vault would refuse (and a little more, see `docs/policies.md`)
//!   with a [`PolicyError`] that names the line.
//! - [`Acl::new`] compiles a token's policies into one [`Acl`]; identical paths merge.
//! - [`Acl::capabilities`], [`Acl::allows`] and [`Acl::check_parameters`] evaluate a
//!   request path by Vault's rules: deny by default; an exact rule wins outright;
//!   otherwise the most specific `*` / `+` rule by Vault's priority rules; `deny`
//!   overrides everything.
//!
//! Modules: [`capability`] (the capability set), `parse` (text to [`Policy`]), `params`
//! (parameter constraints), [`template`] (identity templates in paths, resolved per
//! entity by [`Policy::resolve`]), `trie` (the prefix index), `acl` (compile and
//! evaluate).
//! User documentation: `docs/policies.md`.
//!
//! ```
//! use sigil::policy::{parse, Acl, Capability};
//!
//! let policy = parse("app", r#"
//! path "secret/data/app/*" {
//!   capabilities = ["read", "list"]
//! }
//! path "secret/data/app/admin" {
//!   capabilities = ["deny"]
//! }
//! "#)?;
//! let acl = Acl::new(&[&policy]);
//! assert!(acl.allows("secret/data/app/db", Capability::Read));
//! assert!(!acl.allows("secret/data/app/admin", Capability::Read));
//! assert!(acl.capabilities("secret/data/other").is_empty());
//! # Ok::<(), sigil::policy::PolicyError>(())
//! ```

mod acl;
pub mod capability;
mod grant;
mod params;
mod parse;
pub mod template;
mod trie;

#[cfg(test)]
mod tests;

pub use acl::Acl;
pub use capability::{Capabilities, Capability, UnknownCapability};
pub use grant::Grant;
pub use parse::{
    DEFAULT_POLICY, DEFAULT_POLICY_NAME, MAX_PATH_RULES, MAX_POLICY_BYTES, PathRule, Policy,
    PolicyError, RESPONSE_WRAPPING_POLICY, RESPONSE_WRAPPING_POLICY_NAME, ROOT_POLICY_NAME, parse,
};
