//! The application: the ports one function uses, built once at cold start, and the
//! request entry point every function shares.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::keyring::Keyring;
use crate::lease::Revokers;
use crate::mounts::cache::MountCache;
use crate::policies::AclCache;
use crate::route::Function;
use crate::store::Store;
use crate::token::Limits;

/// Everything a request needs: configuration and ports.
pub struct App {
    /// Which function this process is.
    pub function: Function,
    /// Configuration.
    pub config: Config,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Keyring (unwraps its data key on first use).
    pub keyring: Arc<Keyring>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Compiled ACLs of the policy sets seen by this process.
    pub acl_cache: Arc<AclCache>,
    /// The secrets engines' lease revocations, by lease kind.
    pub revokers: Arc<Revokers>,
    /// IAM and STS for the AWS secrets engine, following `aws/config/root`.
    pub aws: Arc<crate::aws_engine::clients::EngineClients>,
    /// Verification keys of JWT and Kubernetes issuers, cached while the function is warm.
    pub jwt_keys: Arc<crate::jwt::cache::KeyCache>,
    /// STS `GetCallerIdentity`, for the AWS IAM auth method's signed logins.
    pub caller_identity: Arc<dyn crate::auth_aws::caller_identity::CallerIdentity>,
    /// Rate-limit quotas as this function last read them.
    pub quotas: Arc<crate::quota::QuotaCache>,
    /// The audit device's sink (stdout in the functions; see [`crate::audit`]).
    pub audit: Arc<dyn crate::audit::AuditSink>,
    /// Failure injection on the AWS issue path (production: none).
    pub failpoints: Arc<dyn crate::aws_engine::issue::Failpoints>,
    /// The mount table, as this function last read it.
    pub mounts: Arc<MountCache>,
    /// The newest KV versions this function has read ([`crate::kv::LatestVersions`]).
    pub kv_latest: Arc<crate::kv::LatestVersions>,
    /// Transit key versions this process has opened (no KMS call when warm).
    pub transit: Arc<crate::transit::KeyCache>,
    /// Identity caches: aliases logins resolved, identities tokens act for.
    pub identity: Arc<crate::identity::Caches>,
    /// The database engine's ports (the database, failpoints).
    pub database: Arc<crate::database::engine::Engine>,
}

/// The lease revokers and due-time jobs of a deployment, by lease kind and partition
/// prefix: IAM users, STS sessions and database users revoked; database static roles and
/// transit keys rotated when due. The functions (`adapters::aws::app_with`) and the
/// simulator build theirs here, so both run the same set.
pub fn standard_revokers(
    store: Arc<dyn Store>,
    keyring: Arc<Keyring>,
    aws: Arc<crate::aws_engine::clients::EngineClients>,
    database: &crate::database::engine::Engine,
    transit: Arc<crate::transit::KeyCache>,
) -> Revokers {
    Revokers::new()
        .with(
            crate::database::revoke::KIND_DB_USER,
            Arc::new(crate::database::revoke::DbRevoker::new(
                store,
                keyring.clone(),
                database,
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
                database,
            )),
        )
        .with_due(
            crate::transit::auto_rotate::PK_PREFIX,
            Arc::new(crate::transit::auto_rotate::AutoRotate::new(
                keyring, transit,
            )),
        )
}

impl App {
    /// An app on in-memory ports and fakes (unit tests, benchmarks): `store`, a keyring
    /// over it with a fake KMS, fake IAM, STS, database and caller identity, no lease
    /// revokers (the transit and static-role rotation jobs only), no failpoints, and verification keys
    /// from an empty in-memory source. Override
    /// fields with struct update syntax (`App { keyring, ..App::in_memory(...) }`).
    pub fn in_memory(
        function: Function,
        store: Arc<crate::store::memory::MemoryStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let keyring = Arc::new(Keyring::new(
            store.clone(),
            Arc::new(crate::kms::FakeKms::new()),
            "memory",
        ));
        let transit = Arc::new(crate::transit::KeyCache::new());
        let database = Arc::new(crate::database::engine::Engine::new(Arc::new(
            crate::database::port::FakeDatabase::new(),
        )));
        let aws = Arc::new(crate::aws_engine::clients::EngineClients::fixed(
            Arc::new(crate::aws_engine::iam::FakeIam::new()),
            Arc::new(crate::aws_engine::sts::FakeSts::new(0)),
        ));
        let revokers = Revokers::new()
            .with_due(
                crate::aws_engine::static_roles::PK_PREFIX,
                crate::aws_engine::static_roles::due_job(keyring.clone(), aws.clone()),
            )
            .with_due(
                crate::transit::auto_rotate::PK_PREFIX,
                Arc::new(crate::transit::auto_rotate::AutoRotate::new(
                    keyring.clone(),
                    transit.clone(),
                )),
            )
            .with_due(
                crate::database::static_roles::PK_PREFIX,
                Arc::new(crate::database::static_roles::StaticRotate::new(
                    keyring.clone(),
                    &database,
                )),
            );
        Self {
            function,
            config: Config::default(),
            keyring,
            store,
            clock,
            acl_cache: Arc::new(AclCache::new()),
            revokers: Arc::new(revokers),
            aws,
            jwt_keys: Arc::new(crate::jwt::cache::KeyCache::new(Arc::new(
                crate::jwt::source::StaticJwksSource::new(),
            ))),
            caller_identity: Arc::new(crate::auth_aws::caller_identity::FakeCallerIdentity::new()),
            quotas: Arc::new(crate::quota::QuotaCache::new()),
            audit: Arc::new(crate::audit::MemorySink::new()),
            failpoints: Arc::new(crate::aws_engine::issue::NoFailpoints),
            mounts: Arc::new(MountCache::new(crate::mounts::initial_table(
                &Config::default(),
            ))),
            kv_latest: Arc::new(crate::kv::LatestVersions::new()),
            transit,
            identity: Arc::new(crate::identity::Caches::default()),
            database,
        }
    }

    /// System token limits.
    pub fn limits(&self) -> Limits {
        Limits {
            default_ttl: self.config.default_ttl,
            max_ttl: self.config.max_ttl,
            batch: None,
        }
    }
}
