//! The AWS IAM auth method (`auth/aws`), following Vault's `aws` auth method API with
//! `auth_type=iam` (Vault's AWS auth API docs: `config/client`, `role/:name`, `login`).
//!
//! A workload proves its AWS identity in one of two ways:
//! - Vault's `iam` login: it signs an `sts:GetCallerIdentity` request with its own AWS
//!   credentials and sends the signed request (`iam_http_request_method`,
//!   `iam_request_url`, `iam_request_body`, `iam_request_headers`, all base64). Sigil
//!   checks that the request is exactly a `GetCallerIdentity` for the configured STS
//!   endpoint ([`iam_request`]), forwards it to STS ([`caller_identity`]) and reads the
//!   caller's ARN from STS's answer;
//! - API Gateway's IAM authorization: the caller signs its call to Sigil itself, and
//!   API Gateway puts the verified caller ARN in the request context
//!   ([`crate::http::ApiRequest::iam_caller_arn`]).
//!
//! Either way the ARN is matched against the role's `bound_iam_principal_arn`
//! ([`arn`]) and a token is minted ([`login`]).
//!
//! Items (one table), under the mount's prefix ([`Mount`], `auth_aws` for `auth/aws/`):
//! `{prefix}/config` / `client` holds the client configuration
//! ([`config`]) and `{prefix}/config` / `identity` the alias configuration
//! ([`identity`]); `{prefix}/role` / `{name}` holds each role ([`role`]), so that listing
//! roles is one query and login reads the configuration and the role in one round trip.
//!
//! [`sign`] is the client side: it builds the signed login request, as Vault's CLI does
//! (`sigil login aws` and the tests use it).

pub mod arn;
pub mod caller_identity;
pub mod config;
pub mod iam_request;
pub mod identity;
pub mod login;
pub mod role;
pub mod sign;
pub mod stored;

/// The mount Sigil serves the method at.
pub const MOUNT: &str = "aws";

/// One AWS auth mount: the prefix its items are kept under (`auth_aws` for the
/// environment's `auth/aws/`, `auth_aws/{uuid}` for a mount enabled through the API;
/// [`crate::mounts::MountEntry::storage`]) and its name (its tokens' path is
/// `auth/{name}/login`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mount<'a> {
    /// The storage prefix.
    pub prefix: &'a str,
    /// The mount's name.
    pub name: &'a str,
}

impl Mount<'static> {
    /// The environment's mount, `auth/aws/`.
    pub const DEFAULT: Mount<'static> = Mount {
        prefix: "auth_aws",
        name: MOUNT,
    };
}

impl Mount<'_> {
    /// The partition of every role of the mount (sort key: the name).
    pub fn roles_partition(&self) -> String {
        format!("{}/role", self.prefix)
    }

    /// The partition of the mount's client configuration.
    pub fn config_partition(&self) -> String {
        format!("{}/config", self.prefix)
    }
}

/// The message for every login failure that could reveal which part was wrong (unknown
/// role, principal not bound, a request signed for another host or action, a wrong or
/// unsigned server ID header, credentials STS refused), so they cannot be told apart.
/// The reason goes to the log.
pub const INVALID_CREDENTIALS: &str = "invalid role or AWS credentials";

/// The header that carries the server ID (Vault's `X-Vault-AWS-IAM-Server-ID`),
/// lowercase.
pub const SERVER_ID_HEADER: &str = "x-vault-aws-iam-server-id";

/// Logs why a login was refused (never a secret: the reason is a fixed text) and
/// returns the uniform 400.
pub(crate) fn refuse(reason: &str) -> crate::error::ApiError {
    tracing::info!(reason, "aws login refused");
    crate::error::ApiError::bad(INVALID_CREDENTIALS)
}
