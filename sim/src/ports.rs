//! The simulated ports: the in-memory store and fake IAM, each call preceded by a
//! suspension point ([`crate::exec::port`]) and, while faults are on, failing as the real
//! services fail: store throttling and outages (before the write, or after it was
//! applied: a timed-out request that succeeded), IAM calls refused before sending,
//! throttled, or timed out after IAM applied them, and database calls refused before
//! connecting or timed out after the transaction committed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use sigil::aws_engine::iam::{AccessKey, FakeIam, IamApi, IamError, NewUser};
use sigil::database::port::{Connection, DatabaseApi, DbError, FakeDatabase};
use sigil::store::memory::MemoryStore;
use sigil::store::{Cond, Item, Key, Page, Query, Store, StoreError, Write};

use crate::exec::port;

/// Fault probabilities, in parts per 1,000 per call.
#[derive(Clone, Copy, Debug)]
pub struct FaultRates {
    /// A store call fails before doing anything (throttled or unavailable).
    pub store_error: u32,
    /// A store write is applied, then reported as failed (a timeout).
    pub store_applied_error: u32,
    /// An IAM call is refused before it is sent.
    pub iam_not_sent: u32,
    /// An IAM call is throttled (not applied).
    pub iam_throttled: u32,
    /// An IAM call is applied, then times out.
    pub iam_applied_timeout: u32,
    /// A database call fails before connecting (connection refused).
    pub db_not_sent: u32,
    /// A database call's transaction commits, then the answer is lost (timeout).
    pub db_applied_timeout: u32,
}

impl FaultRates {
    /// No faults.
    pub const NONE: FaultRates = FaultRates {
        store_error: 0,
        store_applied_error: 0,
        iam_not_sent: 0,
        iam_throttled: 0,
        iam_applied_timeout: 0,
        db_not_sent: 0,
        db_applied_timeout: 0,
    };
}

/// The fault source shared by the ports: a seeded generator and the rates, switched on
/// for a schedule and off for the recovery that follows it.
pub struct Faults {
    rng: Mutex<fastrand::Rng>,
    rates: FaultRates,
    on: AtomicBool,
    /// Faults injected so far.
    pub injected: std::sync::atomic::AtomicU64,
}

impl Faults {
    /// Faults drawn from `seed` at `rates` (off until [`Faults::set_on`]).
    pub fn new(seed: u64, rates: FaultRates) -> Self {
        Self {
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            rates,
            on: AtomicBool::new(false),
            injected: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Switches faults on or off.
    pub fn set_on(&self, on: bool) {
        self.on.store(on, Ordering::SeqCst);
    }

    fn hit(&self, per_mille: u32) -> bool {
        if per_mille == 0 || !self.on.load(Ordering::SeqCst) {
            return false;
        }
        let hit = self
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .u32(0..1000)
            < per_mille;
        if hit {
            self.injected.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }
}

/// The store port over a [`MemoryStore`].
pub struct SimStore {
    /// The items.
    pub inner: Arc<MemoryStore>,
    faults: Arc<Faults>,
}

impl SimStore {
    /// `inner` behind `faults`.
    pub fn new(inner: Arc<MemoryStore>, faults: Arc<Faults>) -> Self {
        Self { inner, faults }
    }

    async fn before(&self) -> Result<(), StoreError> {
        port().await;
        if self.faults.hit(self.faults.rates.store_error) {
            return Err(StoreError::Throttled);
        }
        Ok(())
    }

    fn after(&self, r: Result<(), StoreError>) -> Result<(), StoreError> {
        match r {
            Ok(()) if self.faults.hit(self.faults.rates.store_applied_error) => Err(
                StoreError::Unavailable("simulated timeout after the write was applied".into()),
            ),
            other => other,
        }
    }
}

#[async_trait]
impl Store for SimStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.before().await?;
        self.inner.get(key).await
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.before().await?;
        self.inner.get_many(keys).await
    }

    async fn write(&self, write: Write) -> Result<(), StoreError> {
        self.before().await?;
        let r = self.inner.write(write).await;
        self.after(r)
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.before().await?;
        let r = self.inner.transact(writes).await;
        self.after(r)
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.before().await?;
        self.inner.query(query).await
    }

    async fn take(&self, key: &Key, cond: Cond) -> Result<Item, StoreError> {
        self.before().await?;
        // A lost answer after the delete applied: the item is gone and the caller
        // never got it (what a timeout after DynamoDB applied the call looks like).
        let r = self.inner.take(key, cond).await;
        match r {
            Ok(_) if self.faults.hit(self.faults.rates.store_applied_error) => Err(
                StoreError::Unavailable("simulated timeout after the write was applied".into()),
            ),
            other => other,
        }
    }
}

/// The IAM port over a [`FakeIam`].
pub struct SimIam {
    /// The users.
    pub inner: Arc<FakeIam>,
    faults: Arc<Faults>,
}

impl SimIam {
    /// `inner` behind `faults`.
    pub fn new(inner: Arc<FakeIam>, faults: Arc<Faults>) -> Self {
        Self { inner, faults }
    }

    async fn before(&self) -> Result<(), IamError> {
        port().await;
        let r = self.faults.rates;
        if self.faults.hit(r.iam_not_sent) {
            return Err(IamError::Retryable("simulated connection refused".into()));
        }
        if self.faults.hit(r.iam_throttled) {
            return Err(IamError::Retryable("Throttling".into()));
        }
        Ok(())
    }

