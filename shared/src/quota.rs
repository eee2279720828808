//! Rate-limit quotas on logins (Vault's `sys/quotas/rate-limit/:name`): at most `rate`
//! login requests per `interval` on an auth mount (or one login path, or every login
//! when `path` is empty), optionally only those for one `role`; the request past the
//! limit gets 429 and changes nothing. With `block_interval`, reaching the limit refuses
//! every request of the quota for that long.
//!
//! Counting is shared by every function instance: one conditional `UpdateItem` on a
//! counter item per quota and window (`ADD count 1` only while `count < rate`), kept
//! with a DynamoDB TTL. Quota definitions are read once per [`QuotaCache`] refresh
//! (the policy cache's TTL), so a login with no applicable quota costs nothing extra.
//!
//! Differences from Vault: quotas apply to login requests only; a quota counts all its
//! requests together (Vault's `group_by=none`), not per client address; `rate` is a
//! whole number of requests.

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value as Json, json};

use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::mounts::{BackendKind, MountEntry};
use crate::store::schema::TTL;
use crate::store::{
    Cond, Item, ItemExt, Key, Query, Store, Update, Value, Write, new_item, query_all,
};

const PK: &str = "sys/quotas/rate-limit";
const A_PATH: &str = "path";
const A_ROLE: &str = "role";
const A_RATE: &str = "rate";
const A_INTERVAL: &str = "interval";
const A_BLOCK: &str = "block_interval";
const A_COUNT: &str = "count";
const A_UNTIL: &str = "until";
/// Largest `rate`, requests per interval.
pub const MAX_RATE: i64 = 1_000_000;
/// Longest `interval`, seconds (1 hour).
pub const MAX_INTERVAL_SECS: i64 = 3600;
/// Longest `block_interval`, seconds (1 day).
pub const MAX_BLOCK_SECS: i64 = 86_400;
/// Most quotas.
pub const MAX_QUOTAS: usize = 100;

/// One rate-limit quota.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitQuota {
    /// Its name.
    pub name: String,
    /// `""` (every login), an auth mount (`auth/approle/`) or a login path
    /// (`auth/approle/login`).
    pub path: String,
    /// Only logins for this role count (empty: all).
    pub role: String,
    /// Requests allowed per interval.
    pub rate: i64,
    /// The interval, seconds.
    pub interval: i64,
    /// How long requests are refused once the limit is reached, seconds (0: only for the
    /// rest of the interval).
    pub block_interval: i64,
}

fn key(name: &str) -> Key {
    Key::new(PK, name)
}

fn counter_pk(name: &str) -> String {
    format!("sys/quotas/counter/{name}")
}

impl RateLimitQuota {
    /// Vault's read shape.
    pub fn to_json(&self) -> Json {
        json!({
            "name": self.name,
            "type": "rate-limit",
            "path": self.path,
            "role": self.role,
            "rate": self.rate,
            "interval": self.interval,
            "block_interval": self.block_interval,
        })
    }

    fn from_item(item: &Item) -> Result<Self, ApiError> {
        Ok(Self {
            name: item.key().sk,
            path: item.s(A_PATH)?.to_owned(),
            role: item.s(A_ROLE)?.to_owned(),
            rate: item.n(A_RATE)?,
            interval: item.n(A_INTERVAL)?,
            block_interval: item.n(A_BLOCK)?,
        })
    }

