//! Deleting a disabled mount's items in bounded, resumable steps (the sweeper runs
//! [`step`] on every invocation).
//!
//! Disabling a mount only deletes its entry and files a cleanup record
//! ([`super::store::Change::Disable`]): from then on no request is served from it.
//! Each step here then deletes at most a budget of items, reading only the mount's own
//! partitions (never scanning the table), and records where it stopped:
//!
//! - KV: a depth-first walk of the folder index (`kvdir/{storage}/{folder}`), deleting
//!   each secret's partition (`kv/{storage}/{path}`) and then its index entry; a folder
//!   whose index is empty is removed from its parent's. The cursor is the folder being
//!   walked, so a step that dies part-way resumes there (deletes are idempotent).
//! - JWT, Kubernetes: the roles and config partitions (`auth/{storage}/...`).
//! - AppRole: each role's secret IDs and accessors, then the role.
//! - AWS secrets: the mount's leases are revoked first (their engine's revocation
//!   needs the engine's configuration), then roles and configuration.
//! - AWS auth: roles and client configuration.
//! - Transit: the keys partition (`transit/{storage}/keys`, one item per key) and
//!   the wrapping key's (`transit/{storage}/import/keys`).
//! - Every auth method: the tokens it issued, from the index kept at mint time
//!   ([`crate::token::mount_index_partitions`]), with the leases they own; then its
//!   entity aliases ([`crate::identity::store::remove_mount_aliases`], which reads
//!   the identity store's entities partition).
//! - Every mount, once the rest is done: its group aliases
//!   ([`crate::identity::group_aliases::remove_mount`], which reads the group graph).

use crate::error::ApiError;
use crate::lease::Revokers;
use crate::store::{ItemExt, Key, Query, Store};

use super::store::{Cleanup, pending_cleanups, save_cleanup};
use super::{BackendKind, Table};

/// Items one sweeper run deletes (or tokens and leases it revokes) across all
/// cleanups, at most (a step may pass it by one secret's items). For KV that is about
/// one query per secret and one transaction per 100 items: some 600 calls, a few
/// seconds, well within a function's timeout.
pub const STEP_BUDGET: usize = 1000;

/// Folder index entries read per query.
const CHUNK: usize = 25;

/// What one step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Items deleted, tokens and leases revoked.
    pub items: usize,
    /// Mounts whose items are now all gone (their cleanup records too).
    pub finished: usize,
    /// Cleanups still pending after this step.
    pub pending: usize,
}

/// A budget of item operations.
struct Budget(usize);

impl Budget {
    fn left(&self) -> usize {
        self.0
    }
    fn spend(&mut self, n: usize) {
        self.0 = self.0.saturating_sub(n);
    }
}

/// Runs one bounded step over the pending cleanups, oldest first: at most `budget`
/// item operations. Returns what it did.
pub async fn step(
    store: &dyn Store,
    revokers: &Revokers,
    budget: usize,
    now: i64,
) -> Result<StepReport, ApiError> {
    let pending = pending_cleanups(store).await?;
    let mut budget = Budget(budget);
    let mut report = StepReport::default();
    let mut left = pending.len();
    for cleanup in &pending {
        if budget.left() == 0 {
            break;
        }
        let before = budget.left();
        let outcome = one(store, revokers, cleanup, &mut budget, now).await?;
        report.items += before - budget.left();
        match outcome {
            Some(cursor) => {
                if cursor != cleanup.cursor {
                    save_cleanup(store, &cleanup.entry.uuid, Some(&cursor)).await?;
                }
            }
            None => {
                // Its group aliases go last, once (the groups stay): the group graph
                // read once per disabled mount, not per step.
                let accessor = &cleanup.entry.accessor;
                crate::identity::group_aliases::remove_mount(store, accessor, now).await?;
                save_cleanup(store, &cleanup.entry.uuid, None).await?;
                report.finished += 1;
                left -= 1;
            }
        }
    }
    report.pending = left;
    Ok(report)
}

