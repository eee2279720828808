//! AWS adapters and client construction: the only module (with its submodules) that
//! imports the AWS SDK. Endpoints come from the standard `AWS_ENDPOINT_URL` /
//! `AWS_ENDPOINT_URL_<SERVICE>` variables, so the same code runs against AWS and the
//! local emulators.

pub mod dynamo;
pub mod iam;
pub mod sts;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use zeroize::Zeroizing;

use crate::app::App;
use crate::aws_engine::clients::{ClientFactory, Clients, EngineClients};
use crate::aws_engine::root::RootConfig;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::keyring::Keyring;
use crate::kms::{DataKey, EncryptionContext, GeneratedKey, Kms, KmsError};
use crate::route::Function;
use crate::store::schema::{AttrType, TABLE};
use dynamo::DynamoStore;
use iam::AwsIam;
use sts::AwsSts;

/// Loads the SDK configuration from the environment (region, credentials chain,
/// endpoint overrides). Makes no network call: credentials resolve on first use.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Counts the HTTP attempts each AWS client makes, by `Service.Operation`: the tests'
/// proof of the call budgets (DESIGN.md, "Budgets").
#[derive(Clone, Debug, Default)]
pub struct CallCounter(Arc<Mutex<HashMap<String, u64>>>);

impl CallCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the counts.
    pub fn snapshot(&self) -> HashMap<String, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Calls to `service` (e.g. `DynamoDB`, `KMS`) so far.
    pub fn service_total(&self, service: &str) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(k, _)| k.split('.').next() == Some(service))
            .map(|(_, v)| v)
            .sum()
    }

    /// Resets every count to zero.
    pub fn reset(&self) {
        if let Ok(mut m) = self.0.lock() {
            m.clear();
        }
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "SigilCallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map(|m| format!("{}.{}", m.service(), m.name()))
            .unwrap_or_else(|| "unknown.unknown".to_owned());
        if let Ok(mut m) = self.0.lock() {
            *m.entry(name).or_insert(0) += 1;
        }
        Ok(())
    }
}

/// A DynamoDB client, with `counter` attached when given.
pub fn dynamodb_client(cfg: &SdkConfig, counter: Option<&CallCounter>) -> aws_sdk_dynamodb::Client {
    let mut b = aws_sdk_dynamodb::config::Builder::from(cfg);
    if let Some(c) = counter {
        b = b.interceptor(c.clone());
    }
    aws_sdk_dynamodb::Client::from_conf(b.build())
}

/// A KMS client, with `counter` attached when given.
pub fn kms_client(cfg: &SdkConfig, counter: Option<&CallCounter>) -> aws_sdk_kms::Client {
    let mut b = aws_sdk_kms::config::Builder::from(cfg);
    if let Some(c) = counter {
        b = b.interceptor(c.clone());
    }
    aws_sdk_kms::Client::from_conf(b.build())
}

/// An IAM client, with `counter` attached when given.
pub fn iam_client(cfg: &SdkConfig, counter: Option<&CallCounter>) -> aws_sdk_iam::Client {
    iam_client_at(cfg, counter, None)
}

/// An IAM client on `endpoint` (a URL) when given, else the SDK's endpoint (from the
/// region, or `AWS_ENDPOINT_URL*`).
pub fn iam_client_at(
    cfg: &SdkConfig,
    counter: Option<&CallCounter>,
    endpoint: Option<&str>,
) -> aws_sdk_iam::Client {
    let mut b = aws_sdk_iam::config::Builder::from(cfg);
    if let Some(c) = counter {
        b = b.interceptor(c.clone());
    }
    if let Some(url) = endpoint {
        b = b.endpoint_url(url);
    }
    aws_sdk_iam::Client::from_conf(b.build())
}

/// An STS client, with `counter` attached when given.
pub fn sts_client(cfg: &SdkConfig, counter: Option<&CallCounter>) -> aws_sdk_sts::Client {
    sts_client_at(cfg, counter, None)
}

/// An STS client on `endpoint` (a URL) when given, else the SDK's endpoint (from the
/// region, or `AWS_ENDPOINT_URL*`).
pub fn sts_client_at(
    cfg: &SdkConfig,
    counter: Option<&CallCounter>,
    endpoint: Option<&str>,
) -> aws_sdk_sts::Client {
    let mut b = aws_sdk_sts::config::Builder::from(cfg);
    if let Some(c) = counter {
        b = b.interceptor(c.clone());
    }
    if let Some(url) = endpoint {
        b = b.endpoint_url(url);
    }
    aws_sdk_sts::Client::from_conf(b.build())
}

