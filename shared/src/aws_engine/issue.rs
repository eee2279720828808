//! Issuing IAM user credentials (`{mount}/creds/:role` for `iam_user` roles), write-ahead:
//! the lease is recorded (pending) before the user exists, then the user, its policies
//! and its access key are created, then the lease becomes active. A failure undoes what
//! was created; the lease remains only when the undo itself failed, so the sweeper can
//! finish it. The undo always deletes the user, even when `CreateUser` failed: an
//! error never proves IAM did not apply the call (the SDK retries; its last attempt
//! may be refused after an earlier one timed out having created the user). A crash (a
//! [`Failpoints`] stop, in tests) leaves a pending lease that the sweeper revokes after
//! [`crate::lease::PENDING_GRACE_SECS`].

use std::collections::BTreeMap;

use secrecy::SecretString;

use super::Mount;
use super::iam::{IamApi, IamError, NewUser, delete_user_fully};
use super::names::user_name;
use super::revoke::{DATA_MOUNT_PREFIX, DATA_USER_NAME, KIND_IAM_USER};
use super::roles::{AwsRole, LeaseConfig};
use crate::error::ApiError;
use crate::lease::{self, Lease, LeaseState};
use crate::store::Store;
use crate::token::TokenEntry;

/// The steps of an issue, after which a test may stop it as if the process died.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueStep {
    /// The pending lease is written.
    LeaseWritten,
    /// The IAM user exists.
    UserCreated,
    /// Its policies and groups are attached.
    PoliciesAttached,
    /// Its access key exists.
    KeyCreated,
}

impl IssueStep {
    /// Every step, in order.
    pub const ALL: [IssueStep; 4] = [
        IssueStep::LeaseWritten,
        IssueStep::UserCreated,
        IssueStep::PoliciesAttached,
        IssueStep::KeyCreated,
    ];
}

/// The steps of a static role's key rotation ([`super::static_roles`]), after which a
/// test may stop it as if the process died.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaticStep {
    /// `CreateAccessKey` answered; the new key is stored nowhere yet.
    KeyCreated,
    /// The new key is stored (sealed) as the role's pending key.
    PendingStored,
    /// The pending key is the current one; the previous one is kept for its grace period.
    Promoted,
    /// The previous key is deleted in IAM; the role still names it.
    OldDeleted,
}

impl StaticStep {
    /// Every step, in order.
    pub const ALL: [StaticStep; 4] = [
        StaticStep::KeyCreated,
        StaticStep::PendingStored,
        StaticStep::Promoted,
        StaticStep::OldDeleted,
    ];
}

/// The failure-injection port: whether to stop (as a crash) after a step.
pub trait Failpoints: Send + Sync {
    /// `true` stops the issue right after `step`, with no undo.
    fn crash_after(&self, step: IssueStep) -> bool;

    /// `true` stops a static role's rotation right after `step`. Default: never.
    fn crash_after_static(&self, _step: StaticStep) -> bool {
        false
    }
}

/// Production: never stops.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFailpoints;

impl Failpoints for NoFailpoints {
    fn crash_after(&self, _step: IssueStep) -> bool {
        false
    }
}

/// Tests: stops after one step.
#[derive(Clone, Copy, Debug)]
pub struct CrashAfter(pub IssueStep);

impl Failpoints for CrashAfter {
    fn crash_after(&self, step: IssueStep) -> bool {
        step == self.0
    }
}

/// Tests: stops a static rotation after one step (issues are never stopped).
#[derive(Clone, Copy, Debug)]
pub struct StaticCrashAfter(pub StaticStep);

impl Failpoints for StaticCrashAfter {
    fn crash_after(&self, _step: IssueStep) -> bool {
        false
    }

    fn crash_after_static(&self, step: StaticStep) -> bool {
        step == self.0
    }
}

/// Issued credentials. `Debug` never prints the secret key.
pub struct Issued {
    /// The active lease.
    pub lease: Lease,
    /// Access key ID.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: SecretString,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("lease", &self.lease.id)
            .field("access_key", &self.access_key)
            .field("secret_key", &"redacted")
            .finish()
    }
}

fn crashed() -> ApiError {
    tracing::error!("issue stopped by a failpoint (simulated crash)");
    ApiError::Internal
}

fn iam_error(e: &IamError) -> ApiError {
    match e {
        IamError::Retryable(_) => ApiError::Unavailable,
        IamError::NoSuchEntity => ApiError::bad(
            "AWS refused the role's IAM settings: NoSuchEntity (a policy or group it names does not exist)",
        ),
        IamError::Failed(code) => {
            ApiError::bad(format!("AWS refused the role's IAM settings: {code}"))
        }
    }
}