/// Works on one cleanup: `None` when it is finished, else the cursor to resume from.
async fn one(
    store: &dyn Store,
    revokers: &Revokers,
    c: &Cleanup,
    budget: &mut Budget,
    now: i64,
) -> Result<Option<String>, ApiError> {
    let e = &c.entry;
    let s = e.storage.as_str();
    if e.table == Table::Auth && !revoke_tokens(store, &e.full_path(), budget, now).await? {
        return Ok(Some(c.cursor.clone()));
    }
    if e.table == Table::Auth {
        // Its entity aliases go, as OpenBao removes a disabled auth mount's aliases
        // (the entities stay).
        let (removed, done) =
            crate::identity::store::remove_mount_aliases(store, &e.accessor, budget.left()).await?;
        budget.spend(removed);
        if !done {
            return Ok(Some(c.cursor.clone()));
        }
    }
    let done = match e.kind {
        BackendKind::Kv => return kv(store, s, c.cursor.clone(), budget).await,
        BackendKind::Jwt | BackendKind::Kubernetes => {
            partitions(
                store,
                &[format!("auth/{s}/roles"), format!("auth/{s}/config")],
                budget,
            )
            .await?
        }
        BackendKind::AppRole => {
            let m = crate::approle::Mount {
                prefix: s,
                name: e.name(),
            };
            approle(store, m, budget, now).await?
        }
        BackendKind::Aws => {
            let m = crate::aws_engine::Mount {
                prefix: s,
                name: e.name(),
            };
            let parts = [
                m.roles_partition(),
                m.static_roles_partition(),
                m.config_partition(),
            ];
            revoke_leases(store, revokers, m.name, budget, now).await?
                && partitions(store, &parts, budget).await?
        }
        BackendKind::Database => {
            let m = crate::database::Mount {
                prefix: s,
                name: e.name(),
            };
            let parts = [
                m.roles_partition(),
                m.static_roles_partition(),
                m.config_partition(),
            ];
            revoke_leases(store, revokers, m.name, budget, now).await?
                && partitions(store, &parts, budget).await?
        }
        BackendKind::AwsAuth => {
            let m = crate::auth_aws::Mount {
                prefix: s,
                name: e.name(),
            };
            partitions(store, &[m.roles_partition(), m.config_partition()], budget).await?
        }
        BackendKind::Transit => {
            use crate::transit::storage::{partition, wrapping_storage};
            partitions(
                store,
                &[partition(s), partition(&wrapping_storage(s))],
                budget,
            )
            .await?
        }
        BackendKind::System | BackendKind::Token | BackendKind::Identity => true,
    };
    Ok((!done).then(|| c.cursor.clone()))
}

/// Deletes `keys` ([`crate::store::delete_keys`]), spending the budget.
async fn delete(store: &dyn Store, keys: Vec<Key>, budget: &mut Budget) -> Result<(), ApiError> {
    crate::store::delete_keys(store, &keys).await?;
    budget.spend(keys.len());
    Ok(())
}

/// One page of a partition's keys, at most `limit`.
async fn page(store: &dyn Store, pk: &str, limit: usize) -> Result<Vec<Key>, ApiError> {
    let mut q = Query::partition(pk);
    q.limit = Some(u32::try_from(limit.clamp(1, 100)).unwrap_or(100));
    Ok(store
        .query(&q)
        .await?
        .items
        .iter()
        .map(ItemExt::key)
        .collect())
}

/// Empties whole partitions, in order. `true` once all are empty.
async fn partitions(
    store: &dyn Store,
    pks: &[String],
    budget: &mut Budget,
) -> Result<bool, ApiError> {
    for pk in pks {
        loop {
            if budget.left() == 0 {
                return Ok(false);
            }
            let keys = page(store, pk, budget.left()).await?;
            if keys.is_empty() {
                break;
            }
            delete(store, keys, budget).await?;
        }
    }
    Ok(true)
}

