//! KV version 2 secrets engine (VAULT-NOTES.md "KV v2"), with envelope encryption.
//!
//! Items of a secret at `{mount}/{path}`, all in partition `kv/{mount}/{path}`:
//! - sort key `~meta`: current and oldest version, max versions, `cas_required`,
//!   custom metadata and the per-version states (created, deleted, destroyed);
//! - sort key `v/{version:010}`: the sealed data of one version (AES-256-GCM with the
//!   keyring's active key; associated data `kv`, mount, path, version).
//!
//! `~` sorts after `v`, so one descending query of two items returns the metadata and
//! the newest version: a read of the latest version is one round trip. A read of a given
//! version is one `get_many`. Writes change the metadata and the new version in one
//! transaction, conditional on the version read (check-and-set).
//!
//! Folders for LIST live in `kvdir/{mount}/{folder}` with one item per child.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};

use crate::clock::rfc3339;
use crate::error::ApiError;
mod latest;
mod request;

use crate::keyring::{Keyring, Sealed};
use crate::policy::Grant;
use crate::store::{
    Cond, Item, ItemExt, Key, Query, Store, StoreError, Value, Write, new_item, query_all,
    query_sort_keys,
};
pub use latest::LatestVersions;
pub use request::{ConfigUpdate, MAX_VERSIONS_LIMIT, MetadataUpdate, Versions, WriteRequest};

const SK_META: &str = "~meta";
/// Attempts of a metadata change that loses races ([`crate::backoff`] between them):
/// under contention on one secret the writers spread out over about a second.
const RETRIES: u32 = 10;
const A_CURRENT: &str = "current_version";
const A_OLDEST: &str = "oldest_version";
const A_MAX: &str = "max_versions";
const A_CAS_REQ: &str = "cas_required";
const A_CREATED: &str = "created_at";
const A_UPDATED: &str = "updated_at";
/// The metadata's revision: every change of the metadata item adds one and is
/// conditional on the revision it read, so no two changes can both apply from one
/// read (a data write cannot undo a concurrent delete, destroy or settings change).
const A_REV: &str = "revision";
const A_VERSIONS: &str = "versions";
const A_CUSTOM: &str = "custom_metadata";
const A_DELETED: &str = "deleted_at";
const A_DESTROYED: &str = "destroyed";
const A_CT: &str = "ciphertext";
const A_KEY_VERSION: &str = "key_version";

/// Versions kept when neither the secret nor the mount sets `max_versions` (Vault's 10).
pub const DEFAULT_MAX_VERSIONS: i64 = 10;
/// Largest accepted secret data, bytes of JSON: a sealed version must fit in one
/// DynamoDB item (400 KB with its keys and attributes).
pub const MAX_DATA_BYTES: usize = 256 * 1024;
/// Attempts of a read whose metadata names a live version that was not read; after
/// them the version counts as gone ([`Kv::read_with`]).
const READ_ATTEMPTS: u32 = 3;
/// Most folder levels in a secret path.
pub const MAX_DEPTH: usize = 32;

fn part(mount: &str, path: &str) -> String {
    format!("kv/{mount}/{path}")
}
fn meta_key(mount: &str, path: &str) -> Key {
    Key::new(part(mount, path), SK_META)
}
fn version_sk(v: i64) -> String {
    format!("v/{v:010}")
}
fn version_key(mount: &str, path: &str, v: i64) -> Key {
    Key::new(part(mount, path), version_sk(v))
}
/// The items a read of `version` (0: the newest) of `mount`/`path` starts with, when
/// they can be named before reading: the metadata and that version's item; for the
/// newest, only when `latest` knows it. `None`: the read queries for the newest.
pub fn read_keys(
    mount: &str,
    path: &str,
    version: i64,
    latest: &LatestVersions,
) -> Option<[Key; 2]> {
    let v = if version > 0 {
        version
    } else {
        latest.get(mount, path).filter(|v| *v > 0)?
    };
    Some([meta_key(mount, path), version_key(mount, path, v)])
}
fn config_key(mount: &str) -> Key {
    Key::new(format!("kv-config/{mount}"), "config")
}
fn dir_key(mount: &str, folder: &str, child: &str) -> Key {
    Key::new(format!("kvdir/{mount}/{folder}"), child)
}

/// State of one version, as kept in the metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionState {
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Soft-deletion time, Unix seconds (0: not deleted).
    pub deleted_at: i64,
    /// Whether the data was destroyed.
    pub destroyed: bool,
}

/// A secret's metadata.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Metadata {
    /// Newest version (0 before the first write).
    pub current: i64,
    /// Oldest version still kept.
    pub oldest: i64,
    /// Versions to keep (0: the mount's setting, else 10).
    pub max_versions: i64,
    /// Whether writes must give `cas`.
    pub cas_required: bool,
    /// First write, Unix seconds.
    pub created_at: i64,
    /// Last change, Unix seconds.
    pub updated_at: i64,
    /// Kept versions.
    pub versions: BTreeMap<i64, VersionState>,
    /// Custom metadata (strings).
    pub custom: BTreeMap<String, String>,
    /// Revision ([`A_REV`]; 0 for an item written before revisions).
    pub rev: i64,
}

impl TryFrom<&Item> for Metadata {
    type Error = StoreError;
    fn try_from(item: &Item) -> Result<Self, StoreError> {
        let bad = || StoreError::Malformed("kv metadata".into());
        let mut versions = BTreeMap::new();
        for (k, v) in item.map(A_VERSIONS)? {
            let Value::M(m) = v else { return Err(bad()) };
            let n = |a: &str| m.get(a).and_then(Value::as_n).ok_or_else(bad);
            versions.insert(
                k.parse().map_err(|_| bad())?,
                VersionState {
                    created_at: n(A_CREATED)?,
                    deleted_at: n(A_DELETED)?,
                    destroyed: matches!(m.get(A_DESTROYED), Some(Value::Bool(true))),
                },
            );
        }
        let custom = item
            .map(A_CUSTOM)?
            .into_iter()
            .map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())).ok_or_else(bad))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            current: item.n(A_CURRENT)?,
            oldest: item.n(A_OLDEST)?,
            max_versions: item.n(A_MAX)?,
            cas_required: item.flag(A_CAS_REQ)?,
            created_at: item.n(A_CREATED)?,
            updated_at: item.n(A_UPDATED)?,
            versions,
            custom,
            rev: item.n_opt(A_REV)?.unwrap_or(0),
        })
    }
}