/// Issues an IAM user for `role` (named `role_name`, of mount `m`) to `caller`.
#[allow(clippy::too_many_arguments)]
pub async fn issue_iam_user(
    store: &dyn Store,
    m: Mount<'_>,
    iam: &dyn IamApi,
    failpoints: &dyn Failpoints,
    role_name: &str,
    role: &AwsRole,
    lease_cfg: LeaseConfig,
    caller: &TokenEntry,
    now: i64,
) -> Result<Issued, ApiError> {
    let path = m.lease_path("creds", role_name);
    let user = user_name(&caller.display_name, role_name).map_err(|_| ApiError::Internal)?;
    let ttl = lease_cfg.lease.min(lease_cfg.lease_max);
    let mut lease = Lease {
        id: lease::new_id(&path)?,
        path,
        kind: KIND_IAM_USER.into(),
        state: LeaseState::Pending,
        issued_at: now,
        expire_at: (now + ttl).min(crate::token::lease_cap(caller)),
        max_expire_at: (now + lease_cfg.lease_max).min(crate::token::lease_cap(caller)),
        renewable: true,
        token_hash: crate::token::lease_owner(caller),
        data: BTreeMap::from([
            (DATA_USER_NAME.to_owned(), user.clone()),
            (DATA_MOUNT_PREFIX.to_owned(), m.prefix.to_owned()),
        ]),
        attempts: 0,
        last_error: None,
    };
    store.transact(lease.pending_writes()).await.map_err(|e| {
        if e.is_condition() {
            crate::token::lease_refused(caller)
        } else {
            e.into()
        }
    })?;
    if failpoints.crash_after(IssueStep::LeaseWritten) {
        return Err(crashed());
    }
    let mut tags: Vec<(String, String)> = role
        .iam_tags
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    tags.push((
        "sigil-lease-id".into(),
        lease.id.chars().take(256).collect(),
    ));
    let created = create(iam, failpoints, &user, role, tags).await;
    let key = match created {
        Ok(Some(key)) => key,
        Ok(None) => return Err(crashed()),
        Err(e) => return Err(undo(store, iam, &lease, &user, &e).await),
    };
    if let Err(e) = lease::activate(store, &mut lease, now).await {
        // A revocation claimed or marked the lease meanwhile (its token was revoked, or
        // it was revoked by ID or prefix), or storage failed: take the user back. The
        // client is told why: its token's revocation (403, or Vault's last-use 400),
        // else 503.
        tracing::warn!(error = %e, "lease activation failed; undoing the IAM user");
        let cause = IamError::Failed("LeaseActivation".into());
        undo(store, iam, &lease, &user, &cause).await;
        return Err(if e.is_condition() {
            crate::token::lease_refused(caller)
        } else {
            ApiError::Unavailable
        });
    }
    Ok(Issued {
        lease,
        access_key: key.id,
        secret_key: key.secret,
    })
}

/// Creates the user, its attachments and key. `Ok(None)`: a failpoint stopped it.
async fn create(
    iam: &dyn IamApi,
    failpoints: &dyn Failpoints,
    user: &str,
    role: &AwsRole,
    tags: Vec<(String, String)>,
) -> Result<Option<super::iam::AccessKey>, IamError> {
    iam.create_user(&NewUser {
        name: user.to_owned(),
        path: role.user_path.clone(),
        permissions_boundary: (!role.permissions_boundary_arn.is_empty())
            .then(|| role.permissions_boundary_arn.clone()),
        tags,
    })
    .await?;
    if failpoints.crash_after(IssueStep::UserCreated) {
        return Ok(None);
    }
    for arn in &role.policy_arns {
        iam.attach_user_policy(user, arn).await?;
    }
    if !role.policy_document.is_empty() {
        iam.put_user_policy(user, "sigil", &role.policy_document)
            .await?;
    }
    for group in &role.iam_groups {
        iam.add_user_to_group(user, group).await?;
    }
    if failpoints.crash_after(IssueStep::PoliciesAttached) {
        return Ok(None);
    }
    let key = iam.create_access_key(user).await?;
    if failpoints.crash_after(IssueStep::KeyCreated) {
        return Ok(None);
    }
    Ok(Some(key))
}

/// Undoes a failed issue: deletes the user (whatever the error said, it may exist);
/// once it is gone the lease records go too, else the pending lease stays for the
/// sweeper. Returns the client's error for the cause.
async fn undo(
    store: &dyn Store,
    iam: &dyn IamApi,
    lease: &Lease,
    user: &str,
    cause: &IamError,
) -> ApiError {
    tracing::warn!(error = %cause, "issuing an IAM user failed; undoing");
    let user_gone = match delete_user_fully(iam, user).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "undo failed; the pending lease is left for the sweeper");
            false
        }
    };
    if user_gone && let Err(e) = store.transact(lease.delete_writes()).await {
        tracing::error!(error = %e, "undo: lease record left for the sweeper");
    }
    iam_error(cause)
}
