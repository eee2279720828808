//! The identity store (Vault's `identity/` mount): entities, their aliases in auth
//! mounts, internal and external groups, group aliases and lookups, with OpenBao's
//! fields, defaults and texts (`internal/vault/identity/` in OpenBao's source).
//!
//! - [`keys`]: where each record and index lives in the one table.
//! - [`records`]: the records and their item codec (JSON document and revision).
//! - [`fields`]: request fields and OpenBao's checks (metadata, policies).
//! - [`store`]: reads, and commits with conditional transactions computed again when
//!   a concurrent writer got there first.
//! - [`graph`]: the group graph (parents, inherited groups, cycles).
//! - [`entities`], [`aliases`], [`groups`], [`group_aliases`], [`lookup`]: the rules
//!   of each route family ([`group_aliases`] also holds external group membership).
//! - [`view`]: the records as Vault answers them.
//! - [`login`]: logins creating or finding the entity of their alias, and joining the
//!   external groups their group names map to.
//! - [`request`]: the identity a request acts for (entity, aliases, groups) and the
//!   policies it adds.

pub mod aliases;
pub mod entities;
pub mod fields;
pub mod graph;
pub mod group_aliases;
pub mod groups;
pub mod keys;
pub mod login;
pub mod lookup;
pub mod records;
pub mod request;
pub mod store;
pub mod view;

/// What one process keeps of the identity store ([`crate::app::App::identity`]).
#[derive(Debug, Default)]
pub struct Caches {
    /// Aliases logins resolved ([`login::AliasCache`]).
    pub aliases: std::sync::Arc<login::AliasCache>,
    /// Identities tokens act for ([`request::IdentityCache`]).
    pub entities: request::IdentityCache,
}

#[cfg(test)]
mod external_tests;
#[cfg(test)]
mod tests;