/// Connect timeout of the AWS engine's IAM and STS clients.
pub const ENGINE_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Timeout of one attempt (send to last response byte) of the engine's IAM and STS calls.
pub const ENGINE_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// Timeout of one engine call, retries included. An issue that fails makes at most two
/// calls that can time out (the failed one, then the first undo call), so it answers
/// (503) within 10 s, inside the issue function's 15 s Lambda timeout (infra/template.yaml).
pub const ENGINE_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds the AWS engine's IAM and STS clients from `aws/config/root` over the
/// function's SDK configuration: the configured region, endpoints and retry count
/// replace the function's where set; unset, the clients are the function's own.
/// Every call is bounded by [`ENGINE_CONNECT_TIMEOUT`], [`ENGINE_ATTEMPT_TIMEOUT`] and
/// [`ENGINE_OPERATION_TIMEOUT`]: an endpoint that accepts and never answers costs a
/// 503, not a hung function.
#[derive(Clone, Debug)]
pub struct SdkClientFactory {
    sdk: SdkConfig,
    counter: Option<CallCounter>,
}

impl SdkClientFactory {
    /// A factory over the function's `sdk` configuration, counting calls on `counter`.
    pub fn new(sdk: &SdkConfig, counter: Option<&CallCounter>) -> Self {
        Self {
            sdk: sdk.clone(),
            counter: counter.cloned(),
        }
    }
}

impl ClientFactory for SdkClientFactory {
    fn build(&self, root: &RootConfig) -> Clients {
        let mut sdk = self.sdk.to_builder();
        if !root.region.is_empty() {
            sdk.set_region(Some(aws_config::Region::new(root.region.clone())));
        }
        if let Ok(retries) = u32::try_from(root.max_retries) {
            // Vault's max_retries counts retries; the SDK counts attempts.
            sdk.set_retry_config(Some(
                aws_config::retry::RetryConfig::standard().with_max_attempts(retries + 1),
            ));
        }
        sdk.set_timeout_config(Some(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(ENGINE_CONNECT_TIMEOUT)
                .operation_attempt_timeout(ENGINE_ATTEMPT_TIMEOUT)
                .operation_timeout(ENGINE_OPERATION_TIMEOUT)
                .build(),
        ));
        let sdk = sdk.build();
        let endpoint = |e: &str| (!e.is_empty()).then(|| e.to_owned());
        let counter = self.counter.as_ref();
        Clients {
            iam: Arc::new(AwsIam::new(iam_client_at(
                &sdk,
                counter,
                endpoint(&root.iam_endpoint).as_deref(),
            ))),
            sts: Arc::new(AwsSts::new(sts_client_at(
                &sdk,
                counter,
                endpoint(&root.sts_endpoint).as_deref(),
            ))),
        }
    }
}

/// The KMS adapter of the [`Kms`] port.
#[derive(Clone, Debug)]
pub struct AwsKms {
    client: aws_sdk_kms::Client,
}

impl AwsKms {
    /// An adapter over `client`.
    pub fn new(client: aws_sdk_kms::Client) -> Self {
        Self { client }
    }
}

fn kms_err<E: ProvideErrorMetadata + std::error::Error + 'static>(
    op: &str,
    e: &aws_sdk_kms::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> KmsError {
    match e {
        aws_sdk_kms::error::SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or("unknown");
            match code {
                "ThrottlingException" | "KMSInternalException" | "DependencyTimeoutException" => {
                    KmsError::Unavailable(format!("KMS {op}: {code}"))
                }
                _ => KmsError::Refused(format!("KMS {op}: {code}")),
            }
        }
        _ => KmsError::Unavailable(format!("KMS {op}: unreachable")),
    }
}

