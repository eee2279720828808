//! The IAM port: the calls the AWS engine makes to create and delete IAM users, with an
//! in-memory fake whose errors can be injected (real IAM errors such as `DeleteConflict`
//! or throttling that moto does not raise).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use secrecy::SecretString;

/// IAM failures, by what the engine does about them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IamError {
    /// `NoSuchEntity`: the thing is already gone (revocation counts it as done).
    #[error("NoSuchEntity")]
    NoSuchEntity,
    /// Throttling, a 5xx, a timeout or a refused connection: retry later. Whether IAM
    /// applied the call is unknown (the SDK's last attempt may have been refused after
    /// an earlier one timed out having been applied).
    #[error("{0}")]
    Retryable(String),
    /// Anything else (access denied, conflicts, invalid input): the code.
    #[error("{0}")]
    Failed(String),
}

/// A new access key.
pub struct AccessKey {
    /// Access key ID (not secret).
    pub id: String,
    /// Secret access key.
    pub secret: SecretString,
}

/// What a new user gets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewUser {
    /// User name.
    pub name: String,
    /// IAM path, e.g. `/sigil/`.
    pub path: String,
    /// Permissions boundary ARN.
    pub permissions_boundary: Option<String>,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

/// The IAM calls of the AWS engine.
#[async_trait]
pub trait IamApi: Send + Sync {
    /// `CreateUser`.
    async fn create_user(&self, user: &NewUser) -> Result<(), IamError>;
    /// `AttachUserPolicy`.
    async fn attach_user_policy(&self, user: &str, policy_arn: &str) -> Result<(), IamError>;
    /// `PutUserPolicy` (inline).
    async fn put_user_policy(&self, user: &str, name: &str, document: &str)
    -> Result<(), IamError>;
    /// `AddUserToGroup`.
    async fn add_user_to_group(&self, user: &str, group: &str) -> Result<(), IamError>;
    /// `CreateAccessKey`.
    async fn create_access_key(&self, user: &str) -> Result<AccessKey, IamError>;
    /// `ListAccessKeys`: key IDs.
    async fn list_access_keys(&self, user: &str) -> Result<Vec<String>, IamError>;
    /// `DeleteAccessKey`.
    async fn delete_access_key(&self, user: &str, key_id: &str) -> Result<(), IamError>;
    /// `ListUserPolicies`: inline policy names.
    async fn list_user_policies(&self, user: &str) -> Result<Vec<String>, IamError>;
    /// `DeleteUserPolicy`.
    async fn delete_user_policy(&self, user: &str, name: &str) -> Result<(), IamError>;
    /// `ListAttachedUserPolicies`: ARNs.
    async fn list_attached_user_policies(&self, user: &str) -> Result<Vec<String>, IamError>;
    /// `DetachUserPolicy`.
    async fn detach_user_policy(&self, user: &str, policy_arn: &str) -> Result<(), IamError>;
    /// `ListGroupsForUser`: group names.
    async fn list_groups_for_user(&self, user: &str) -> Result<Vec<String>, IamError>;
    /// `RemoveUserFromGroup`.
    async fn remove_user_from_group(&self, user: &str, group: &str) -> Result<(), IamError>;
    /// `DeleteLoginProfile`.
    async fn delete_login_profile(&self, user: &str) -> Result<(), IamError>;
    /// `ListMFADevices`: serial numbers.
    async fn list_mfa_devices(&self, user: &str) -> Result<Vec<String>, IamError>;
    /// `DeactivateMFADevice`.
    async fn deactivate_mfa_device(&self, user: &str, serial: &str) -> Result<(), IamError>;
    /// `DeleteUser`.
    async fn delete_user(&self, user: &str) -> Result<(), IamError>;
}

/// `Ok` for "already gone": revocation steps are idempotent.
pub fn gone_ok(r: Result<(), IamError>) -> Result<(), IamError> {
    match r {
        Err(IamError::NoSuchEntity) => Ok(()),
        other => other,
    }
}

