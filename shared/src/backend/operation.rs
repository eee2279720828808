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

    /// Every function.
    pub const ALL: [Function; 6] = [
        Function::Login,
        Function::Issue,
        Function::Renew,
        Function::Revoke,
        Function::Admin,
        Function::Sweeper,
    ];

    /// Whether the function's routes or jobs connect to databases (the database
    /// engine's port): issue (`creds`), renew and revoke (database leases), admin
    /// (`config`, `rotate-root`, static roles), sweeper (expired database leases, due
    /// rotations). Never login. `infra/template.yaml` puts exactly these in the
    /// database VPC when one is given (docs/deploy.md, "Databases in a VPC").
    pub fn reaches_databases(self) -> bool {
        !matches!(self, Function::Login)
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