#[async_trait]
impl Kms for AwsKms {
    async fn generate_data_key(
        &self,
        key_id: &str,
        context: &EncryptionContext,
    ) -> Result<GeneratedKey, KmsError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| kms_err("GenerateDataKey", &e))?;
        let plaintext = out
            .plaintext()
            .map(|b| Zeroizing::new(b.as_ref().to_vec()))
            .ok_or_else(|| KmsError::Unavailable("KMS GenerateDataKey: no plaintext".into()))?;
        Ok(GeneratedKey {
            plaintext: DataKey::new(plaintext),
            wrapped: out
                .ciphertext_blob()
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default(),
            key_arn: out.key_id().unwrap_or(key_id).to_owned(),
        })
    }

    async fn decrypt(
        &self,
        key_arn: &str,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError> {
        let out = self
            .client
            .decrypt()
            .key_id(key_arn)
            .ciphertext_blob(Blob::new(wrapped.to_vec()))
            .set_encryption_context(Some(context.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| kms_err("Decrypt", &e))?;
        out.plaintext()
            .map(|b| DataKey::new(Zeroizing::new(b.as_ref().to_vec())))
            .ok_or_else(|| KmsError::Unavailable("KMS Decrypt: no plaintext".into()))
    }
}

/// Builds a function's [`App`] from the environment: configuration, SDK clients and
/// ports. No network call happens here; the keyring loads on first use.
pub async fn app_from_env(function: Function) -> Result<App, crate::config::ConfigError> {
    let config = Config::from_env()?;
    let sdk = sdk_config().await;
    Ok(app_with(function, config, &sdk, None))
}

/// Builds an [`App`] from parts (tests attach a [`CallCounter`]).
pub fn app_with(
    function: Function,
    config: Config,
    sdk: &SdkConfig,
    counter: Option<&CallCounter>,
) -> App {
    let store = Arc::new(DynamoStore::new(
        dynamodb_client(sdk, counter),
        config.table.clone(),
    ));
    let kms = Arc::new(AwsKms::new(kms_client(sdk, counter)));
    let keyring = Arc::new(Keyring::new(store.clone(), kms, config.table.clone()));
    let aws = Arc::new(EngineClients::configured(
        store.clone(),
        Arc::new(SdkClientFactory::new(sdk, counter)),
        crate::aws_engine::clients::REFRESH,
    ));
    let transit = Arc::new(crate::transit::KeyCache::new());
    let database = Arc::new(crate::database::engine::Engine::new(Arc::new(
        crate::adapters::postgres::Postgres,
    )));
    let revokers = crate::lease::Revokers::new()
        .with(
            crate::database::revoke::KIND_DB_USER,
            Arc::new(crate::database::revoke::DbRevoker::new(
                store.clone(),
                keyring.clone(),
                &database,
            )),
        )
        .with(
            crate::aws_engine::revoke::KIND_IAM_USER,
            Arc::new(crate::aws_engine::revoke::IamUserRevoker::new(aws.clone())),
        )
        .with(
            crate::aws_engine::sts::KIND_STS,
            Arc::new(crate::aws_engine::sts::StsRevoker),
        )
        .with_due(
            crate::aws_engine::static_roles::PK_PREFIX,
            crate::aws_engine::static_roles::due_job(keyring.clone(), aws.clone()),
        )
        .with_due(
            crate::database::static_roles::PK_PREFIX,
            Arc::new(crate::database::static_roles::StaticRotate::new(
                keyring.clone(),
                &database,
            )),
        )
        .with_due(
            crate::transit::auto_rotate::PK_PREFIX,
            Arc::new(crate::transit::auto_rotate::AutoRotate::new(
                keyring.clone(),
                transit.clone(),
            )),
        );
    App {
        function,
        store,
        keyring,
        clock: Arc::new(SystemClock),
        acl_cache: Arc::new(crate::policies::AclCache::new()),
        revokers: Arc::new(revokers),
        aws,
        jwt_keys: Arc::new(crate::jwt::cache::KeyCache::new(Arc::new(
            crate::jwt::source::HttpJwksSource::new(),
        ))),
        caller_identity: Arc::new(crate::auth_aws::caller_identity::HttpCallerIdentity::new()),
        quotas: Arc::new(crate::quota::QuotaCache::new()),
        audit: Arc::new(crate::audit::StdoutSink),
        failpoints: Arc::new(crate::aws_engine::issue::NoFailpoints),
        mounts: Arc::new(crate::mounts::cache::MountCache::new(
            crate::mounts::initial_table(&config),
        )),
        kv_latest: Arc::new(crate::kv::LatestVersions::new()),
        transit,
        identity: Arc::new(crate::identity::Caches::default()),
        database,
        config,
    }
}

/// Provisioning failures (`sigil admin init`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProvisionError(pub String);

fn scalar(t: AttrType) -> ScalarAttributeType {
    match t {
        AttrType::String => ScalarAttributeType::S,
        AttrType::Number => ScalarAttributeType::N,
    }
}

fn key_schema(attr: &str, kind: KeyType) -> Result<KeySchemaElement, ProvisionError> {
    KeySchemaElement::builder()
        .attribute_name(attr)
        .key_type(kind)
        .build()
        .map_err(|e| ProvisionError(e.to_string()))
}

/// Creates the table from [`TABLE`] (and enables its TTL attribute) unless it exists;
/// waits until it is active. Returns whether it was created.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<bool, ProvisionError> {
    let perr = |e: String| ProvisionError(e);
    let mut defs = Vec::new();
    for (a, t) in TABLE.attribute_definitions() {
        defs.push(
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(scalar(t))
                .build()
                .map_err(|e| perr(e.to_string()))?,
        );
    }
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(TABLE.billing_mode))
        .set_attribute_definitions(Some(defs))
        .key_schema(key_schema(TABLE.partition.0, KeyType::Hash)?)
        .key_schema(key_schema(TABLE.sort.0, KeyType::Range)?);
    for ix in TABLE.indexes {
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(ix.name)
                .key_schema(key_schema(ix.partition.0, KeyType::Hash)?)
                .key_schema(key_schema(ix.sort.0, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(ix.projection))
                        .build(),
                )
                .build()
                .map_err(|e| perr(e.to_string()))?,
        );
    }
    let created = match req.send().await {
        Ok(_) => true,
        Err(e) if e.code() == Some("ResourceInUseException") => false,
        Err(e) => {
            return Err(perr(format!(
                "CreateTable failed: {}",
                e.code().unwrap_or("unreachable")
            )));
        }
    };
    for _ in 0..120 {
        let d = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| {
                perr(format!(
                    "DescribeTable failed: {}",
                    e.code().unwrap_or("unreachable")
                ))
            })?;
        if d.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    if created {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TABLE.ttl_attribute)
                    .enabled(true)
                    .build()
                    .map_err(|e| perr(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| {
                perr(format!(
                    "UpdateTimeToLive failed: {}",
                    e.code().unwrap_or("unreachable")
                ))
            })?;
    }
    Ok(created)
}

