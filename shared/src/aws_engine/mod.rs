//! The AWS secrets engine (`aws/`): dynamic IAM users and STS credentials under leases
//! (VAULT-NOTES.md, "AWS secrets engine"). Built in steps: the IAM port and adapter,
//! user names, and lease revocation are here; roles, issue and STS follow.

pub mod iam;
pub mod iam_aws;
pub mod issue;
pub mod names;
pub mod revoke;
pub mod roles;
pub mod sts;

#[cfg(test)]
mod tests;