/// Deletes an IAM user with everything that would stop `DeleteUser` (real IAM answers
/// `DeleteConflict` otherwise): access keys, inline and attached policies, group
/// memberships, login profile, MFA devices; then the user. `NoSuchEntity` at any step
/// counts as done, so it can run again after a partial failure.
pub async fn delete_user_fully(iam: &dyn IamApi, user: &str) -> Result<(), IamError> {
    let listed = |r: Result<Vec<String>, IamError>| match r {
        Err(IamError::NoSuchEntity) => Ok(Vec::new()),
        other => other,
    };
    for key in listed(iam.list_access_keys(user).await)? {
        gone_ok(iam.delete_access_key(user, &key).await)?;
    }
    for name in listed(iam.list_user_policies(user).await)? {
        gone_ok(iam.delete_user_policy(user, &name).await)?;
    }
    for arn in listed(iam.list_attached_user_policies(user).await)? {
        gone_ok(iam.detach_user_policy(user, &arn).await)?;
    }
    for group in listed(iam.list_groups_for_user(user).await)? {
        gone_ok(iam.remove_user_from_group(user, &group).await)?;
    }
    gone_ok(iam.delete_login_profile(user).await)?;
    for serial in listed(iam.list_mfa_devices(user).await)? {
        gone_ok(iam.deactivate_mfa_device(user, &serial).await)?;
    }
    gone_ok(iam.delete_user(user).await)
}

#[derive(Default)]
struct FakeUser {
    keys: BTreeSet<String>,
    inline: BTreeSet<String>,
    attached: BTreeSet<String>,
    groups: BTreeSet<String>,
    login_profile: bool,
    mfa: BTreeSet<String>,
}

/// An in-memory IAM with real IAM's `DeleteConflict` rule, and injectable errors.
#[derive(Default)]
pub struct FakeIam {
    users: Mutex<BTreeMap<String, FakeUser>>,
    /// Errors to return, in order, from the next calls (`None` = call through).
    script: Mutex<VecDeque<Option<IamError>>>,
    /// The error the next `CreateUser` answers after it created the user.
    create_applied_then: Mutex<Option<IamError>>,
    /// The error the next `CreateAccessKey` answers after it created the key.
    key_applied_then: Mutex<Option<IamError>>,
    calls: Mutex<Vec<String>>,
}

impl FakeIam {
    /// An empty IAM.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next calls answer from `script` (`None` = behave normally).
    pub fn script(&self, script: impl IntoIterator<Item = Option<IamError>>) {
        self.script
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(script);
    }

    /// Makes the next `CreateUser` create the user, then answer `error`: what the SDK
    /// reports when an attempt timed out after IAM applied it and its retry failed.
    pub fn create_applied_then(&self, error: IamError) {
        *self
            .create_applied_then
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(error);
    }

    /// Makes the next `CreateAccessKey` create the key, then answer `error` (the key
    /// exists; its secret is lost).
    pub fn key_applied_then(&self, error: IamError) {
        *self
            .key_applied_then
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(error);
    }

    /// Adds an access key to `user` out of band (as its owner might), returning its ID.
    /// Panics when the user has two keys already (IAM would refuse it).
    pub fn add_foreign_key(&self, user: &str) -> String {
        let id = format!(
            "AKIAOWN{}",
            crate::crypto::random_b64(6)
                .unwrap_or_default()
                .to_uppercase()
        );
        let added = self.with_user(user, |u| u.keys.len() < 2 && u.keys.insert(id.clone()));
        assert_eq!(added, Ok(true), "IAM allows two access keys per user");
        id
    }

