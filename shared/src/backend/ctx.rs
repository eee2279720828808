//! The request context a handler receives: the ports and caches it may use, the mount
//! and path parameters, the request, the authenticated caller and what their policies
//! grant. Handlers never see the whole application.

use secrecy::SecretString;

use crate::audit::AuditKey;
use crate::auth_aws::caller_identity::CallerIdentity;
use crate::aws_engine::clients::EngineClients;
use crate::aws_engine::issue::Failpoints;
use crate::config::Config;
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::http::params::Body;
use crate::jwt::cache::KeyCache;
use crate::keyring::Keyring;
use crate::lease::Revokers;
use crate::mounts::cache::MountCache;
use crate::mounts::{MountEntry, MountTable};
use crate::policies::AclCache;
use crate::policy::Grant;
use crate::store::Store;
use crate::token::{Limits, TokenEntry};

use super::operation::Operation;

/// The authenticated caller of a request.
pub struct Caller {
    /// The token's entry.
    pub entry: TokenEntry,
    /// The token as presented (for lookup-self's `id`).
    pub token: SecretString,
}

/// The ports and caches of one function, as handlers may use them.
#[derive(Clone, Copy)]
pub struct Services<'a> {
    /// Configuration.
    pub config: &'a Config,
    /// Storage.
    pub store: &'a dyn Store,
    /// Keyring.
    pub keyring: &'a Keyring,
    /// Compiled ACLs.
    pub acl_cache: &'a AclCache,
    /// The secrets engines' lease revocations.
    pub revokers: &'a Revokers,
    /// IAM and STS for the AWS secrets engine.
    pub aws: &'a EngineClients,
    /// JWT and Kubernetes issuers' keys.
    pub jwt_keys: &'a KeyCache,
    /// STS `GetCallerIdentity` for the AWS IAM auth method.
    pub caller_identity: &'a dyn CallerIdentity,
    /// Failure injection on the AWS issue path.
    pub failpoints: &'a dyn Failpoints,
    /// The mount table cache.
    pub mounts: &'a MountCache,
    /// The audit key (for `sys/audit-hash`).
    pub audit_key: &'a AuditKey,
    /// The key batch tokens are sealed with ([`crate::batch_token`]).
    pub batch_key: &'a std::sync::Arc<crate::crypto::SealingKey>,
    /// The newest KV versions this function has read.
    pub kv_latest: &'a crate::kv::LatestVersions,
    /// Transit key versions this process has opened ([`crate::transit::KeyCache`]).
    pub transit: &'a crate::transit::KeyCache,
    /// Identity caches ([`crate::identity::Caches`]).
    pub identity: &'a crate::identity::Caches,
    /// The database engine's ports.
    pub database: &'a crate::database::engine::Engine,
}

/// One request, routed and authorized.
pub struct Ctx<'a> {
    /// Ports and caches.
    pub svc: Services<'a>,
    /// The mount table the request was routed with.
    pub table: &'a MountTable,
    /// The mount serving the request.
    pub mount: &'a MountEntry,
    /// Parameters captured from the path.
    pub params: &'a Params,
    /// The operation.
    pub op: Operation,
    /// The logical path (no `/v1/`), e.g. `secret/data/app`.
    pub path: &'a str,
    /// The request.
    pub req: &'a ApiRequest,
    /// The body, normalized by the path's spec.
    pub body: &'a Body,
    /// The caller (none on public paths).
    pub caller: Option<&'a Caller>,
    /// What the caller's policies grant on the path.
    pub grant: Grant,
    /// The identity the caller's token acts for (none: no entity, or no caller);
    /// its policies were judged with the token's.
    pub identity: Option<std::sync::Arc<crate::identity::request::RequestIdentity>>,
    /// Now, seconds since the epoch.
    pub now: i64,
}

