//! Revocation of the AWS engine's leases.

use std::sync::Arc;

use async_trait::async_trait;

use super::Mount;
use super::clients::EngineClients;
use super::iam::{IamError, delete_user_fully};
use crate::lease::{Lease, RevokeError, Revoker};

/// Lease kind of an IAM user issued by `aws/creds/:role`.
pub const KIND_IAM_USER: &str = "aws.iam_user";
/// Lease data key naming the user.
pub const DATA_USER_NAME: &str = "user_name";
/// Lease data key naming the storage prefix of the mount that issued it
/// ([`Mount::prefix`]), whose root configuration revokes it. Absent from leases issued
/// before mounts: those are the environment's `aws/` ([`Mount::DEFAULT`]).
pub const DATA_MOUNT_PREFIX: &str = "mount_prefix";

/// Revokes `aws.iam_user` leases: deletes the user and everything attached to it,
/// through the IAM client of the issuing mount's current root configuration.
pub struct IamUserRevoker {
    clients: Arc<EngineClients>,
}

impl IamUserRevoker {
    /// A revoker over the engine's `clients`.
    pub fn new(clients: Arc<EngineClients>) -> Self {
        Self { clients }
    }
}

#[async_trait]
impl Revoker for IamUserRevoker {
    async fn revoke(&self, lease: &Lease) -> Result<(), RevokeError> {
        // A pending lease may name a user that was never created: gone already.
        let Some(user) = lease.data.get(DATA_USER_NAME) else {
            return Ok(());
        };
        let m = Mount {
            prefix: lease
                .data
                .get(DATA_MOUNT_PREFIX)
                .map_or(Mount::DEFAULT.prefix, String::as_str),
            name: lease.path.split('/').next().unwrap_or_default(),
        };
        let clients = self.clients.get(m).await.map_err(|e| {
            tracing::warn!(error = %e, mount = m.name, "reading the mount's config/root failed");
            RevokeError("the mount's config/root is unavailable".into())
        })?;
        delete_user_fully(clients.iam.as_ref(), user)
            .await
            .map_err(|e| match e {
                IamError::NoSuchEntity => RevokeError("NoSuchEntity".into()),
                IamError::Retryable(c) | IamError::Failed(c) => RevokeError(c),
            })
    }
}