    /// Parses and checks a write to `sys/quotas/rate-limit/:name` (a write replaces the
    /// quota). `is_login_mount` says whether `auth/<mount>` is one of Sigil's auth
    /// mounts. 400 naming the field otherwise.
    pub fn from_body(
        name: &str,
        body: &Body,
        is_login_mount: impl Fn(&str) -> bool,
    ) -> Result<Self, ApiError> {
        if !crate::policies::valid_name(name) {
            return Err(ApiError::bad(
                "invalid quota name: 1 to 128 lowercase letters, digits, '-', '_', '.', '@'",
            ));
        }
        let mut path = body
            .string("path")?
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_owned();
        if !path.is_empty() {
            let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
            match parts.as_slice() {
                ["auth", mount] if is_login_mount(mount) => {
                    path = format!("auth/{mount}/");
                }
                // The login path is matched exactly: stored without a trailing `/`.
                ["auth", mount, "login"] if is_login_mount(mount) => {
                    path = format!("auth/{mount}/login");
                }
                _ => {
                    return Err(ApiError::bad(
                        "invalid \"path\": an auth mount (auth/<mount>/) or its login path; \
                         Sigil's rate-limit quotas apply to logins",
                    ));
                }
            }
        }
        let role = body.string("role")?.unwrap_or_default();
        if !role.is_empty() && (path.is_empty() || !crate::approle::valid_name(&role)) {
            return Err(ApiError::bad(
                "invalid \"role\": needs \"path\" set to an auth mount, and a role name \
                 (letters, digits, '_', '-', '.', '@'; at most 128 bytes)",
            ));
        }
        let rate = match body.get("rate") {
            Some(Json::Number(n)) => n.as_f64(),
            Some(Json::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|r| r.fract() == 0.0 && (1.0..=MAX_RATE as f64).contains(r))
        .ok_or_else(|| {
            ApiError::bad(format!(
                "invalid \"rate\": a whole number of requests from 1 to {MAX_RATE}"
            ))
        })?;
        let interval = body.duration("interval")?.unwrap_or(1);
        if !(1..=MAX_INTERVAL_SECS).contains(&interval) {
            return Err(ApiError::bad("invalid \"interval\": from 1s to 1h"));
        }
        let block_interval = body.duration("block_interval")?.unwrap_or(0);
        if !(0..=MAX_BLOCK_SECS).contains(&block_interval) {
            return Err(ApiError::bad("invalid \"block_interval\": from 0 to 24h"));
        }
        Ok(Self {
            name: name.to_owned(),
            path,
            role,
            // Checked: a whole number from 1 to MAX_RATE.
            rate: rate as i64,
            interval,
            block_interval,
        })
    }

    fn applies_to(&self, path: &str, role: Option<&str>) -> bool {
        path.starts_with(&self.path) && (self.role.is_empty() || role == Some(self.role.as_str()))
    }
}

/// Writes `quota` (replacing one of the same name). 400 past [`MAX_QUOTAS`].
pub async fn write(store: &dyn Store, quota: &RateLimitQuota) -> Result<(), ApiError> {
    let existing = list(store).await?;
    if existing.len() >= MAX_QUOTAS && !existing.iter().any(|q| q.name == quota.name) {
        return Err(ApiError::bad(format!("at most {MAX_QUOTAS} quotas")));
    }
    let mut item = new_item(&key(&quota.name));
    item.insert(A_PATH.into(), Value::S(quota.path.clone()));
    item.insert(A_ROLE.into(), Value::S(quota.role.clone()));
    item.insert(A_RATE.into(), Value::N(quota.rate));
    item.insert(A_INTERVAL.into(), Value::N(quota.interval));
    item.insert(A_BLOCK.into(), Value::N(quota.block_interval));
    Ok(store.write(Write::Put { item, cond: None }).await?)
}

/// The quota named `name`, if any.
pub async fn read(store: &dyn Store, name: &str) -> Result<Option<RateLimitQuota>, ApiError> {
    store
        .get(&key(name))
        .await?
        .map(|i| RateLimitQuota::from_item(&i))
        .transpose()
}

/// Deletes a quota (idempotent).
pub async fn delete(store: &dyn Store, name: &str) -> Result<(), ApiError> {
    Ok(store
        .write(Write::Delete {
            key: key(name),
            cond: None,
        })
        .await?)
}

/// Every quota, by name.
pub async fn list(store: &dyn Store) -> Result<Vec<RateLimitQuota>, ApiError> {
    query_all(store, Query::partition(PK))
        .await?
        .iter()
        .map(RateLimitQuota::from_item)
        .collect()
}

/// The quotas as one warm function last read them, re-read after `ttl` seconds.
#[derive(Debug, Default)]
pub struct QuotaCache(Mutex<Option<(i64, Arc<Vec<RateLimitQuota>>)>>);

impl QuotaCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The quotas, read from `store` (one `Query`) when the cached ones are older than
    /// `ttl` seconds.
    pub async fn get(
        &self,
        store: &dyn Store,
        now: i64,
        ttl: i64,
    ) -> Result<Arc<Vec<RateLimitQuota>>, ApiError> {
        if let Some((at, q)) = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            && now - at < ttl
        {
            return Ok(q.clone());
        }
        let quotas = Arc::new(list(store).await?);
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((now, quotas.clone()));
        Ok(quotas)
    }
}