    fn after<T>(&self, r: Result<T, IamError>) -> Result<T, IamError> {
        match r {
            Ok(_) if self.faults.hit(self.faults.rates.iam_applied_timeout) => Err(
                IamError::Retryable("simulated timeout after IAM applied the call".into()),
            ),
            other => other,
        }
    }
}

#[async_trait]
impl IamApi for SimIam {
    async fn create_user(&self, user: &NewUser) -> Result<(), IamError> {
        self.before().await?;
        let r = self.inner.create_user(user).await;
        self.after(r)
    }
    async fn attach_user_policy(&self, user: &str, policy_arn: &str) -> Result<(), IamError> {
        self.before().await?;
        let r = self.inner.attach_user_policy(user, policy_arn).await;
        self.after(r)
    }
    async fn put_user_policy(
        &self,
        user: &str,
        name: &str,
        document: &str,
    ) -> Result<(), IamError> {
        self.before().await?;
        let r = self.inner.put_user_policy(user, name, document).await;
        self.after(r)
    }
    async fn add_user_to_group(&self, user: &str, group: &str) -> Result<(), IamError> {
        self.before().await?;
        let r = self.inner.add_user_to_group(user, group).await;
        self.after(r)
    }
    async fn create_access_key(&self, user: &str) -> Result<AccessKey, IamError> {
        self.before().await?;
        let r = self.inner.create_access_key(user).await;
        self.after(r)
    }
    async fn list_access_keys(&self, user: &str) -> Result<Vec<String>, IamError> {
        self.before().await?;
        self.inner.list_access_keys(user).await
    }
    async fn delete_access_key(&self, user: &str, key_id: &str) -> Result<(), IamError> {
        self.before().await?;
        let r = self.inner.delete_access_key(user, key_id).await;
        self.after(r)
    }
    async fn list_user_policies(&self, user: &str) -> Result<Vec<String>, IamError> {
        self.before().await?;
        self.inner.list_user_policies(user).await
    }
    async fn delete_user_policy(&self, user: &str, name: &str) -> Result<(), IamError> {
        self.before().await?;
        let r = self.inner.delete_user_policy(user, name).await;
        self.after(r)
    }
    async fn list_attached_user_policies(&self, user: &str) -> Result<Vec<String>, IamError> {
        self.before().await?;
        self.inner.list_attached_user_policies(user).await
    }
    async fn detach_user_policy(&self, user: &str, policy_arn: &str) -> Result<(), IamError> {
        self.before().await?;
        let r = self.inner.detach_user_policy(user, policy_arn).await;
        self.after(r)
    }
    async fn list_groups_for_user(&self, user: &str) -> Result<Vec<String>, IamError> {
        self.before().await?;
        self.inner.list_groups_for_user(user).await
    }
    async fn remove_user_from_group(&self, user: &str, group: &str) -> Result<(), IamError> {
        self.before().await?;
        let r = self.inner.remove_user_from_group(user, group).await;
        self.after(r)
    }
    async fn delete_login_profile(&self, user: &str) -> Result<(), IamError> {
        self.before().await?;
        let r = self.inner.delete_login_profile(user).await;
        self.after(r)
    }
    async fn list_mfa_devices(&self, user: &str) -> Result<Vec<String>, IamError> {
        self.before().await?;
        self.inner.list_mfa_devices(user).await
    }
    async fn deactivate_mfa_device(&self, user: &str, serial: &str) -> Result<(), IamError> {
        self.before().await?;
        let r = self.inner.deactivate_mfa_device(user, serial).await;
        self.after(r)
    }
    async fn delete_user(&self, user: &str) -> Result<(), IamError> {
        self.before().await?;
        let r = self.inner.delete_user(user).await;
        self.after(r)
    }
}

/// The fake database behind the simulated faults: each call is a suspension point (the
/// operation may die there), may be refused before connecting, or may commit and then
/// lose its answer.
pub struct SimDatabase {
    /// The database's users.
    pub inner: Arc<FakeDatabase>,
    faults: Arc<Faults>,
}

impl SimDatabase {
    /// `inner` behind `faults`.
    pub fn new(inner: Arc<FakeDatabase>, faults: Arc<Faults>) -> Self {
        Self { inner, faults }
    }

    async fn before(&self) -> Result<(), DbError> {
        port().await;
        if self.faults.hit(self.faults.rates.db_not_sent) {
            return Err(DbError::Unavailable("simulated connection refused".into()));
        }
        Ok(())
    }

    fn after(&self, r: Result<(), DbError>) -> Result<(), DbError> {
        match r {
            Ok(()) if self.faults.hit(self.faults.rates.db_applied_timeout) => Err(
                DbError::Unavailable("simulated timeout after the commit".into()),
            ),
            other => other,
        }
    }
}

#[async_trait]
impl DatabaseApi for SimDatabase {
    async fn verify(&self, conn: &Connection) -> Result<(), DbError> {
        self.before().await?;
        self.inner.verify(conn).await
    }
    async fn new_user(
        &self,
        conn: &Connection,
        username: &str,
        statements: &[String],
    ) -> Result<(), DbError> {
        self.before().await?;
        let r = self.inner.new_user(conn, username, statements).await;
        self.after(r)
    }
    async fn update_user(
        &self,
        conn: &Connection,
        username: &str,
        statements: &[String],
    ) -> Result<(), DbError> {
        self.before().await?;
        let r = self.inner.update_user(conn, username, statements).await;
        self.after(r)
    }
    async fn delete_user(
        &self,
        conn: &Connection,
        username: &str,
        statements: Option<&[String]>,
    ) -> Result<(), DbError> {
        self.before().await?;
        let r = self.inner.delete_user(conn, username, statements).await;
        self.after(r)
    }
}
