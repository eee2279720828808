//! The IAM and STS clients the engine calls AWS with, built from the root
//! configuration ([`super::root`]) and kept while it does not change.
//!
//! Every issue and every IAM revocation asks [`EngineClients::get`] for the clients of
//! its mount once, so one operation talks to one set of endpoints. A warm function
//! re-reads a mount's stored configuration at most once per [`REFRESH`] (one
//! `GetItem`), and builds new clients only when it changed: a write to
//! `{mount}/config/root` reaches new function instances at once and warm ones within
//! [`REFRESH`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::Mount;
use super::iam::IamApi;
use super::root::{self, RootConfig};
use super::sts::StsApi;
use crate::store::{Store, StoreError};

/// How long a warm function uses the configuration it read before reading it again
/// (the same 30 s as the default policy cache).
pub const REFRESH: Duration = Duration::from_secs(30);

/// Mounts whose clients a function keeps at most; past it the cache starts afresh (a
/// deployment has a handful of AWS mounts; this bounds what disabled ones leave).
pub const MAX_MOUNTS: usize = 64;

/// One set of clients.
#[derive(Clone)]
pub struct Clients {
    /// IAM.
    pub iam: Arc<dyn IamApi>,
    /// STS.
    pub sts: Arc<dyn StsApi>,
}

/// Builds clients for a root configuration: the port behind which the SDK adapter
/// ([`crate::adapters::aws::SdkClientFactory`]) lives. Makes no network call.
pub trait ClientFactory: Send + Sync {
    /// Clients that honour `config` (region, endpoints, retries).
    fn build(&self, config: &RootConfig) -> Clients;
}

struct Cached {
    config: RootConfig,
    clients: Clients,
    checked: Instant,
}

enum Source {
    /// The same clients always (in-memory fakes, benchmarks).
    Fixed(Clients),
    /// Clients built from the stored configuration.
    Configured {
        store: Arc<dyn Store>,
        factory: Arc<dyn ClientFactory>,
        refresh: Duration,
        /// By mount storage prefix.
        cache: Mutex<HashMap<String, Cached>>,
    },
}

/// The engine's clients: fixed, or following the stored root configuration.
pub struct EngineClients(Source);

impl std::fmt::Debug for EngineClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.0 {
            Source::Fixed(_) => "fixed",
            Source::Configured { .. } => "configured",
        };
        f.debug_tuple("EngineClients").field(&kind).finish()
    }
}

impl EngineClients {
    /// Always `iam` and `sts`; reads no configuration.
    pub fn fixed(iam: Arc<dyn IamApi>, sts: Arc<dyn StsApi>) -> Self {
        Self(Source::Fixed(Clients { iam, sts }))
    }

    /// Clients built by `factory` from each mount's configuration in `store`, re-read
    /// at most once per `refresh` ([`REFRESH`] in the functions).
    pub fn configured(
        store: Arc<dyn Store>,
        factory: Arc<dyn ClientFactory>,
        refresh: Duration,
    ) -> Self {
        Self(Source::Configured {
            store,
            factory,
            refresh,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The clients to use now for mount `m`. Reads its configuration (one `GetItem`)
    /// when the cached one is older than the refresh period; fails only when that read
    /// fails.
    pub async fn get(&self, m: Mount<'_>) -> Result<Clients, StoreError> {
        let (store, factory, refresh, cache) = match &self.0 {
            Source::Fixed(c) => return Ok(c.clone()),
            Source::Configured {
                store,
                factory,
                refresh,
                cache,
            } => (store, factory, *refresh, cache),
        };
        let lock = || cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = lock()
            .get(m.prefix)
            .filter(|c| c.checked.elapsed() < refresh)
        {
            return Ok(c.clients.clone());
        }
        let config = root::read(store.as_ref(), m).await?;
        let mut all = lock();
        if all.len() >= MAX_MOUNTS && !all.contains_key(m.prefix) {
            all.clear();
        }
        match all.get_mut(m.prefix) {
            Some(c) if c.config == config => {
                c.checked = Instant::now();
                Ok(c.clients.clone())
            }
            _ => {
                let clients = factory.build(&config);
                all.insert(
                    m.prefix.to_owned(),
                    Cached {
                        config,
                        clients: clients.clone(),
                        checked: Instant::now(),
                    },
                );
                Ok(clients)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use serde_json::json;

    use super::*;
    use crate::aws_engine::iam::FakeIam;
    use crate::aws_engine::sts::FakeSts;
    use crate::store::memory::MemoryStore;

    #[derive(Default)]
    struct Counting(AtomicU32, Mutex<Vec<RootConfig>>);

    impl ClientFactory for Counting {
        fn build(&self, config: &RootConfig) -> Clients {
            self.0.fetch_add(1, Ordering::SeqCst);
            self.1.lock().unwrap().push(config.clone());
            Clients {
                iam: Arc::new(FakeIam::new()),
                sts: Arc::new(FakeSts::new(0)),
            }
        }
    }

    #[tokio::test]
    async fn rebuilds_only_when_the_configuration_changes() {
        let store = Arc::new(MemoryStore::new());
        let factory = Arc::new(Counting::default());
        let clients = EngineClients::configured(store.clone(), factory.clone(), Duration::ZERO);
        clients.get(Mount::DEFAULT).await.unwrap();
        clients.get(Mount::DEFAULT).await.unwrap();
        assert_eq!(factory.0.load(Ordering::SeqCst), 1, "unchanged: kept");
        let body = json!({"region": "eu-west-1"}).as_object().cloned().unwrap();
        root::write(store.as_ref(), Mount::DEFAULT, &body)
            .await
            .unwrap();
        clients.get(Mount::DEFAULT).await.unwrap();
        assert_eq!(factory.0.load(Ordering::SeqCst), 2, "changed: rebuilt");
        assert_eq!(
            factory
                .1
                .lock()
                .unwrap()
                .iter()
                .map(|c| c.region.as_str())
                .collect::<Vec<_>>(),
            ["", "eu-west-1"]
        );
        let other = Mount {
            prefix: "aws/0000",
            name: "team-aws",
        };
        clients.get(other).await.unwrap();
        assert_eq!(
            factory.0.load(Ordering::SeqCst),
            3,
            "another mount: its own clients"
        );
    }

    #[tokio::test]
    async fn reads_the_configuration_once_per_refresh() {
        let store = Arc::new(MemoryStore::new());
        let factory = Arc::new(Counting::default());
        let clients = EngineClients::configured(store.clone(), factory, REFRESH);
        let before = store.calls();
        for _ in 0..5 {
            clients.get(Mount::DEFAULT).await.unwrap();
        }
        assert_eq!(store.calls() - before, 1);
        let fixed = EngineClients::fixed(Arc::new(FakeIam::new()), Arc::new(FakeSts::new(0)));
        let before = store.calls();
        fixed.get(Mount::DEFAULT).await.unwrap();
        assert_eq!(store.calls(), before);
    }
}
