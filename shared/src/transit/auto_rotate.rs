//! Automatic rotation (`auto_rotate_period`): the sweeper's due-time job for transit
//! keys ([`crate::due`]).
//!
//! OpenBao walks every key of every mount once an hour and rotates those whose newest
//! version is older than the period (`rotateIfRequired` in the transit backend). Sigil
//! never lists keys: a key with a period is on the expiry index at its next rotation
//! ([`super::policy::KeyPolicy::next_rotation`], written with the key), and the sweeper hands
//! each due key to [`AutoRotate`], which rotates it only if it is still due when read
//! (one conditional write; a concurrent manual rotation or a second sweeper makes it
//! decline). The rotated key's item carries its next due time, so a key rotates once
//! per period however many sweepers run.
//!
//! A rotation that cannot succeed (the key's item is at DynamoDB's 400 KB limit) must
//! not hold the sweeper's cursor: the key is filed again an hour later
//! ([`RETRY_SECS`]) and the failure is logged, until old versions are trimmed.

use std::sync::Arc;

use crate::due::{DueJob, DueOutcome};
use crate::keyring::Keyring;
use crate::store::{Key, Store, StoreError};

use super::TransitError;
use super::storage::{KeyCache, Keys};

/// Partition-key prefix of the items this job rotates.
pub const PK_PREFIX: &str = "transit/";
/// Seconds until a key whose rotation cannot be stored is tried again.
pub const RETRY_SECS: i64 = 3600;

/// The job: rotates transit keys whose `auto_rotate_period` has passed.
pub struct AutoRotate {
    keyring: Arc<Keyring>,
    cache: Arc<KeyCache>,
}

impl AutoRotate {
    /// A job sealing new versions under `keyring` (the function's keyring and transit
    /// cache, so the versions it makes are warm).
    pub fn new(keyring: Arc<Keyring>, cache: Arc<KeyCache>) -> Self {
        Self { keyring, cache }
    }
}