impl Ctx<'_> {
    /// Storage.
    pub fn store(&self) -> &dyn Store {
        self.svc.store
    }

    /// A captured path parameter (`""` when the pattern has none of that name).
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name)
    }

    /// The live token `tok` names, service or batch ([`crate::batch_token`]); `None`
    /// when unknown, malformed or expired. Whether the mount table lets it be used is
    /// [`Ctx::token_usable`].
    pub async fn find_token(
        &self,
        tok: &secrecy::SecretString,
    ) -> Result<Option<crate::token::TokenEntry>, ApiError> {
        if crate::batch_token::is_batch(tok) {
            crate::token::find_batch(self.store(), self.svc.batch_key, tok, self.now).await
        } else {
            crate::token::find(self.store(), tok, self.now).await
        }
    }

    /// Whether `entry` may be used by the mount table this request was routed with:
    /// its auth mount is live and no revoke-prefix of its path is under way
    /// ([`MountTable::token_usable`]).
    pub fn token_usable(&self, e: &crate::token::TokenEntry) -> bool {
        self.table
            .token_usable(&e.path, &e.mount_accessor, e.issued_at)
    }

    /// The ACL `entry` acts with ([`crate::policies::AclCache::token_acl`]): its policies and its
    /// identity's, templates resolved for its entity. The caller's identity is the
    /// request's; another token's is read through the identity cache, and a token
    /// whose entity is disabled or gone gets an ACL that grants nothing (its requests
    /// are refused).
    pub async fn token_acl(
        &self,
        entry: &crate::token::TokenEntry,
    ) -> Result<std::sync::Arc<crate::policy::Acl>, ApiError> {
        let own = self
            .caller
            .is_some_and(|c| c.entry.accessor == entry.accessor);
        let other;
        let identity = if own {
            self.identity.as_deref()
        } else if entry.entity_id.is_empty() {
            None
        } else {
            let ttl = self.svc.config.policy_cache_ttl;
            match self
                .svc
                .identity
                .entities
                .for_token(self.store(), &entry.entity_id, self.now, ttl)
                .await
            {
                Ok(i) => {
                    other = i;
                    Some(other.as_ref())
                }
                Err(ApiError::PermissionDenied) => {
                    return Ok(std::sync::Arc::new(crate::policy::Acl::default()));
                }
                Err(e) => return Err(e),
            }
        };
        self.svc
            .acl_cache
            .token_acl(
                self.store(),
                self.svc.config.policy_cache_ttl,
                entry,
                identity,
                self.now,
            )
            .await
    }

    /// The caller, or 403 (public paths have none).
    pub fn caller(&self) -> Result<&Caller, ApiError> {
        self.caller.ok_or(ApiError::PermissionDenied)
    }

    /// The guard of a login through the request's mount ([`crate::mounts::guard`]).
    pub fn mount_guard(&self) -> crate::store::Write {
        crate::mounts::guard::enabled(self.table, self.mount)
    }

    /// Where a login through the request's mount happens: its guard, its accessor
    /// and the process's alias cache ([`crate::identity::login`]).
    pub fn login_at(&self) -> crate::identity::login::LoginAt {
        crate::identity::login::LoginAt {
            guard: self.mount_guard(),
            mount_accessor: self.mount.accessor.clone(),
            aliases: self.svc.identity.aliases.clone(),
        }
    }

    /// Token limits of the request's mount: its `default_lease_ttl` and
    /// `max_lease_ttl` where set (tuned), else the system's; never above the system max
    /// TTL (Vault applies an auth mount's TTLs to the tokens it issues).
    pub fn limits(&self) -> Limits {
        let system = (self.svc.config.default_ttl, self.svc.config.max_ttl);
        let max_ttl = match self.mount.max_lease_ttl {
            0 => system.1,
            m => m.min(system.1),
        };
        let default_ttl = match self.mount.default_lease_ttl {
            0 => system.0,
            d => d,
        }
        .min(max_ttl);
        Limits {
            default_ttl,
            max_ttl,
            batch: Some(crate::token::BatchMint {
                key: std::sync::Arc::clone(self.svc.batch_key),
                mount_accessor: self.mount.accessor.clone(),
            }),
        }
    }
}

/// Parameters captured from a path: name and value, in pattern order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(&'static str, String)>);

impl Params {
    /// The captured value of `name`, or `""` when the pattern has none.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}
