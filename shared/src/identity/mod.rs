//! The identity store (Vault's `identity/` mount): entities, their aliases in auth
//! mounts, internal groups and lookups, with OpenBao's fields, defaults and texts
//! (`internal/vault/identity/` in OpenBao's source).
//!
//! - [`keys`]: where each record and index lives in the one table.
//! - [`records`]: the records and their item codec (JSON document and revision).
//! - [`fields`]: request fields and OpenBao's checks (metadata, policies).
//! - [`store`]: reads, and commits with conditional transactions computed again when
//!   a concurrent writer got there first.
//! - [`graph`]: the group graph (parents, inherited groups, cycles).
//! - [`entities`], [`aliases`], [`groups`], [`lookup`]: the rules of each route family.
//! - [`view`]: the records as Vault answers them.
//!
//! Not yet: logins creating entities, templated policies, group aliases, entity
//! policies at request time (issue 17's next increments).

pub mod aliases;
pub mod entities;
pub mod fields;
pub mod graph;
pub mod groups;
pub mod keys;
pub mod lookup;
pub mod records;
pub mod store;
pub mod view;

#[cfg(test)]
mod tests;