/// The role a login request names: the body's `role`, or for AppRole the name of the
/// role whose role ID it presents (one `GetItem`; `None` for an unknown role ID).
async fn login_role(
    store: &dyn Store,
    mount: &MountEntry,
    body: &Body,
) -> Result<Option<String>, ApiError> {
    Ok(match mount.kind {
        BackendKind::AppRole => match body.string("role_id").ok().flatten() {
            Some(id) => {
                let m = crate::approle::Mount {
                    prefix: &mount.storage,
                    name: mount.name(),
                };
                crate::approle::role_name_for_id(store, m, &id).await?
            }
            None => None,
        },
        _ => body.string("role").ok().flatten(),
    })
}

/// Admits a login request on `path` (e.g. `auth/approle/login`) or refuses it with 429
/// when a quota that applies to it is exhausted. Writes only the quota counters.
pub async fn admit(
    store: &dyn Store,
    cache: &QuotaCache,
    ttl: i64,
    mount: &MountEntry,
    path: &str,
    body: &Body,
    now: i64,
) -> Result<(), ApiError> {
    let quotas = cache.get(store, now, ttl).await?;
    let candidates: Vec<&RateLimitQuota> = quotas
        .iter()
        .filter(|q| path.starts_with(&q.path))
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let role = if candidates.iter().any(|q| !q.role.is_empty()) {
        login_role(store, mount, body).await?
    } else {
        None
    };
    for q in candidates {
        if q.applies_to(path, role.as_deref()) {
            count(store, q, now).await?;
        }
    }
    Ok(())
}

