//! Due-time jobs: work an engine schedules for a moment (a transit key's next
//! automatic rotation; later a static role's next password rotation) and the sweeper
//! runs once that moment has passed.
//!
//! A scheduled item carries the two expiry-index attributes ([`due_attrs`]: the
//! bucket and the due time, Unix seconds) but no DynamoDB TTL, so the sweeper finds it
//! through the index it already walks for expired items (DESIGN.md, "Storage": never a
//! scan; reads proportional to what is due) and the table never deletes it. The item
//! itself is the schedule: whoever rewrites it rewrites its due time in the same
//! write, so the schedule cannot drift from what it schedules.
//!
//! A job is found by the partition-key prefix of the item ([`DueJobs`]). It must be
//! idempotent and re-check the item: the index is eventually consistent, and another
//! run, or a request, may have done the work first. A job that ran moves its item's
//! due time past `now` (or drops it from the index); a job that fails is retried by the
//! next run, and the sweeper's cursor waits for it.

use std::sync::Arc;

use crate::store::{Cond, Key, Store, StoreError, Update, Value, Write, schema};

/// What a job did with a due item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DueOutcome {
    /// The work ran (and the item's next due time is written).
    Ran,
    /// Nothing to do: the item is gone, not due after all, or was done by another
    /// run.
    Skipped,
}

/// An engine's job for its scheduled items.
#[async_trait::async_trait]
pub trait DueJob: Send + Sync {
    /// Runs the work of the item at `key` if it is due at `now` (Unix seconds).
    /// Errors are retried by the next sweeper run.
    async fn run(&self, store: &dyn Store, key: &Key, now: i64) -> Result<DueOutcome, StoreError>;
}

/// The engines' due-time jobs, by partition-key prefix of the items they schedule.
#[derive(Clone, Default)]
pub struct DueJobs(Vec<(String, Arc<dyn DueJob>)>);

impl std::fmt::Debug for DueJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(p, _)| p))
            .finish()
    }
}

impl DueJobs {
    /// Adds the job of items whose partition key starts with `pk_prefix`.
    pub fn with(mut self, pk_prefix: &str, job: Arc<dyn DueJob>) -> Self {
        self.0.push((pk_prefix.to_owned(), job));
        self
    }

    /// The job of the item at `key`, if an engine scheduled it.
    pub fn find(&self, key: &Key) -> Option<&dyn DueJob> {
        self.0
            .iter()
            .find(|(p, _)| key.pk.starts_with(p.as_str()))
            .map(|(_, j)| j.as_ref())
    }
}

/// The attributes that put an item of partition `pk` on the expiry index as due at
/// `at` (Unix seconds). Unlike [`crate::store::schema::expiry_attrs`] there is no TTL:
/// a due item is not dead after its time.
pub fn due_attrs(pk: &str, at: i64) -> [(&'static str, Value); 2] {
    [
        (schema::EXP_BUCKET, Value::S(schema::expiry_bucket(pk, at))),
        (schema::EXP_AT, Value::N(at)),
    ]
}

/// Files the item at `key` as due at `at` instead, if it is still on the index and due
/// no later (a write of the item meanwhile has filed it itself; a deleted item stays
/// deleted). A job whose work cannot succeed now uses it so it never holds the
/// sweeper's cursor.
pub async fn postpone(store: &dyn Store, key: &Key, at: i64) -> Result<(), StoreError> {
    let write = Write::Update {
        key: key.clone(),
        updates: due_attrs(&key.pk, at)
            .into_iter()
            .map(|(a, v)| Update::Set(a, v))
            .collect(),
        cond: Some(Cond::Le(schema::EXP_AT, at)),
    };
    match store.write(write).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nop;

    #[async_trait::async_trait]
    impl DueJob for Nop {
        async fn run(&self, _: &dyn Store, _: &Key, _: i64) -> Result<DueOutcome, StoreError> {
            Ok(DueOutcome::Skipped)
        }
    }

    #[test]
    fn jobs_are_found_by_prefix_and_due_items_have_no_ttl() {
        let jobs = DueJobs::default().with("transit/", Arc::new(Nop));
        assert!(jobs.find(&Key::new("transit/abc/keys", "k")).is_some());
        assert!(jobs.find(&Key::new("token/abc", "t")).is_none());
        let attrs = due_attrs("transit/abc/keys", 7200);
        assert!(attrs.iter().all(|(a, _)| *a != schema::TTL));
        assert_eq!(attrs[1], (schema::EXP_AT, Value::N(7200)));
    }
}
