//! The AWS secrets engine (`aws/`): dynamic IAM users and STS credentials under leases
//! (VAULT-NOTES.md, "AWS secrets engine"): the IAM and STS ports and adapters, the
//! root configuration and the clients built from it, roles, user names, issue and
//! revocation.

pub mod clients;
pub mod iam;
pub mod issue;
pub mod names;
pub mod revoke;
pub mod roles;
pub mod root;
pub mod sts;

#[cfg(test)]
mod tests;