impl Metadata {
    fn to_item(&self, key: &Key) -> Item {
        let mut item = new_item(key);
        item.insert(A_REV.into(), self.rev.into());
        item.insert(A_CURRENT.into(), self.current.into());
        item.insert(A_OLDEST.into(), self.oldest.into());
        item.insert(A_MAX.into(), self.max_versions.into());
        item.insert(A_CAS_REQ.into(), self.cas_required.into());
        item.insert(A_CREATED.into(), self.created_at.into());
        item.insert(A_UPDATED.into(), self.updated_at.into());
        let versions = self
            .versions
            .iter()
            .map(|(v, s)| {
                (
                    v.to_string(),
                    Value::M(BTreeMap::from([
                        (A_CREATED.to_owned(), Value::N(s.created_at)),
                        (A_DELETED.to_owned(), Value::N(s.deleted_at)),
                        (A_DESTROYED.to_owned(), Value::Bool(s.destroyed)),
                    ])),
                )
            })
            .collect();
        item.insert(A_VERSIONS.into(), Value::M(versions));
        item.insert(
            A_CUSTOM.into(),
            Value::M(
                self.custom
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::S(v.clone())))
                    .collect(),
            ),
        );
        item
    }

    /// The condition a change of the metadata read as `self` is made under: the item
    /// is still at this revision.
    fn unchanged(&self) -> Cond {
        if self.rev == 0 {
            Cond::And(vec![Cond::Exists, Cond::AttrAbsent(A_REV)])
        } else {
            Cond::Eq(A_REV, Value::N(self.rev))
        }
    }

    fn version_json(&self, v: i64) -> Json {
        let s = self.versions.get(&v);
        json!({
            "created_time": s.map(|s| rfc3339(s.created_at)).unwrap_or_default(),
            "custom_metadata": if self.custom.is_empty() { Json::Null } else { json!(self.custom) },
            "deletion_time": s.filter(|s| s.deleted_at > 0).map(|s| rfc3339(s.deleted_at)).unwrap_or_default(),
            "destroyed": s.is_some_and(|s| s.destroyed),
            "version": v,
        })
    }

    /// The metadata as Vault's `metadata/:path` read returns it.
    pub fn to_json(&self, effective_max: i64) -> Json {
        let versions: Map<String, Json> = self
            .versions
            .iter()
            .map(|(v, s)| {
                (
                    v.to_string(),
                    json!({
                        "created_time": rfc3339(s.created_at),
                        "deletion_time": if s.deleted_at > 0 { rfc3339(s.deleted_at) } else { String::new() },
                        "destroyed": s.destroyed,
                    }),
                )
            })
            .collect();
        json!({
            "cas_required": self.cas_required,
            "created_time": rfc3339(self.created_at),
            "current_version": self.current,
            "custom_metadata": if self.custom.is_empty() { Json::Null } else { json!(self.custom) },
            "delete_version_after": "0s",
            "max_versions": if self.max_versions > 0 { self.max_versions } else { 0 },
            "oldest_version": self.oldest,
            "updated_time": rfc3339(self.updated_at),
            "versions": versions,
            "effective_max_versions": effective_max,
        })
    }
}

/// A mount's settings (`{mount}/config`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountConfig {
    /// Versions to keep (0: 10).
    pub max_versions: i64,
    /// Whether every write must give `cas`.
    pub cas_required: bool,
}

impl MountConfig {
    fn from_item(item: Option<&Item>) -> Result<Self, StoreError> {
        Ok(match item {
            None => Self::default(),
            Some(i) => Self {
                max_versions: i.n(A_MAX)?,
                cas_required: i.flag(A_CAS_REQ)?,
            },
        })
    }
}

/// The KV engine over a store and a keyring.
pub struct Kv<'a> {
    /// Storage.
    pub store: &'a dyn Store,
    /// Keyring for sealing and opening values.
    pub keyring: &'a Keyring,
}

fn check_path(path: &str) -> Result<(), ApiError> {
    if path.is_empty() || path.ends_with('/') {
        return Err(ApiError::bad(
            "a secret path must name a secret, not a folder",
        ));
    }
    if path.split('/').count() > MAX_DEPTH {
        return Err(ApiError::bad(format!(
            "a secret path has at most {MAX_DEPTH} segments"
        )));
    }
    Ok(())
}

fn aad<'p>(mount: &'p str, path: &'p str, version: &'p str) -> [&'p str; 4] {
    ["kv", mount, path, version]
}

/// The outcome of a read.
pub enum ReadOutcome {
    /// The data and its version's metadata.
    Found(Json),
    /// The version exists but is deleted or destroyed: Vault answers 404 with the metadata.
    Gone(Json),
    /// No such secret or version.
    Missing,
}

/// The version a write is conditioned on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cas {
    /// None asked: a concurrent write is retried (refused when `cas_required`).
    None,
    /// The client's `options.cas`: a mismatch is 400.
    Given(i64),
    /// The version a patch was computed from: a mismatch means recompute.
    Base(i64),
}

/// RFC 7386 JSON merge patch of `target` by `patch`.
pub fn merge_patch(target: &mut Json, patch: &Json) {
    let Json::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Json::Object(Map::new());
    }
    if let Json::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Json::Null), v);
            }
        }
    }
}