    /// The access key IDs of `user` (empty when there is no such user).
    pub fn keys(&self, user: &str) -> Vec<String> {
        self.with_user(user, |u| u.keys.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Names of the users that exist.
    pub fn users(&self) -> Vec<String> {
        self.users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }

    /// Adds a login profile and an MFA device out of band (as an operator might).
    pub fn add_login_profile_and_mfa(&self, user: &str) {
        if let Some(u) = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(user)
        {
            u.login_profile = true;
            u.mfa
                .insert(format!("arn:aws:iam::000000000000:mfa/{user}"));
        }
    }

    /// The calls made, by operation name.
    pub fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn enter(&self, op: &str) -> Result<(), IamError> {
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(op.to_owned());
        match self
            .script
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front()
        {
            Some(Some(e)) => Err(e),
            _ => Ok(()),
        }
    }

    fn with_user<T>(&self, user: &str, f: impl FnOnce(&mut FakeUser) -> T) -> Result<T, IamError> {
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        users.get_mut(user).map(f).ok_or(IamError::NoSuchEntity)
    }
}

#[async_trait]
impl IamApi for FakeIam {
    async fn create_user(&self, user: &NewUser) -> Result<(), IamError> {
        self.enter("CreateUser")?;
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if users.contains_key(&user.name) {
            return Err(IamError::Failed("EntityAlreadyExists".into()));
        }
        users.insert(user.name.clone(), FakeUser::default());
        match self
            .create_applied_then
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
    async fn attach_user_policy(&self, user: &str, arn: &str) -> Result<(), IamError> {
        self.enter("AttachUserPolicy")?;
        self.with_user(user, |u| u.attached.insert(arn.to_owned()))
            .map(drop)
    }
    async fn put_user_policy(&self, user: &str, name: &str, _doc: &str) -> Result<(), IamError> {
        self.enter("PutUserPolicy")?;
        self.with_user(user, |u| u.inline.insert(name.to_owned()))
            .map(drop)
    }
    async fn add_user_to_group(&self, user: &str, group: &str) -> Result<(), IamError> {
        self.enter("AddUserToGroup")?;
        self.with_user(user, |u| u.groups.insert(group.to_owned()))
            .map(drop)
    }
    async fn create_access_key(&self, user: &str) -> Result<AccessKey, IamError> {
        // Yields as a network call would, so concurrent runs in a test interleave.
        tokio::task::yield_now().await;
        self.enter("CreateAccessKey")?;
        let id = format!(
            "AKIAFAKE{}",
            crate::crypto::random_b64(6)
                .unwrap_or_default()
                .to_uppercase()
        );
        // IAM's quota: two access keys per user.
        if !self.with_user(user, |u| u.keys.len() < 2 && u.keys.insert(id.clone()))? {
            return Err(IamError::Failed("LimitExceeded".into()));
        }
        if let Some(e) = self
            .key_applied_then
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            return Err(e);
        }
        Ok(AccessKey {
            id,
            secret: SecretString::from(crate::crypto::random_b64(30).unwrap_or_default()),
        })
    }
    async fn list_access_keys(&self, user: &str) -> Result<Vec<String>, IamError> {
        tokio::task::yield_now().await;
        self.enter("ListAccessKeys")?;
        self.with_user(user, |u| u.keys.iter().cloned().collect())
    }
    async fn delete_access_key(&self, user: &str, id: &str) -> Result<(), IamError> {
        self.enter("DeleteAccessKey")?;
        if self.with_user(user, |u| u.keys.remove(id))? {
            Ok(())
        } else {
            Err(IamError::NoSuchEntity)
        }
    }
    async fn list_user_policies(&self, user: &str) -> Result<Vec<String>, IamError> {
        self.enter("ListUserPolicies")?;
        self.with_user(user, |u| u.inline.iter().cloned().collect())
    }
    async fn delete_user_policy(&self, user: &str, name: &str) -> Result<(), IamError> {
        self.enter("DeleteUserPolicy")?;
        if self.with_user(user, |u| u.inline.remove(name))? {
            Ok(())
        } else {
            Err(IamError::NoSuchEntity)
        }
    }
    async fn list_attached_user_policies(&self, user: &str) -> Result<Vec<String>, IamError> {
        self.enter("ListAttachedUserPolicies")?;
        self.with_user(user, |u| u.attached.iter().cloned().collect())
    }
    async fn detach_user_policy(&self, user: &str, arn: &str) -> Result<(), IamError> {
        self.enter("DetachUserPolicy")?;
        if self.with_user(user, |u| u.attached.remove(arn))? {
            Ok(())
        } else {
            Err(IamError::NoSuchEntity)
        }
    }
    async fn list_groups_for_user(&self, user: &str) -> Result<Vec<String>, IamError> {
        self.enter("ListGroupsForUser")?;
        self.with_user(user, |u| u.groups.iter().cloned().collect())
    }
    async fn remove_user_from_group(&self, user: &str, group: &str) -> Result<(), IamError> {
        self.enter("RemoveUserFromGroup")?;
        if self.with_user(user, |u| u.groups.remove(group))? {
            Ok(())
        } else {
            Err(IamError::NoSuchEntity)
        }
    }
    async fn delete_login_profile(&self, user: &str) -> Result<(), IamError> {
        self.enter("DeleteLoginProfile")?;
        if self.with_user(user, |u| std::mem::take(&mut u.login_profile))? {
            Ok(())
        } else {
            Err(IamError::NoSuchEntity)
        }
    }
    async fn list_mfa_devices(&self, user: &str) -> Result<Vec<String>, IamError> {
        self.enter("ListMFADevices")?;
        self.with_user(user, |u| u.mfa.iter().cloned().collect())
    }
    async fn deactivate_mfa_device(&self, user: &str, serial: &str) -> Result<(), IamError> {
        self.enter("DeactivateMFADevice")?;
        if self.with_user(user, |u| u.mfa.remove(serial))? {
            Ok(())
        } else {
            Err(IamError::NoSuchEntity)
        }
    }
    async fn delete_user(&self, user: &str) -> Result<(), IamError> {
        self.enter("DeleteUser")?;
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let u = users.get(user).ok_or(IamError::NoSuchEntity)?;
        // Real IAM refuses to delete a user that still has attachments.
        if !(u.keys.is_empty()
            && u.inline.is_empty()
            && u.attached.is_empty()
            && u.groups.is_empty()
            && !u.login_profile
            && u.mfa.is_empty())
        {
            return Err(IamError::Failed("DeleteConflict".into()));
        }
        users.remove(user);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn user_with_everything(iam: &FakeIam, name: &str) {
        iam.create_user(&NewUser {
            name: name.into(),
            ..NewUser::default()
        })
        .await
        .unwrap();
        iam.attach_user_policy(name, "arn:aws:iam::aws:policy/ReadOnlyAccess")
            .await
            .unwrap();
        iam.put_user_policy(name, "inline", "{}").await.unwrap();
        iam.add_user_to_group(name, "deployers").await.unwrap();
        iam.create_access_key(name).await.unwrap();
        iam.add_login_profile_and_mfa(name);
    }

    #[tokio::test]
    async fn delete_user_fully_clears_everything_and_is_idempotent() {
        let iam = FakeIam::new();
        user_with_everything(&iam, "u").await;
        assert_eq!(
            iam.delete_user("u").await,
            Err(IamError::Failed("DeleteConflict".into()))
        );
        delete_user_fully(&iam, "u").await.unwrap();
        assert!(iam.users().is_empty());
        delete_user_fully(&iam, "u").await.unwrap();
    }

    #[tokio::test]
    async fn a_failed_step_can_be_retried() {
        let iam = FakeIam::new();
        user_with_everything(&iam, "u").await;
        iam.script([None, None, Some(IamError::Retryable("Throttling".into()))]);
        assert_eq!(
            delete_user_fully(&iam, "u").await,
            Err(IamError::Retryable("Throttling".into()))
        );
        assert_eq!(iam.users(), vec!["u"]);
        delete_user_fully(&iam, "u").await.unwrap();
        assert!(iam.users().is_empty());
    }
}
