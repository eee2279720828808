//! The AWS adapter of the [`IamApi`] port.

use async_trait::async_trait;
use aws_sdk_iam::Client;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Tag;
use secrecy::SecretString;

use crate::aws_engine::iam::{AccessKey, IamApi, IamError, NewUser};

/// IAM through the AWS SDK.
#[derive(Clone, Debug)]
pub struct AwsIam {
    client: Client,
}

impl AwsIam {
    /// An adapter over `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn err<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> IamError {
    match &e {
        SdkError::ServiceError(s) => match s.err().code().unwrap_or("Unknown") {
            "NoSuchEntity" => IamError::NoSuchEntity,
            code @ ("Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "ServiceFailure") => IamError::Retryable(code.to_owned()),
            code => IamError::Failed(code.to_owned()),
        },
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            IamError::Retryable("IAM unreachable".into())
        }
        _ => IamError::Failed("IAM request failed".into()),
    }
}

#[async_trait]
impl IamApi for AwsIam {
    async fn create_user(&self, user: &NewUser) -> Result<(), IamError> {
        let tags = user
            .tags
            .iter()
            .map(|(k, v)| {
                Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| IamError::Failed(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .create_user()
            .user_name(&user.name)
            .path(&user.path)
            .set_permissions_boundary(user.permissions_boundary.clone())
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map(drop)
            .map_err(err)
    }
    async fn attach_user_policy(&self, user: &str, policy_arn: &str) -> Result<(), IamError> {
        self.client
            .attach_user_policy()
            .user_name(user)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(drop)
            .map_err(err)
    }
    async fn put_user_policy(
        &self,
        user: &str,
        name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        self.client
            .put_user_policy()
            .user_name(user)
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .map(drop)
            .map_err(err)
    }
    async fn add_user_to_group(&self, user: &str, group: &str) -> Result<(), IamError> {
        self.client
            .add_user_to_group()
            .user_name(user)
            .group_name(group)
            .send()
            .await
            .map(drop)
            .map_err(err)
    }
    async fn create_access_key(&self, user: &str) -> Result<AccessKey, IamError> {
        let out = self
            .client
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .map_err(err)?;
        let key = out
            .access_key()
            .ok_or_else(|| IamError::Failed("CreateAccessKey returned no key".into()))?;
        Ok(AccessKey {
            id: key.access_key_id().to_owned(),
            secret: SecretString::from(key.secret_access_key().to_owned()),
        })
    }
    async fn list_access_keys(&self, user: &str) -> Result<Vec<String>, IamError> {
        let out = self
            .client
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .map_err(err)?;
        Ok(out
            .access_key_metadata()
            .iter()
            .filter_map(|k| k.access_key_id().map(str::to_owned))
            .collect())
    }
    async fn delete_access_key(&self, user: &str, key_id: &str) -> Result<(), IamError> {
        self.client
            .delete_access_key()
            .user_name(user)
            .access_key_id(key_id)
            .send()
            .await
            .map(drop)
            .map_err(err)
    }
    async fn list_user_policies(&self, user: &str) -> Result<Vec<String>, IamError> {
        let out = self
            .client
            .list_user_policies()
            .user_name(user)
            .send()
            .await
            .map_err(err)?;
        Ok(out.policy_names().to_vec())
    }
    async fn delete_user_policy(&self, user: &str, name: &str) -> Result<(), IamError> {
        self.client
            .delete_user_policy()
            .user_name(user)
            .policy_name(name)
            .send()
            .await
            .map(drop)
            .map_err(err)
    }
    async fn list_attached_user_policies(&self, user: &str) -> Result<Vec<String>, IamError> {
        let out = self
            .client
            .list_attached_user_policies()
            .user_name(user)
            .send()
            .await
            .map_err(err)?;
        Ok(out
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_owned))
            .collect())
    }
    async fn detach_user_policy(&self, user: &str, policy_arn: &str) -> Result<(), IamError> {
        self.client
            .detach_user_policy()
            .user_name(user)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(drop)
            .map_err(err)
    }
    async fn list_groups_for_user(&self, user: &str) -> Result<Vec<String>, IamError> {
        let out = self
            .client
            .list_groups_for_user()
            .user_name(user)
            .send()
            .await
            .map_err(err)?;
        Ok(out
            .groups()
            .iter()
            .map(|g| g.group_name().to_owned())
            .collect())
    }
    async fn remove_user_from_group(&self, user: &str, group: &str) -> Result<(), IamError> {
        self.client
            .remove_user_from_group()
            .user_name(user)
            .group_name(group)
            .send()
            .await
            .map(drop)
            .map_err(err)
    }
    async fn delete_login_profile(&self, user: &str) -> Result<(), IamError> {
        self.client
            .delete_login_profile()
            .user_name(user)
            .send()
            .await
            .map(drop)
            .map_err(err)
    }
    async fn list_mfa_devices(&self, user: &str) -> Result<Vec<String>, IamError> {
        let out = self
            .client
            .list_mfa_devices()
            .user_name(user)
            .send()
            .await
            .map_err(err)?;
        Ok(out
            .mfa_devices()
            .iter()
            .map(|d| d.serial_number().to_owned())
            .collect())
    }
    async fn deactivate_mfa_device(&self, user: &str, serial: &str) -> Result<(), IamError> {
        self.client
            .deactivate_mfa_device()
            .user_name(user)
            .serial_number(serial)
            .send()
            .await
            .map(drop)
            .map_err(err)
    }
    async fn delete_user(&self, user: &str) -> Result<(), IamError> {
        self.client
            .delete_user()
            .user_name(user)
            .send()
            .await
            .map(drop)
            .map_err(err)
    }
}