impl Kv<'_> {
    async fn meta(&self, mount: &str, path: &str) -> Result<Option<Metadata>, ApiError> {
        Ok(self
            .store
            .get(&meta_key(mount, path))
            .await?
            .as_ref()
            .map(Metadata::try_from)
            .transpose()?)
    }

    /// The metadata and the newest version's item: `~meta` sorts after `v/`, so one
    /// descending query of two items. `(None, None)` when the secret has no metadata.
    async fn newest(
        &self,
        mount: &str,
        path: &str,
    ) -> Result<(Option<Item>, Option<Item>), ApiError> {
        let mut q = Query::partition(part(mount, path));
        q.forward = false;
        q.limit = Some(2);
        let mut items = self.store.query(&q).await?.items.into_iter();
        Ok(match items.next() {
            Some(m) if m.key().sk == SK_META => (Some(m), items.next()),
            _ => (None, None),
        })
    }

    /// Reads `version` (0: the newest). One round trip.
    pub async fn read(
        &self,
        mount: &str,
        path: &str,
        version: i64,
    ) -> Result<ReadOutcome, ApiError> {
        self.read_with(mount, path, version, &LatestVersions::new())
            .await
    }

    /// Reads `version` (0: the newest) as [`Kv::read`], reading the items
    /// [`read_keys`] names when it names them (the pipeline may have prefetched them),
    /// and records the newest version in `latest`. One round trip; two when `latest`
    /// is stale (the secret changed since this process last read it).
    pub async fn read_with(
        &self,
        mount: &str,
        path: &str,
        version: i64,
        latest: &LatestVersions,
    ) -> Result<ReadOutcome, ApiError> {
        check_path(path)?;
        // A batch read (or query) is not a snapshot across items: it can see the
        // metadata before a write and the versions after it (the write deleted the
        // version the old metadata names, `max_versions`), so a version the metadata
        // says is live but is not there is read again; still missing after
        // READ_ATTEMPTS, a `DELETE metadata` is under way.
        for attempt in 0..READ_ATTEMPTS {
            let hints = if attempt == 0 {
                latest
            } else {
                &LatestVersions::new()
            };
            if let Some(outcome) = self.read_once(mount, path, version, hints, latest).await? {
                return Ok(outcome);
            }
        }
        Ok(ReadOutcome::Missing)
    }

    /// One attempt of [`Kv::read_with`], naming items from `hints` and noting the
    /// newest version in `latest`; `None` when the metadata says the version is live
    /// but its item was not read.
    async fn read_once(
        &self,
        mount: &str,
        path: &str,
        version: i64,
        hints: &LatestVersions,
        latest: &LatestVersions,
    ) -> Result<Option<ReadOutcome>, ApiError> {
        let (meta_item, version_item) = match read_keys(mount, path, version, hints) {
            Some(keys) => {
                let mut got = self.store.get_many(&keys).await?.into_iter();
                let (meta_item, version_item) = (got.next().flatten(), got.next().flatten());
                let hinted = keys[1].sk.clone();
                let stale = version == 0
                    && match &meta_item {
                        Some(m) => version_sk(Metadata::try_from(m)?.current) != hinted,
                        None => false,
                    };
                if stale {
                    self.newest(mount, path).await?
                } else {
                    (meta_item, version_item)
                }
            }
            None => self.newest(mount, path).await?,
        };
        let Some(meta_item) = meta_item else {
            return Ok(Some(ReadOutcome::Missing));
        };
        let meta = Metadata::try_from(&meta_item)?;
        latest.note(mount, path, meta.current);
        let want = if version == 0 { meta.current } else { version };
        let Some(state) = meta.versions.get(&want) else {
            return Ok(Some(ReadOutcome::Missing));
        };
        let vmeta = meta.version_json(want);
        if state.deleted_at > 0 || state.destroyed {
            return Ok(Some(ReadOutcome::Gone(
                json!({ "data": null, "metadata": vmeta }),
            )));
        }
        // The metadata says live but the data was not read: a torn read, or a `DELETE
        // metadata` under way (it deletes the versions, then the metadata).
        let Some(item) = version_item.filter(|i| i.key().sk == version_sk(want)) else {
            return Ok(None);
        };
        let sealed = Sealed {
            key_version: u32::try_from(item.n(A_KEY_VERSION)?).map_err(|_| ApiError::Internal)?,
            ciphertext: item.b(A_CT)?.to_vec(),
        };
        let vs = want.to_string();
        let plain = self.keyring.open(&aad(mount, path, &vs), &sealed).await?;
        let data: Json = serde_json::from_slice(plain.expose()).map_err(|_| ApiError::Internal)?;
        Ok(Some(ReadOutcome::Found(
            json!({ "data": data, "metadata": vmeta }),
        )))
    }

    /// Writes a new version (`POST data/:path` with `{"data": {...}, "options": {"cas": N}}`).
    /// With `cas`, writes only if the current version is `cas` (0: only if the secret
    /// does not exist); mismatches are 400 and change nothing. Without `cas`, a
    /// concurrent write is retried. Versions beyond max versions are deleted in the
    /// same transaction. Returns the new version's metadata. `grant` is the caller's:
    /// a new secret needs `create`, a new version `update` (Vault's existence check).
    pub async fn write(
        &self,
        mount: &str,
        path: &str,
        req: &WriteRequest,
        grant: Grant,
        now: i64,
    ) -> Result<Json, ApiError> {
        check_path(path)?;
        let cas = match req.cas {
            Some(c) => Cas::Given(c),
            None => Cas::None,
        };
        self.write_version(mount, path, &req.data, cas, grant, now)
            .await?
            .ok_or(ApiError::Unavailable)
    }

    /// Patches the newest version with a JSON merge patch (RFC 7386, Vault's `PATCH
    /// data/:path` as `vault kv patch` sends it: `{"data": {...}, "options": {"cas": N}}`):
    /// keys set to `null` are removed, objects merge recursively, anything else
    /// replaces. Writes the result as a new version. 404 when the secret has no live
    /// newest version (missing, deleted or destroyed), as Vault; `cas` and
    /// `cas_required` as for writes. A concurrent write is retried on the new version.
    pub async fn patch(
        &self,
        mount: &str,
        path: &str,
        req: &WriteRequest,
        now: i64,
    ) -> Result<Json, ApiError> {
        check_path(path)?;
        let (patch, user_cas) = (&req.data, req.cas);
        // The secret exists when there is something to patch: `update` is what Vault's
        // existence check asks, and the caller holds `patch` (authorized already).
        let grant = Grant {
            caps: crate::policy::Capability::Update.into(),
        };
        for attempt in 0..RETRIES {
            if attempt > 0 {
                crate::backoff::pause(attempt).await;
            }
            let ReadOutcome::Found(current) = self.read(mount, path, 0).await? else {
                return Err(ApiError::NotFound);
            };
            let version = current["metadata"]["version"]
                .as_i64()
                .ok_or(ApiError::Internal)?;
            let mut data = current.get("data").cloned().unwrap_or(Json::Null);
            merge_patch(&mut data, &Json::Object(patch.clone()));
            let Json::Object(merged) = data else {
                return Err(ApiError::Internal);
            };
            let cas = match user_cas {
                Some(c) => Cas::Given(c),
                None => Cas::Base(version),
            };
            if let Some(meta) = self
                .write_version(mount, path, &merged, cas, grant, now)
                .await?
            {
                return Ok(meta);
            }
        }
        Err(ApiError::Unavailable)
    }

    /// Writes `data` as a new version; `None` when `cas` is [`Cas::Base`] and another
    /// version landed first.
    async fn write_version(
        &self,
        mount: &str,
        path: &str,
        data: &Map<String, Json>,
        cas: Cas,
        grant: Grant,
        now: i64,
    ) -> Result<Option<Json>, ApiError> {
        let plain =
            zeroize::Zeroizing::new(serde_json::to_vec(data).map_err(|_| ApiError::Internal)?);
        if plain.len() > MAX_DATA_BYTES {
            return Err(ApiError::bad(format!(
                "secret data exceeds {MAX_DATA_BYTES} bytes"
            )));
        }
        for attempt in 0..RETRIES {
            if attempt > 0 {
                crate::backoff::pause(attempt).await;
            }
            let got = self
                .store
                .get_many(&[meta_key(mount, path), config_key(mount)])
                .await?;
            let existing = got[0].as_ref().map(Metadata::try_from).transpose()?;
            let mount_cfg = MountConfig::from_item(got[1].as_ref())?;
            grant.require_write(existing.is_some())?;
            let current = existing.as_ref().map_or(0, |m| m.current);
            let cas_required =
                mount_cfg.cas_required || existing.as_ref().is_some_and(|m| m.cas_required);
            match cas {
                Cas::None | Cas::Base(_) if cas_required => {
                    return Err(ApiError::bad(
                        "check-and-set parameter required for this call",
                    ));
                }
                Cas::Given(c) if c != current => {
                    return Err(ApiError::bad(
                        "check-and-set parameter did not match the current version",
                    ));
                }
                Cas::Base(b) if b != current => return Ok(None),
                _ => {}
            }
            let new_v = current + 1;
            let mut meta = existing.clone().unwrap_or(Metadata {
                created_at: now,
                oldest: 1,
                ..Metadata::default()
            });
            meta.current = new_v;
            meta.updated_at = now;
            meta.rev += 1;
            meta.versions.insert(
                new_v,
                VersionState {
                    created_at: now,
                    deleted_at: 0,
                    destroyed: false,
                },
            );
            let max = effective_max(&meta, mount_cfg);
            let keep_from = (new_v - max + 1).max(1);
            let dropped: Vec<i64> = meta
                .versions
                .range(..keep_from)
                .map(|(v, _)| *v)
                .take(80)
                .collect();
            for v in &dropped {
                meta.versions.remove(v);
            }
            meta.oldest = meta.versions.keys().next().copied().unwrap_or(new_v);
            let vs = new_v.to_string();
            let sealed = self.keyring.seal(&aad(mount, path, &vs), &plain).await?;
            let mkey = meta_key(mount, path);
            let mut vitem = new_item(&version_key(mount, path, new_v));
            vitem.insert(A_CT.into(), Value::B(sealed.ciphertext));
            vitem.insert(A_KEY_VERSION.into(), i64::from(sealed.key_version).into());
            vitem.insert(A_CREATED.into(), now.into());
            let mut writes = vec![
                Write::Put {
                    item: meta.to_item(&mkey),
                    cond: Some(match &existing {
                        None => Cond::NotExists,
                        Some(m) => m.unchanged(),
                    }),
                },
                Write::Put {
                    item: vitem,
                    cond: Some(Cond::NotExists),
                },
            ];
            writes.extend(dropped.iter().map(|v| Write::Delete {
                key: version_key(mount, path, *v),
                cond: None,
            }));
            if existing.is_none() {
                writes.extend(folder_entries(mount, path).into_iter().map(|k| Write::Put {
                    item: new_item(&k),
                    cond: None,
                }));
            }
            match self.store.transact(writes).await {
                Ok(()) => return Ok(Some(meta.version_json(new_v))),
                // Another change of the metadata won (a new version, or a delete,
                // destroy or settings change): read again. The check-and-set is judged
                // against what is current then, so a change that left the version
                // alone does not fail it.
                Err(e) if e.is_condition() || e.is_retryable() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::Unavailable)
    }

    /// Applies `change` to the metadata under a check on the version read; retried on
    /// a concurrent change. `extra` writes go in the same transaction.
    async fn update_meta(
        &self,
        mount: &str,
        path: &str,
        change: impl Fn(&mut Metadata) -> Result<Vec<Write>, ApiError>,
        now: i64,
    ) -> Result<(), ApiError> {
        check_path(path)?;
        for attempt in 0..RETRIES {
            if attempt > 0 {
                crate::backoff::pause(attempt).await;
            }
            let Some(mut meta) = self.meta(mount, path).await? else {
                return Ok(());
            };
            let unchanged = meta.unchanged();
            let extra = change(&mut meta)?;
            meta.updated_at = now;
            meta.rev += 1;
            let mut writes = vec![Write::Put {
                item: meta.to_item(&meta_key(mount, path)),
                cond: Some(unchanged),
            }];
            writes.extend(extra);
            match self.store.transact(writes).await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_condition() || e.is_retryable() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::Unavailable)
    }

    /// Soft-deletes versions (`DELETE data/:path`: the newest; `POST delete/:path`: the
    /// listed ones). Idempotent; unknown versions are ignored, as in Vault.
    pub async fn soft_delete(
        &self,
        mount: &str,
        path: &str,
        versions: Option<&Versions>,
        now: i64,
    ) -> Result<(), ApiError> {
        let list = versions.map(|v| v.0.clone());
        self.update_meta(
            mount,
            path,
            |m| {
                let targets = list.clone().unwrap_or_else(|| vec![m.current]);
                for v in targets {
                    if let Some(s) = m.versions.get_mut(&v)
                        && s.deleted_at == 0
                        && !s.destroyed
                    {
                        s.deleted_at = now;
                    }
                }
                Ok(Vec::new())
            },
            now,
        )
        .await
    }

    /// Undeletes versions (`POST undelete/:path`); destroyed versions stay destroyed.
    pub async fn undelete(
        &self,
        mount: &str,
        path: &str,
        versions: &Versions,
        now: i64,
    ) -> Result<(), ApiError> {
        let list = versions.0.clone();
        self.update_meta(
            mount,
            path,
            |m| {
                for v in &list {
                    if let Some(s) = m.versions.get_mut(v) {
                        s.deleted_at = 0;
                    }
                }
                Ok(Vec::new())
            },
            now,
        )
        .await
    }

    /// Destroys versions (`POST destroy/:path`): deletes their data for good.
    pub async fn destroy(
        &self,
        mount: &str,
        path: &str,
        versions: &Versions,
        now: i64,
    ) -> Result<(), ApiError> {
        let list = versions.0.clone();
        let (mount_s, path_s) = (mount.to_owned(), path.to_owned());
        self.update_meta(
            mount,
            path,
            move |m| {
                let mut writes = Vec::new();
                for v in &list {
                    if let Some(s) = m.versions.get_mut(v) {
                        s.destroyed = true;
                        writes.push(Write::Delete {
                            key: version_key(&mount_s, &path_s, *v),
                            cond: None,
                        });
                    }
                }
                Ok(writes)
            },
            now,
        )
        .await
    }

    /// Reads the metadata (`GET metadata/:path`).
    pub async fn read_metadata(&self, mount: &str, path: &str) -> Result<Option<Json>, ApiError> {
        check_path(path)?;
        let got = self
            .store
            .get_many(&[meta_key(mount, path), config_key(mount)])
            .await?;
        let Some(item) = &got[0] else { return Ok(None) };
        let meta = Metadata::try_from(item)?;
        let cfg = MountConfig::from_item(got[1].as_ref())?;
        Ok(Some(meta.to_json(effective_max(&meta, cfg))))
    }

    /// Updates metadata settings (`POST metadata/:path`): `max_versions`,
    /// `cas_required`, `custom_metadata`. Creates the metadata when absent, as Vault does.
    pub async fn write_metadata(
        &self,
        mount: &str,
        path: &str,
        update: &MetadataUpdate,
        grant: Grant,
        now: i64,
    ) -> Result<(), ApiError> {
        check_path(path)?;
        let (max, cas, custom) = (
            update.max_versions,
            update.cas_required,
            update.custom_metadata.clone(),
        );
        let apply = |m: &mut Metadata| {
            if let Some(x) = max {
                m.max_versions = x;
            }
            if let Some(c) = cas {
                m.cas_required = c;
            }
            if let Some(c) = &custom {
                m.custom = c.clone();
            }
        };
        let exists = self.meta(mount, path).await?.is_some();
        grant.require_write(exists)?;
        if !exists {
            let mut meta = Metadata {
                created_at: now,
                updated_at: now,
                rev: 1,
                ..Metadata::default()
            };
            apply(&mut meta);
            let mut writes = vec![Write::Put {
                item: meta.to_item(&meta_key(mount, path)),
                cond: Some(Cond::NotExists),
            }];
            writes.extend(folder_entries(mount, path).into_iter().map(|k| Write::Put {
                item: new_item(&k),
                cond: None,
            }));
            match self.store.transact(writes).await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_condition() => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.update_meta(
            mount,
            path,
            |m| {
                apply(m);
                Ok(Vec::new())
            },
            now,
        )
        .await
    }

    /// Deletes the metadata and every version (`DELETE metadata/:path`). Idempotent.
    /// Versions go first, the metadata last and only at the revision read, so a
    /// version written meanwhile is never left without its metadata: the delete starts
    /// over and takes it too. A failure part-way leaves a secret that can be deleted
    /// again, never data without metadata.
    pub async fn delete_all(&self, mount: &str, path: &str) -> Result<(), ApiError> {
        check_path(path)?;
        for attempt in 0..RETRIES {
            if attempt > 0 {
                crate::backoff::pause(attempt).await;
            }
            let meta = self.meta(mount, path).await?;
            let versions: Vec<Key> = query_all(self.store, Query::partition(part(mount, path)))
                .await?
                .iter()
                .map(ItemExt::key)
                .filter(|k| k.sk != SK_META)
                .collect();
            crate::store::delete_keys(self.store, &versions).await?;
            let (folder, leaf) = path
                .rsplit_once('/')
                .map_or((String::new(), path), |(f, l)| (format!("{f}/"), l));
            let mut last = vec![Write::Delete {
                key: dir_key(mount, &folder, leaf),
                cond: None,
            }];
            if let Some(m) = &meta {
                last.push(Write::Delete {
                    key: meta_key(mount, path),
                    cond: Some(m.unchanged()),
                });
            }
            match self.store.transact(last).await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_condition() || e.is_retryable() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::Unavailable)
    }

    /// Lists the children of a folder (`LIST metadata/:folder/`): secrets by name,
    /// sub-folders with a trailing `/`. `None` when the folder has none.
    pub async fn list(&self, mount: &str, folder: &str) -> Result<Option<Vec<String>>, ApiError> {
        let folder = if folder.is_empty() || folder.ends_with('/') {
            folder.to_owned()
        } else {
            format!("{folder}/")
        };
        let keys = query_sort_keys(
            self.store,
            Query::partition(format!("kvdir/{mount}/{folder}")),
        )
        .await?;
        Ok((!keys.is_empty()).then_some(keys))
    }

    /// Reads a mount's configuration.
    pub async fn read_config(&self, mount: &str) -> Result<Json, ApiError> {
        let cfg = MountConfig::from_item(self.store.get(&config_key(mount)).await?.as_ref())?;
        Ok(json!({
            "max_versions": cfg.max_versions,
            "cas_required": cfg.cas_required,
            "delete_version_after": "0s",
        }))
    }

    /// Writes a mount's configuration (`max_versions`, `cas_required`).
    pub async fn write_config(&self, mount: &str, update: &ConfigUpdate) -> Result<(), ApiError> {
        let old = MountConfig::from_item(self.store.get(&config_key(mount)).await?.as_ref())?;
        let mut item = new_item(&config_key(mount));
        item.insert(
            A_MAX.into(),
            update.max_versions.unwrap_or(old.max_versions).into(),
        );
        item.insert(
            A_CAS_REQ.into(),
            update.cas_required.unwrap_or(old.cas_required).into(),
        );
        self.store.write(Write::Put { item, cond: None }).await?;
        Ok(())
    }
}

fn effective_max(meta: &Metadata, cfg: MountConfig) -> i64 {
    [meta.max_versions, cfg.max_versions]
        .into_iter()
        .find(|m| *m > 0)
        .unwrap_or(DEFAULT_MAX_VERSIONS)
}

/// The folder entries of a secret path: `a/b/c` gives `("", "a/")`, `("a/", "b/")`,
/// `("a/b/", "c")`.
fn folder_entries(mount: &str, path: &str) -> Vec<Key> {
    let segs: Vec<&str> = path.split('/').collect();
    let mut out = Vec::new();
    let mut folder = String::new();
    for (i, s) in segs.iter().enumerate() {
        let child = if i + 1 == segs.len() {
            (*s).to_owned()
        } else {
            format!("{s}/")
        };
        out.push(dir_key(mount, &folder, &child));
        folder.push_str(s);
        folder.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::http::params::Body;
    use crate::kms::FakeKms;
    use crate::store::interpose::{Call, Interpose};
    use crate::store::memory::MemoryStore;

    fn all() -> Grant {
        Grant {
            caps: crate::policy::Capabilities::all_root(),
        }
    }

    async fn setup() -> (Arc<MemoryStore>, Keyring) {
        let store = Arc::new(MemoryStore::new());
        let ring = Keyring::new(store.clone(), Arc::new(FakeKms::new()), "t");
        ring.add_version("k", 0).await.unwrap();
        (store, ring)
    }

    fn body(v: Json) -> Body {
        serde_json::from_value(v).unwrap()
    }

    fn wr(v: Json) -> WriteRequest {
        WriteRequest::from_body(&body(v)).unwrap()
    }

    fn ver(v: Json) -> Versions {
        Versions::from_body(&body(v)).unwrap()
    }

    fn meta(v: Json) -> MetadataUpdate {
        MetadataUpdate::from_body(&body(v)).unwrap()
    }

    fn cfg(v: Json) -> ConfigUpdate {
        ConfigUpdate::from_body(&body(v)).unwrap()
    }

    fn found(o: ReadOutcome) -> Json {
        match o {
            ReadOutcome::Found(j) => j,
            _ => panic!("not found"),
        }
    }

    /// Found by a fresh user's check (stop 24): with `max_versions = 1` a write
    /// deletes the version the old metadata names, so a read that saw the metadata
    /// before the write and the versions after it found the secret missing. The read
    /// reads again and answers the newest version.
    #[tokio::test]
    async fn a_read_torn_by_a_write_reads_again() {
        let (store, ring) = setup().await;
        let kv = Kv {
            store: store.as_ref(),
            keyring: &ring,
        };
        kv.write_metadata("secret", "m", &meta(json!({"max_versions": 1})), all(), 10)
            .await
            .unwrap();
        kv.write("secret", "m", &wr(json!({"data": {"v": 1}})), all(), 10)
            .await
            .unwrap();
        let old_meta = store.get(&meta_key("secret", "m")).await.unwrap();
        kv.write("secret", "m", &wr(json!({"data": {"v": 2}})), all(), 11)
            .await
            .unwrap();
        assert!(
            store
                .get(&version_key("secret", "m", 1))
                .await
                .unwrap()
                .is_none(),
            "max_versions = 1 deleted version 1"
        );
        // The torn view: the metadata before the second write, version 1 gone.
        let torn = crate::store::prefetch::Prefetched::new(
            store.as_ref(),
            vec![
                (meta_key("secret", "m"), old_meta),
                (version_key("secret", "m", 1), None),
            ],
        );
        let kv = Kv {
            store: &torn,
            keyring: &ring,
        };
        let latest = LatestVersions::new();
        latest.note("secret", "m", 1);
        let got = found(kv.read_with("secret", "m", 0, &latest).await.unwrap());
        assert_eq!(got["data"], json!({"v": 2}));
        assert_eq!(latest.get("secret", "m"), Some(2));
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        // The examples of RFC 7386, section 3.
        for (target, patch, want) in [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ] {
            let mut t = target.clone();
            merge_patch(&mut t, &patch);
            assert_eq!(t, want, "{target} + {patch}");
        }
    }

    #[tokio::test]
    async fn patch_merges_into_a_new_version_under_cas() {
        let (store, ring) = setup().await;
        let kv = Kv {
            store: store.as_ref(),
            keyring: &ring,
        };
        let missing = kv
            .patch("secret", "p", &wr(json!({"data": {"a": 1}})), 10)
            .await;
        assert_eq!(missing, Err(ApiError::NotFound), "nothing to patch");
        kv.write(
            "secret",
            "p",
            &wr(json!({"data": {"user": "u", "pw": "one", "tags": {"x": 1, "y": 2}}})),
            all(),
            10,
        )
        .await
        .unwrap();
        let meta = kv
            .patch(
                "secret",
                "p",
                &wr(json!({"data": {"pw": "two", "user": null, "tags": {"y": null, "z": 3}}})),
                11,
            )
            .await
            .unwrap();
        assert_eq!(meta["version"], 2);
        let got = found(kv.read("secret", "p", 0).await.unwrap());
        assert_eq!(got["data"], json!({"pw": "two", "tags": {"x": 1, "z": 3}}));
        let stale = kv
            .patch(
                "secret",
                "p",
                &wr(json!({"data": {"pw": "x"}, "options": {"cas": 1}})),
                12,
            )
            .await
            .unwrap_err();
        assert_eq!(stale.status(), 400, "{stale}");
        kv.patch(
            "secret",
            "p",
            &wr(json!({"data": {"pw": "three"}, "options": {"cas": 2}})),
            12,
        )
        .await
        .unwrap();
        // A deleted newest version cannot be patched.
        kv.soft_delete("secret", "p", None, 13).await.unwrap();
        let gone = kv
            .patch("secret", "p", &wr(json!({"data": {"pw": "x"}})), 14)
            .await;
        assert_eq!(gone, Err(ApiError::NotFound));
        // With cas_required, a patch needs cas too.
        kv.write_config("secret", &cfg(json!({"cas_required": true})))
            .await
            .unwrap();
        kv.undelete("secret", "p", &ver(json!({"versions": [3]})), 15)
            .await
            .unwrap();
        let e = kv
            .patch("secret", "p", &wr(json!({"data": {"pw": "x"}})), 16)
            .await
            .unwrap_err();
        assert_eq!(e.status(), 400, "{e}");
        assert_eq!(
            found(kv.read("secret", "p", 0).await.unwrap())["data"]["pw"],
            "three",
            "refused patches changed nothing"
        );
    }

    #[tokio::test]
    async fn versions_cas_and_reads() {
        let (store, ring) = setup().await;
        let kv = Kv {
            store: store.as_ref(),
            keyring: &ring,
        };
        let w = kv
            .write(
                "secret",
                "app/db",
                &wr(json!({"data": {"pw": "one"}})),
                all(),
                10,
            )
            .await
            .unwrap();
        assert_eq!(w["version"], 1);
        kv.write(
            "secret",
            "app/db",
            &wr(json!({"data": {"pw": "two"}, "options": {"cas": 1}})),
            all(),
            11,
        )
        .await
        .unwrap();
        let e = kv
            .write(
                "secret",
                "app/db",
                &wr(json!({"data": {"pw": "x"}, "options": {"cas": 0}})),
                all(),
                12,
            )
            .await
            .unwrap_err();
        assert_eq!(
            e,
            ApiError::bad("check-and-set parameter did not match the current version")
        );
        let calls = store.calls();
        let latest = found(kv.read("secret", "app/db", 0).await.unwrap());
        assert_eq!(store.calls() - calls, 1, "latest read is one round trip");
        assert_eq!(latest["data"]["pw"], "two");
        assert_eq!(latest["metadata"]["version"], 2);
        let calls = store.calls();
        let v1 = found(kv.read("secret", "app/db", 1).await.unwrap());
        assert_eq!(store.calls() - calls, 1, "versioned read is one round trip");
        assert_eq!(v1["data"]["pw"], "one");
        assert!(matches!(
            kv.read("secret", "app/db", 3).await.unwrap(),
            ReadOutcome::Missing
        ));
        assert!(matches!(
            kv.read("secret", "nope", 0).await.unwrap(),
            ReadOutcome::Missing
        ));
        for item in store.dump() {
            assert!(!format!("{:?}", item.get(A_CT).map(Value::to_json)).contains("two"));
        }
    }

    #[tokio::test]
    async fn delete_undelete_destroy() {
        let (store, ring) = setup().await;
        let kv = Kv {
            store: store.as_ref(),
            keyring: &ring,
        };
        kv.write("secret", "a", &wr(json!({"data": {"k": "1"}})), all(), 1)
            .await
            .unwrap();
        kv.write("secret", "a", &wr(json!({"data": {"k": "2"}})), all(), 2)
            .await
            .unwrap();
        kv.soft_delete("secret", "a", None, 3).await.unwrap();
        assert!(matches!(
            kv.read("secret", "a", 0).await.unwrap(),
            ReadOutcome::Gone(_)
        ));
        kv.undelete("secret", "a", &ver(json!({"versions": [2]})), 4)
            .await
            .unwrap();
        assert_eq!(
            found(kv.read("secret", "a", 0).await.unwrap())["data"]["k"],
            "2"
        );
        kv.destroy("secret", "a", &ver(json!({"versions": [2]})), 5)
            .await
            .unwrap();
        assert!(matches!(
            kv.read("secret", "a", 0).await.unwrap(),
            ReadOutcome::Gone(_)
        ));
        kv.undelete("secret", "a", &ver(json!({"versions": [2]})), 6)
            .await
            .unwrap();
        assert!(
            matches!(
                kv.read("secret", "a", 0).await.unwrap(),
                ReadOutcome::Gone(_)
            ),
            "destroyed stays destroyed"
        );
        assert_eq!(
            found(kv.read("secret", "a", 1).await.unwrap())["data"]["k"],
            "1"
        );
        for bad in [
            json!({"versions": "x"}),
            json!({"versions": []}),
            json!({}),
            json!({"versions": [0]}),
        ] {
            let e = Versions::from_body(&body(bad.clone())).expect_err(&bad.to_string());
            assert_eq!(e.status(), 400, "{bad}");
        }
        kv.delete_all("secret", "a").await.unwrap();
        assert!(
            store.dump().iter().all(|i| i.key().pk.starts_with("sys/")),
            "{:?}",
            store.dump()
        );
    }

    #[tokio::test]
    async fn max_versions_prunes_old_ones() {
        let (store, ring) = setup().await;
        let kv = Kv {
            store: store.as_ref(),
            keyring: &ring,
        };
        kv.write_metadata("secret", "p", &meta(json!({"max_versions": 2})), all(), 0)
            .await
            .unwrap();
        for i in 0..5 {
            kv.write("secret", "p", &wr(json!({"data": {"i": i}})), all(), i)
                .await
                .unwrap();
        }
        let m = kv.read_metadata("secret", "p").await.unwrap().unwrap();
        assert_eq!(
            (m["current_version"].as_i64(), m["oldest_version"].as_i64()),
            (Some(5), Some(4))
        );
        let versions = store
            .dump()
            .iter()
            .filter(|i| i.key().sk.starts_with("v/"))
            .count();
        assert_eq!(versions, 2);
    }

    #[tokio::test]
    async fn cas_required_and_listing() {
        let (store, ring) = setup().await;
        let kv = Kv {
            store: store.as_ref(),
            keyring: &ring,
        };
        kv.write_config("secret", &cfg(json!({"cas_required": true})))
            .await
            .unwrap();
        assert!(
            kv.write("secret", "x/y", &wr(json!({"data": {}})), all(), 0)
                .await
                .is_err()
        );
        kv.write(
            "secret",
            "x/y",
            &wr(json!({"data": {}, "options": {"cas": 0}})),
            all(),
            0,
        )
        .await
        .unwrap();
        kv.write(
            "secret",
            "x/z/w",
            &wr(json!({"data": {}, "options": {"cas": 0}})),
            all(),
            0,
        )
        .await
        .unwrap();
        assert_eq!(kv.list("secret", "").await.unwrap().unwrap(), vec!["x/"]);
        assert_eq!(
            kv.list("secret", "x/").await.unwrap().unwrap(),
            vec!["y", "z/"]
        );
        assert!(kv.list("secret", "nope/").await.unwrap().is_none());
        kv.delete_all("secret", "x/y").await.unwrap();
        assert_eq!(kv.list("secret", "x/").await.unwrap().unwrap(), vec!["z/"]);
    }

    #[tokio::test]
    async fn moved_ciphertext_fails_to_open() {
        let (store, ring) = setup().await;
        let kv = Kv {
            store: store.as_ref(),
            keyring: &ring,
        };
        kv.write("secret", "a", &wr(json!({"data": {"k": "A"}})), all(), 1)
            .await
            .unwrap();
        kv.write("secret", "b", &wr(json!({"data": {"k": "B"}})), all(), 1)
            .await
            .unwrap();
        let mut a = store
            .get(&version_key("secret", "a", 1))
            .await
            .unwrap()
            .unwrap();
        let b = store
            .get(&version_key("secret", "b", 1))
            .await
            .unwrap()
            .unwrap();
        a.insert(A_CT.into(), b[A_CT].clone());
        store
            .write(Write::Put {
                item: a,
                cond: None,
            })
            .await
            .unwrap();
        assert_eq!(
            kv.read("secret", "a", 0).await.err(),
            Some(ApiError::Integrity)
        );
    }

    /// Finding 7 of the simulation issue: `max_versions` had no bound, and the
    /// metadata item holds every kept version's state; past about 5,500 versions it
    /// outgrows DynamoDB's 400 KB item and every write fails (the in-memory store
    /// refuses such items as DynamoDB does).
    #[tokio::test]
    async fn max_versions_is_bounded_so_the_metadata_fits_one_item() {
        let state = VersionState {
            created_at: 1_780_000_000,
            deleted_at: 1_780_000_000,
            destroyed: false,
        };
        let with = |n: i64| Metadata {
            current: n,
            oldest: 1,
            max_versions: n,
            custom: (0..64)
                .map(|k| (format!("{k:0128}"), "v".repeat(512)))
                .collect(),
            versions: (1..=n).map(|v| (v, state.clone())).collect(),
            ..Metadata::default()
        };
        let size = |n| crate::store::item_size(&with(n).to_item(&meta_key("secret", "p")));
        assert!(
            size(7_000) > crate::store::ITEM_MAX_BYTES,
            "{}",
            size(7_000)
        );
        assert!(
            size(MAX_VERSIONS_LIMIT) < crate::store::ITEM_MAX_BYTES / 2,
            "{}",
            size(MAX_VERSIONS_LIMIT)
        );
        for b in [
            MetadataUpdate::from_body(&body(json!({"max_versions": 1001}))),
            ConfigUpdate::from_body(&body(json!({"max_versions": 1001})))
                .map(|_| MetadataUpdate::default()),
        ] {
            assert_eq!(b.unwrap_err().status(), 400);
        }

        // The largest allowed secret keeps writing past its limit.
        let (store, ring) = setup().await;
        let kv = Kv {
            store: store.as_ref(),
            keyring: &ring,
        };
        kv.write_metadata(
            "secret",
            "p",
            &meta(json!({"max_versions": MAX_VERSIONS_LIMIT})),
            all(),
            1,
        )
        .await
        .unwrap();
        for n in 0..MAX_VERSIONS_LIMIT + 5 {
            kv.write("secret", "p", &wr(json!({"data": {"n": n}})), all(), 2)
                .await
                .unwrap();
        }
        let m = kv.meta("secret", "p").await.unwrap().unwrap();
        assert_eq!(m.versions.len() as i64, MAX_VERSIONS_LIMIT);
    }

    /// Finding 5 of the simulation issue: a data write conditioned its metadata put on
    /// the current version only, so a destroy (or delete, undelete, settings change)
    /// that applied between its read and its write was overwritten with the state it
    /// had read: an acknowledged destroy undone. Found by the simulation's
    /// `kv-deleted-not-served` and `kv-metadata-kept` (seeds 89, 196, with the old
    /// condition).
    #[tokio::test]
    async fn a_write_never_undoes_a_destroy_that_landed_after_its_read() {
        let (store, ring) = setup().await;
        let kv = Kv {
            store: store.as_ref(),
            keyring: &ring,
        };
        kv.write("secret", "a", &wr(json!({"data": {"k": "1"}})), all(), 1)
            .await
            .unwrap();
        let racing = Interpose::new(store.clone(), Call::Transact, |inner| {
            Box::pin(async move {
                let ring = Keyring::new(inner.clone(), Arc::new(FakeKms::new()), "t");
                let other = Kv {
                    store: inner.as_ref(),
                    keyring: &ring,
                };
                other
                    .destroy("secret", "a", &ver(json!({"versions": [1]})), 3)
                    .await
                    .unwrap();
            })
        });
        let writer = Kv {
            store: &racing,
            keyring: &ring,
        };
        writer
            .write("secret", "a", &wr(json!({"data": {"k": "2"}})), all(), 2)
            .await
            .unwrap();
        assert!(racing.fired());
        let m = kv.meta("secret", "a").await.unwrap().unwrap();
        assert!(m.versions[&1].destroyed, "the destroy holds");
        assert_eq!(m.current, 2);
        assert!(matches!(
            kv.read("secret", "a", 1).await.unwrap(),
            ReadOutcome::Gone(_)
        ));
        assert_eq!(
            found(kv.read("secret", "a", 2).await.unwrap())["data"]["k"],
            "2"
        );
    }

    /// A check-and-set write racing a change that leaves the current version alone (a
    /// delete of an old version) is retried and judged against the version current
    /// then: it succeeds, as in Vault, instead of a false "did not match".
    #[tokio::test]
    async fn a_cas_write_survives_a_concurrent_change_that_keeps_the_version() {
        let (store, ring) = setup().await;
        let kv = Kv {
            store: store.as_ref(),
            keyring: &ring,
        };
        for v in ["1", "2"] {
            kv.write("secret", "a", &wr(json!({"data": {"k": v}})), all(), 1)
                .await
                .unwrap();
        }
        let racing = Interpose::new(store.clone(), Call::Transact, |inner| {
            Box::pin(async move {
                let ring = Keyring::new(inner.clone(), Arc::new(FakeKms::new()), "t");
                let other = Kv {
                    store: inner.as_ref(),
                    keyring: &ring,
                };
                other
                    .soft_delete("secret", "a", Some(&ver(json!({"versions": [1]}))), 2)
                    .await
                    .unwrap();
            })
        });
        let writer = Kv {
            store: &racing,
            keyring: &ring,
        };
        let meta = writer
            .write(
                "secret",
                "a",
                &wr(json!({"data": {"k": "3"}, "options": {"cas": 2}})),
                all(),
                3,
            )
            .await
            .unwrap();
        assert!(racing.fired());
        assert_eq!(meta["version"], 3);
        let m = kv.meta("secret", "a").await.unwrap().unwrap();
        assert!(m.versions[&1].deleted_at > 0, "the delete holds too");
    }
}
