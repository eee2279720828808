//! STS through the AWS SDK: the adapter behind [`crate::aws_engine::sts::StsApi`].

use async_trait::async_trait;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use secrecy::SecretString;

use crate::aws_engine::iam::IamError;
use crate::aws_engine::sts::{StsApi, StsCredentials};

/// STS through the AWS SDK.
#[derive(Clone, Debug)]
pub struct AwsSts {
    client: aws_sdk_sts::Client,
}

impl AwsSts {
    /// An adapter over `client`.
    pub fn new(client: aws_sdk_sts::Client) -> Self {
        Self { client }
    }
}

fn sts_err<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> IamError {
    match &e {
        SdkError::ServiceError(s) => match s.err().code().unwrap_or("Unknown") {
            code @ ("Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
                IamError::Retryable(code.into())
            }
            code => IamError::Failed(code.into()),
        },
        _ => IamError::Retryable("STS unreachable".into()),
    }
}

#[async_trait]
impl StsApi for AwsSts {
    async fn assume_role(
        &self,
        role_arn: &str,
        session_name: &str,
        duration: i64,
        policy: Option<&str>,
    ) -> Result<StsCredentials, IamError> {
        let out = self
            .client
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .duration_seconds(i32::try_from(duration).unwrap_or(i32::MAX))
            .set_policy(policy.map(str::to_owned))
            .send()
            .await
            .map_err(sts_err)?;
        let c = out
            .credentials()
            .ok_or_else(|| IamError::Failed("AssumeRole returned no credentials".into()))?;
        Ok(StsCredentials {
            access_key: c.access_key_id().to_owned(),
            secret_key: SecretString::from(c.secret_access_key().to_owned()),
            session_token: SecretString::from(c.session_token().to_owned()),
            expires_at: c.expiration().secs(),
        })
    }
}