/// Returns the key behind `alias` (`alias/...`), creating a symmetric key and the alias
/// when the alias does not exist. Returns `(key ARN, created)`.
pub async fn ensure_kms_key(
    client: &aws_sdk_kms::Client,
    alias: &str,
) -> Result<(String, bool), ProvisionError> {
    let perr = |e: String| ProvisionError(e);
    if !alias.starts_with("alias/") {
        return Err(perr(format!(
            "--create-key needs an alias (alias/NAME), got {alias:?}"
        )));
    }
    match client.describe_key().key_id(alias).send().await {
        Ok(d) => {
            let arn = d
                .key_metadata()
                .and_then(|m| m.arn())
                .unwrap_or(alias)
                .to_owned();
            return Ok((arn, false));
        }
        Err(e) if e.code() == Some("NotFoundException") => {}
        Err(e) => {
            return Err(perr(format!(
                "DescribeKey failed: {}",
                e.code().unwrap_or("unreachable")
            )));
        }
    }
    let key = client
        .create_key()
        .description("Sigil keyring root key (wraps data keys)")
        .send()
        .await
        .map_err(|e| {
            perr(format!(
                "CreateKey failed: {}",
                e.code().unwrap_or("unreachable")
            ))
        })?;
    let meta = key
        .key_metadata()
        .ok_or_else(|| perr("CreateKey returned no key".into()))?;
    client
        .create_alias()
        .alias_name(alias)
        .target_key_id(meta.key_id())
        .send()
        .await
        .map_err(|e| {
            perr(format!(
                "CreateAlias failed: {}",
                e.code().unwrap_or("unreachable")
            ))
        })?;
    Ok((meta.arn().unwrap_or(meta.key_id()).to_owned(), true))
}