/// Counts one request against `q`: 429 when its window is full or a block is active.
async fn count(store: &dyn Store, q: &RateLimitQuota, now: i64) -> Result<(), ApiError> {
    let window = now - now.rem_euclid(q.interval);
    let bump = Write::Update {
        key: Key::new(counter_pk(&q.name), window.to_string()),
        updates: vec![
            Update::Add(A_COUNT, 1),
            Update::Set(TTL, Value::N(window + q.interval + 60)),
        ],
        cond: Some(Cond::Or(vec![
            Cond::AttrAbsent(A_COUNT),
            Cond::Le(A_COUNT, q.rate - 1),
        ])),
    };
    if q.block_interval == 0 {
        return match store.write(bump).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_condition() => Err(ApiError::RateLimited),
            Err(e) => Err(e.into()),
        };
    }
    let block = Key::new(counter_pk(&q.name), "blocked");
    let not_blocked = Cond::Or(vec![Cond::AttrAbsent(A_UNTIL), Cond::Le(A_UNTIL, now)]);
    let checked = store
        .transact(vec![
            Write::Check {
                key: block.clone(),
                cond: not_blocked.clone(),
            },
            bump,
        ])
        .await;
    match checked {
        Ok(()) => Ok(()),
        Err(e) if e.is_condition() => {
            // Start a block unless one is running (a refused request never extends it).
            let until = now + q.block_interval;
            let started = store
                .write(Write::Update {
                    key: block,
                    updates: vec![
                        Update::Set(A_UNTIL, Value::N(until)),
                        Update::Set(TTL, Value::N(until + 60)),
                    ],
                    cond: Some(not_blocked),
                })
                .await;
            if let Err(e) = started
                && !e.is_condition()
            {
                tracing::warn!(error = %e, "could not record a quota block");
            }
            Err(ApiError::RateLimited)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    fn quota(body: Json) -> Result<RateLimitQuota, ApiError> {
        RateLimitQuota::from_body("q", body.as_object().unwrap(), |m| m == "approle")
    }

    #[test]
    fn validation() {
        for given in ["auth/approle/login/", "/auth/approle/login//"] {
            let q = quota(json!({"path": given, "rate": 1})).unwrap();
            assert_eq!(q.path, "auth/approle/login", "{given}");
            assert!(q.applies_to("auth/approle/login", None), "{given}");
        }
        let q = quota(json!({"path": "auth/approle", "rate": 5, "interval": "10s"})).unwrap();
        assert_eq!(
            (q.path.as_str(), q.rate, q.interval, q.block_interval),
            ("auth/approle/", 5, 10, 0)
        );
        assert!(quota(json!({"rate": 1})).is_ok(), "every login");
        for bad in [
            json!({}),
            json!({"rate": 0}),
            json!({"rate": 1.5}),
            json!({"rate": "x"}),
            json!({"rate": -3}),
            json!({"rate": 1, "path": "secret/"}),
            json!({"rate": 1, "path": "auth/nope/"}),
            json!({"rate": 1, "role": "web"}),
            json!({"path": "auth/approle/", "rate": 1, "role": "web\u{0}"}),
            json!({"path": "auth/approle/", "rate": 1, "role": "web\nadmin"}),
            json!({"path": "auth/approle/", "rate": 1, "role": "../web"}),
            json!({"path": "auth/approle/", "rate": 1, "role": "w".repeat(129)}),
            json!({"rate": 1, "interval": "2h"}),
            json!({"rate": 1, "block_interval": "2d"}),
        ] {
            assert_eq!(
                quota(bad.clone()).map_err(|e| e.status()),
                Err(400),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn counts_per_window_and_blocks() {
        let store = MemoryStore::new();
        let cache = QuotaCache::new();
        let q = quota(
            json!({"path": "auth/approle/", "rate": 2, "interval": 10, "block_interval": 30}),
        )
        .unwrap();
        write(&store, &q).await.unwrap();
        let body = Body::new();
        let table = crate::mounts::initial_table(&crate::config::Config::default());
        let approle = table
            .get(crate::mounts::Table::Auth, "approle/")
            .expect("approle mount");
        let admit = |now| admit(&store, &cache, 0, approle, "auth/approle/login", &body, now);
        assert!(admit(100).await.is_ok());
        assert!(admit(101).await.is_ok());
        assert_eq!(
            admit(102).await,
            Err(ApiError::RateLimited),
            "third in the window"
        );
        assert_eq!(
            admit(111).await,
            Err(ApiError::RateLimited),
            "blocked into the next window"
        );
        assert!(admit(133).await.is_ok(), "the block is over");
        assert!(
            admit(133).await.is_ok() && admit(133).await.is_err(),
            "a fresh window allows two"
        );
        // Another path is not counted.
        assert!(admit_other(&store, &cache).await.is_ok());
    }

    async fn admit_other(store: &MemoryStore, cache: &QuotaCache) -> Result<(), ApiError> {
        admit(
            store,
            cache,
            0,
            &crate::mounts::initial_table(&crate::config::Config::default())
                .get(crate::mounts::Table::Auth, "aws/")
                .expect("aws auth mount")
                .clone(),
            "auth/aws/login",
            &Body::new(),
            140,
        )
        .await
    }
}