#[async_trait::async_trait]
impl DueJob for AutoRotate {
    async fn run(&self, store: &dyn Store, key: &Key, now: i64) -> Result<DueOutcome, StoreError> {
        // `transit/{storage}/keys`; a mount's wrapping key (`{storage}/import`) never
        // has a period.
        let Some(storage) = key
            .pk
            .strip_prefix(PK_PREFIX)
            .and_then(|s| s.strip_suffix("/keys"))
        else {
            return Ok(DueOutcome::Skipped);
        };
        let keys = Keys {
            store,
            keyring: &self.keyring,
            cache: &self.cache,
            storage,
        };
        let due = |p: &super::policy::KeyPolicy| Ok(p.next_rotation().is_some_and(|t| t <= now));
        match keys.rotate_when(&key.sk, now, due).await {
            Ok(Some(rec)) => {
                tracing::info!(
                    key = %key.sk,
                    version = rec.policy.latest_version,
                    "transit key rotated on schedule"
                );
                Ok(DueOutcome::Ran)
            }
            Ok(None) => Ok(DueOutcome::Skipped),
            Err(TransitError::Invalid(_)) => {
                tracing::warn!(
                    key = %key.sk,
                    retry_in_secs = RETRY_SECS,
                    "transit key not rotated on schedule: too many versions to store another (trim old versions)"
                );
                crate::due::postpone(store, key, now + RETRY_SECS).await?;
                Ok(DueOutcome::Skipped)
            }
            // Storage or keyring: retried by the next run (the cause was logged).
            Err(_) => Err(StoreError::Unavailable("transit key rotation".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::FakeKms;
    use crate::lease::Revokers;
    use crate::store::memory::MemoryStore;
    use crate::store::schema;
    use crate::store::schema::BUCKET_SECS;
    use crate::store::{ItemExt, Value};
    use crate::sweeper::{init_cursor, sweep};
    use crate::transit::policy::CreateOptions;
    use crate::transit::storage::key as item_key;

    const T0: i64 = 500_000 * BUCKET_SECS;
    const HOUR: i64 = 3600;

    struct World {
        store: Arc<MemoryStore>,
        ring: Arc<Keyring>,
        cache: Arc<KeyCache>,
        revokers: Revokers,
    }

    impl World {
        async fn new() -> Self {
            let store = Arc::new(MemoryStore::new());
            let ring = Arc::new(Keyring::new(store.clone(), Arc::new(FakeKms::new()), "t"));
            ring.add_version("k", 0).await.unwrap();
            init_cursor(store.as_ref(), T0).await.unwrap();
            let cache = Arc::new(KeyCache::new());
            let revokers = Revokers::new().with_due(
                PK_PREFIX,
                Arc::new(AutoRotate::new(ring.clone(), cache.clone())),
            );
            Self {
                store,
                ring,
                cache,
                revokers,
            }
        }

        fn keys(&self) -> Keys<'_> {
            Keys {
                store: self.store.as_ref(),
                keyring: &self.ring,
                cache: &self.cache,
                storage: "m",
            }
        }

        async fn create(&self, name: &str, period: i64, now: i64) {
            let opts = CreateOptions::check("aes256-gcm96", false, false, false, false, period, 0)
                .unwrap();
            self.keys().create(name, &opts, now).await.unwrap();
        }

        async fn latest(&self, name: &str) -> u32 {
            let rec = self.keys().read(name).await.unwrap().unwrap();
            rec.policy.latest_version
        }

        async fn sweep(&self, now: i64) -> u64 {
            sweep(self.store.as_ref(), &self.revokers, now)
                .await
                .unwrap()
                .due_jobs
        }

        fn due_at(&self, name: &str) -> Option<i64> {
            self.store
                .dump()
                .into_iter()
                .find(|i| i.key() == item_key("m", name))
                .and_then(|i| i.n(schema::EXP_AT).ok())
        }
    }

    #[tokio::test]
    async fn a_key_rotates_once_per_period_and_never_early() {
        let w = World::new().await;
        w.create("a", HOUR, T0).await;
        w.create("still", 0, T0).await;
        assert_eq!(w.due_at("a"), Some(T0 + HOUR));
        assert_eq!(w.due_at("still"), None, "no period: not on the index");
        assert_eq!(w.sweep(T0 + HOUR - 1).await, 0);
        assert_eq!(w.latest("a").await, 1);
        assert_eq!(w.sweep(T0 + HOUR).await, 1);
        assert_eq!(w.latest("a").await, 2);
        assert_eq!(w.due_at("a"), Some(T0 + 2 * HOUR));
        // A second sweeper, or the same one again, finds nothing due.
        assert_eq!(w.sweep(T0 + HOUR + 10).await, 0);
        assert_eq!(w.latest("a").await, 2);
        // Hours later, one rotation (from the newest version's time), not one per
        // missed period, as OpenBao.
        assert_eq!(w.sweep(T0 + 5 * HOUR).await, 1);
        assert_eq!(w.latest("a").await, 3);
        assert_eq!(w.due_at("a"), Some(T0 + 6 * HOUR));
        assert_eq!(w.latest("still").await, 1);
    }

    #[tokio::test]
    async fn a_manual_rotation_or_a_new_period_moves_the_schedule() {
        let w = World::new().await;
        w.create("a", 2 * HOUR, T0).await;
        w.keys().rotate("a", T0 + HOUR).await.unwrap().unwrap();
        assert_eq!(w.due_at("a"), Some(T0 + 3 * HOUR));
        assert_eq!(w.sweep(T0 + 2 * HOUR).await, 0, "the old due time is void");
        assert_eq!(w.latest("a").await, 2);
        // A period given to an old key: due at once, never before the write (the
        // index's hour at or after the writer's now, which the cursor has not passed).
        w.create("old", 0, T0).await;
        w.keys()
            .update("old", T0 + 4 * HOUR, |p| {
                p.auto_rotate_period = HOUR;
                Ok((true, ()))
            })
            .await
            .unwrap();
        assert_eq!(w.due_at("old"), Some(T0 + 4 * HOUR));
        assert_eq!(w.sweep(T0 + 4 * HOUR).await, 2, "old and a");
        assert_eq!(w.latest("old").await, 2);
        // Period back to 0: off the index.
        w.keys()
            .update("old", T0 + 4 * HOUR, |p| {
                p.auto_rotate_period = 0;
                Ok((true, ()))
            })
            .await
            .unwrap();
        assert_eq!(w.due_at("old"), None);
    }

    #[tokio::test]
    async fn imported_keys_rotate_only_when_allowed_and_deleted_keys_are_skipped() {
        let w = World::new().await;
        w.create("gone", HOUR, T0).await;
        let rec = w.keys().read("gone").await.unwrap().unwrap();
        // The index entry outlives the item in DynamoDB's eventually consistent
        // index; the job reads the item and finds nothing.
        let job = AutoRotate::new(w.ring.clone(), w.cache.clone());
        w.keys().delete(&rec).await.unwrap();
        assert_eq!(
            job.run(w.store.as_ref(), &item_key("m", "gone"), T0 + HOUR)
                .await
                .unwrap(),
            DueOutcome::Skipped
        );
        let mut p = rec.policy.clone();
        p.imported = true;
        assert_eq!(p.next_rotation(), None);
        p.imported_allow_rotation = true;
        assert_eq!(p.next_rotation(), Some(T0 + HOUR));
    }

    #[tokio::test]
    async fn a_key_at_the_highest_version_is_refused_and_postponed_never_overflows() {
        let w = World::new().await;
        w.create("top", HOUR, T0).await;
        w.keys()
            .update("top", T0, |p| {
                let top = crate::transit::policy::MAX_VERSION;
                let first = p.versions[&1].clone();
                p.versions.insert(top, first);
                p.latest_version = top;
                Ok((true, ()))
            })
            .await
            .unwrap();
        let e = w.keys().rotate("top", T0).await.unwrap_err();
        assert!(matches!(e, TransitError::Invalid(_)), "{e:?}");
        // The sweeper's job files it an hour later instead of failing every run.
        assert_eq!(w.sweep(T0 + HOUR).await, 0);
        assert_eq!(w.due_at("top"), Some(T0 + HOUR + RETRY_SECS));
    }

    struct Panics;

    #[async_trait::async_trait]
    impl DueJob for Panics {
        async fn run(&self, _: &dyn Store, _: &Key, _: i64) -> Result<DueOutcome, StoreError> {
            panic!("a job's bug");
        }
    }

    #[tokio::test]
    async fn a_panicking_job_does_not_stop_the_sweeper() {
        let w = World::new().await;
        w.create("a", HOUR, T0).await;
        let revokers = Revokers::new().with_due(PK_PREFIX, Arc::new(Panics));
        let r = sweep(w.store.as_ref(), &revokers, T0 + 3 * HOUR)
            .await
            .unwrap();
        assert_eq!(r.failed, 1);
        assert_eq!(r.cursor_hour, T0 / BUCKET_SECS + 2, "the cursor moves on");
    }

    #[tokio::test]
    async fn a_postponed_key_leaves_its_hour_and_a_deleted_one_stays_gone() {
        let w = World::new().await;
        w.create("a", HOUR, T0).await;
        crate::due::postpone(w.store.as_ref(), &item_key("m", "a"), T0 + 3 * HOUR)
            .await
            .unwrap();
        assert_eq!(w.due_at("a"), Some(T0 + 3 * HOUR));
        let item = w
            .store
            .dump()
            .into_iter()
            .find(|i| i.key() == item_key("m", "a"))
            .unwrap();
        assert_eq!(
            item.get(schema::EXP_BUCKET),
            Some(&Value::S(schema::expiry_bucket(
                &item_key("m", "a").pk,
                T0 + 3 * HOUR
            )))
        );
        assert_eq!(w.sweep(T0 + HOUR).await, 0);
        // Never filed earlier than it is, and never recreates a deleted key.
        crate::due::postpone(w.store.as_ref(), &item_key("m", "a"), T0 + 2 * HOUR)
            .await
            .unwrap();
        assert_eq!(w.due_at("a"), Some(T0 + 3 * HOUR));
        crate::due::postpone(w.store.as_ref(), &item_key("m", "none"), T0)
            .await
            .unwrap();
        assert!(w.keys().read("none").await.unwrap().is_none());
    }
}