/// The KV walk. `folder` is the cursor (`""`: the mount's root, else `a/b/`).
async fn kv(
    store: &dyn Store,
    s: &str,
    mut folder: String,
    budget: &mut Budget,
) -> Result<Option<String>, ApiError> {
    loop {
        if budget.left() == 0 {
            return Ok(Some(folder));
        }
        let dir = format!("kvdir/{s}/{folder}");
        let children: Vec<String> = page(store, &dir, CHUNK)
            .await?
            .into_iter()
            .map(|k| k.sk)
            .collect();
        if children.is_empty() {
            if folder.is_empty() {
                delete(
                    store,
                    vec![Key::new(format!("kv-config/{s}"), "config")],
                    budget,
                )
                .await?;
                return Ok(None);
            }
            // This folder is done: drop it from its parent's index and walk the parent.
            let inner = folder.trim_end_matches('/');
            let (parent, name) = match inner.rsplit_once('/') {
                Some((p, n)) => (format!("{p}/"), format!("{n}/")),
                None => (String::new(), format!("{inner}/")),
            };
            delete(
                store,
                vec![Key::new(format!("kvdir/{s}/{parent}"), name)],
                budget,
            )
            .await?;
            folder = parent;
            continue;
        }
        let mut descend = None;
        // Small secrets (every item in one page) are deleted together with their index
        // entries, up to a transaction's 100 items; larger ones page by page.
        let mut batch: Vec<Key> = Vec::new();
        for child in children {
            if child.ends_with('/') {
                descend.get_or_insert(child);
                continue;
            }
            if budget.left() <= batch.len() {
                break;
            }
            let secret = format!("kv/{s}/{folder}{child}");
            let items = page(store, &secret, 100).await?;
            if items.len() < 100 {
                if batch.len() + items.len() + 1 > 100 {
                    delete(store, std::mem::take(&mut batch), budget).await?;
                }
                batch.extend(items);
                batch.push(Key::new(dir.clone(), child));
                continue;
            }
            delete(store, std::mem::take(&mut batch), budget).await?;
            if !partitions(store, std::slice::from_ref(&secret), budget).await? {
                return Ok(Some(folder));
            }
            delete(store, vec![Key::new(dir.clone(), child)], budget).await?;
        }
        delete(store, batch, budget).await?;
        if budget.left() == 0 {
            return Ok(Some(folder));
        }
        if let Some(sub) = descend {
            folder.push_str(&sub);
        }
    }
}

/// AppRole: each role's secret IDs (through its accessor items), then the role.
async fn approle(
    store: &dyn Store,
    m: crate::approle::Mount<'_>,
    budget: &mut Budget,
    now: i64,
) -> Result<bool, ApiError> {
    loop {
        if budget.left() == 0 {
            return Ok(false);
        }
        let Some(role) = page(store, &m.roles_partition(), 1).await?.pop() else {
            return Ok(true);
        };
        let name = role.sk;
        loop {
            if budget.left() == 0 {
                return Ok(false);
            }
            let accessors =
                crate::approle::accessor_page(store, m, &name, budget.left().min(50)).await?;
            if accessors.is_empty() {
                break;
            }
            delete(store, accessors, budget).await?;
        }
        crate::approle::delete_role(store, m, &name, now).await?;
        // A role whose item was already gone leaves only its list entry.
        delete(store, vec![Key::new(m.roles_partition(), name)], budget).await?;
    }
}

/// Revokes the leases of a secrets mount (partition `leases/{mount}`), engine first.
async fn revoke_leases(
    store: &dyn Store,
    revokers: &Revokers,
    mount: &str,
    budget: &mut Budget,
    now: i64,
) -> Result<bool, ApiError> {
    loop {
        if budget.left() == 0 {
            return Ok(false);
        }
        let ids = page(store, &format!("leases/{mount}"), budget.left().min(25)).await?;
        if ids.is_empty() {
            return Ok(true);
        }
        for k in ids {
            match crate::lease::get(store, &k.sk).await? {
                Some(l) => {
                    // A lease whose engine keeps failing is deleted all the same: its
                    // mount is gone (Vault's unmount revokes by force too). A young
                    // pending lease (its issue may still be running) is revoked once
                    // its grace ends: the mount's cleanup waits for it.
                    if revokers.revoke(store, &l, now, true).await?
                        == crate::lease::Revocation::Deferred
                    {
                        return Ok(false);
                    }
                }
                None => delete(store, vec![k], budget).await?,
            }
            budget.spend(1);
        }
    }
}

/// Starts revoking the tokens an auth mount issued: each becomes a revocation job
/// ([`crate::revocation`]) that revokes its leases, then the token. `true` once every
/// one has started.
async fn revoke_tokens(
    store: &dyn Store,
    mount_path: &str,
    budget: &mut Budget,
    now: i64,
) -> Result<bool, ApiError> {
    for pk in crate::token::mount_index_partitions(mount_path) {
        loop {
            if budget.left() == 0 {
                return Ok(false);
            }
            let keys = page(store, &pk, budget.left().min(25)).await?;
            if keys.is_empty() {
                break;
            }
            for k in keys {
                // Recorded as a revocation job (the token is refused from here on);
                // the job revokes its leases in the sweeper's bounded steps.
                crate::revocation::start_token(store, &k.sk, now).await?;
                delete(store, vec![k], budget).await?;
            }
        }
    }
    Ok(true)
}
