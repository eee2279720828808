//! Vault's operations (what policies grant as capabilities) and the Lambda functions
//! that serve them.

/// The Lambda functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// `login`: auth methods' login routes.
    Login,
    /// `issue`: reads (KV), credential issue, token and lease lookups.
    Issue,
    /// `renew`: token and lease renewal.
    Renew,
    /// `revoke`: token and lease revocation.
    Revoke,
    /// `admin`: configuration and writes.
    Admin,
    /// `sweeper`: scheduled cleanup (no HTTP routes).
    Sweeper,
}

impl Function {
    /// The function's (and its binary's) name.
    pub fn name(self) -> &'static str {
        match self {
            Function::Login => "login",
            Function::Issue => "issue",
            Function::Renew => "renew",
            Function::Revoke => "revoke",
            Function::Admin => "admin",
            Function::Sweeper => "sweeper",
        }
    }
}

/// Vault's operations, which policies grant as capabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `GET`
    Read,
    /// `LIST` or `GET ?list=true`
    List,
    /// `POST` / `PUT`
    Update,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Operation {
    /// Vault's name of the operation (`read`, `list`, `update`, `patch`, `delete`).
    pub fn name(self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::List => "list",
            Operation::Update => "update",
            Operation::Patch => "patch",
            Operation::Delete => "delete",
        }
    }
}
