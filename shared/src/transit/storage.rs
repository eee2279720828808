//! Where transit keys live: one item per key in the mount's partition
//! `transit/{storage}/keys` (sort key: the key's name), holding
//!
//! - `policy`: the [`KeyPolicy`] as JSON (no secret in it);
//! - `sealed`: a map of version to that version's material ([`Material`]), each
//!   sealed under the keyring (AES-256-GCM with the keyring's data key, associated
//!   data `transit`, mount storage, name, version, type), so no key is ever stored in
//!   plaintext;
//! - `rev`: a revision every change adds one to, conditional on the one read, so
//!   concurrent rotations and configuration changes cannot undo each other.
//!
//! A warm function opens each version once: [`KeyCache`] keeps the parsed material,
//! keyed by the sealed bytes and their associated data, so a warm operation is one
//! `GetItem` and no KMS call (the keyring's data key is itself unwrapped once per
//! process). Material moved to another key's item does not open (its associated data
//! differs), and never hits the cache (the key includes it).
//!
//! The mount's BYOK wrapping key is stored the same way under its own prefix
//! ([`wrapping_storage`]).
//!
//! A key with an `auto_rotate_period` is on the expiry index as due at its next
//! rotation ([`crate::due`]; [`KeyPolicy::next_rotation`], never earlier than the
//! write): every write of the item rewrites that time, and the sweeper's
//! [`AutoRotate`] job rotates the key once it has passed.
//!
//! A key's item must fit DynamoDB's 400 KB: about 3,000 AES versions or 120 RSA-4096
//! ones; a rotation that would pass it is refused until old versions are trimmed.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::due::due_attrs;
use crate::keyring::{Keyring, Sealed};
use crate::store::{
    Cond, ITEM_MAX_BYTES, Item, ItemExt, Key, Query, Store, StoreError, Value, Write, item_size,
    new_item, query_sort_keys,
};

use super::error::{Result, TransitError};
use super::material::Material;
use super::policy::{CreateOptions, KeyPolicy, VersionMeta};

const A_POLICY: &str = "policy";
const A_SEALED: &str = "sealed";
const A_REV: &str = "rev";
/// Attempts of a change that loses races to other writers of the same key.
const RETRIES: u32 = 8;
/// Versions the cache holds before it starts over (about 1 KB each for RSA-4096).
pub const CACHE_CAPACITY: usize = 4096;

/// The partition of a mount's keys.
pub fn partition(storage: &str) -> String {
    format!("transit/{storage}/keys")
}

/// The storage prefix of a mount's BYOK wrapping key (`transit/wrapping_key`): a
/// partition of its own, `transit/{storage}/import/keys`, so listing the mount's
/// keys never shows it and no key route reaches it (OpenBao keeps it as the policy
/// `import/wrapping-key`).
pub fn wrapping_storage(storage: &str) -> String {
    format!("{storage}/import")
}

/// The item of key `name` on the mount with storage prefix `storage`.
pub fn key(storage: &str, name: &str) -> Key {
    Key::new(partition(storage), name)
}

/// A cache entry's key: the sealing's associated data, the keyring version and the
/// sealed bytes.
type CacheKey = (Vec<u8>, u32, Vec<u8>);

/// Parsed material of key versions this process has opened.
#[derive(Default)]
pub struct KeyCache {
    map: Mutex<HashMap<CacheKey, Arc<Material>>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyCache(redacted)")
    }
}

impl KeyCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn get(&self, k: &CacheKey) -> Option<Arc<Material>> {
        self.map.lock().ok()?.get(k).cloned()
    }

    fn put(&self, k: CacheKey, m: Arc<Material>) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= CACHE_CAPACITY {
                map.clear();
            }
            map.insert(k, m);
        }
    }

    /// Versions held.
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A key as stored: its policy, its sealed versions and its revision.
#[derive(Clone, Debug)]
pub struct Record {
    /// The policy.
    pub policy: KeyPolicy,
    sealed: BTreeMap<u32, Sealed>,
    rev: i64,
}

/// A key with the material of some of its versions opened.
#[derive(Debug)]
pub struct Loaded {
    /// The policy.
    pub policy: KeyPolicy,
    materials: BTreeMap<u32, Arc<Material>>,
}

impl Loaded {
    /// A loaded key from its parts (tests, benchmarks, fuzzing).
    pub fn from_parts(policy: KeyPolicy, materials: BTreeMap<u32, Arc<Material>>) -> Self {
        Self { policy, materials }
    }

    /// The material of version `v` (opened by [`Keys::open`]).
    pub fn material(&self, v: u32) -> Result<&Material> {
        self.materials
            .get(&v)
            .map(AsRef::as_ref)
            .ok_or(TransitError::Internal("key version not loaded"))
    }
}

fn malformed(_: serde_json::Error) -> TransitError {
    TransitError::Api(StoreError::Malformed("transit key policy".into()).into())
}

impl Record {
    fn from_item(item: &Item) -> Result<Self> {
        let policy: KeyPolicy = serde_json::from_str(item.s(A_POLICY)?).map_err(malformed)?;
        let mut sealed = BTreeMap::new();
        for (v, value) in item.map(A_SEALED)? {
            let (Ok(v), Value::B(bytes)) = (v.parse::<u32>(), value) else {
                return Err(TransitError::Internal("stored key version malformed"));
            };
            if bytes.len() < 4 {
                return Err(TransitError::Internal("stored key version malformed"));
            }
            let (kv, ct) = bytes.split_at(4);
            sealed.insert(
                v,
                Sealed {
                    key_version: u32::from_be_bytes([kv[0], kv[1], kv[2], kv[3]]),
                    ciphertext: ct.to_vec(),
                },
            );
        }
        Ok(Self {
            policy,
            sealed,
            rev: item.n(A_REV)?,
        })
    }

    /// The stored item as written at `now` (Unix seconds; the earliest due time).
    fn to_item(&self, storage: &str, now: i64) -> Result<Item> {
        let mut item = new_item(&key(storage, &self.policy.name));
        let policy = serde_json::to_string(&self.policy)
            .map_err(|_| TransitError::Internal("policy encoding"))?;
        item.insert(A_POLICY.into(), Value::S(policy));
        let sealed = self
            .sealed
            .iter()
            .map(|(v, s)| {
                let mut b = s.key_version.to_be_bytes().to_vec();
                b.extend_from_slice(&s.ciphertext);
                (v.to_string(), Value::B(b))
            })
            .collect();
        item.insert(A_SEALED.into(), Value::M(sealed));
        item.insert(A_REV.into(), Value::N(self.rev));
        if let Some(due) = self.policy.next_rotation() {
            let pk = partition(storage);
            item.extend(due_attrs(&pk, due.max(now)).map(|(a, v)| (a.to_owned(), v)));
        }
        if item_size(&item) > ITEM_MAX_BYTES - 1024 {
            return Err(TransitError::invalid(format!(
                "key {} has too many versions to store another: trim old versions (keys/{}/trim) first",
                self.policy.name, self.policy.name
            )));
        }
        Ok(item)
    }
}

/// The number of the version after `policy`'s newest; 400 when the key is at
/// [`super::policy::MAX_VERSION`] (a restored backup can name any version: never
/// overflow).
fn next_version(policy: &KeyPolicy) -> Result<u32> {
    policy
        .latest_version
        .checked_add(1)
        .filter(|v| *v <= super::policy::MAX_VERSION)
        .ok_or_else(|| {
            TransitError::invalid(format!(
                "key {} is at the highest version a key can have",
                policy.name
            ))
        })
}

/// The keys of one transit mount.
#[derive(Clone, Copy)]
pub struct Keys<'a> {
    /// Storage.
    pub store: &'a dyn Store,
    /// The keyring sealing every version.
    pub keyring: &'a Keyring,
    /// Opened versions of this process.
    pub cache: &'a KeyCache,
    /// The mount's storage prefix ([`crate::mounts::MountEntry::storage`]).
    pub storage: &'a str,
}

impl Keys<'_> {
    fn aad<'s>(&'s self, name: &'s str, v: &'s str, policy: &'s KeyPolicy) -> [&'s str; 5] {
        ["transit", self.storage, name, v, policy.key_type.name()]
    }

    /// The key `name`, if it exists (one strongly consistent read).
    pub async fn read(&self, name: &str) -> Result<Option<Record>> {
        match self.store.get(&key(self.storage, name)).await? {
            Some(item) => Ok(Some(Record::from_item(&item)?)),
            None => Ok(None),
        }
    }

    /// The names of the mount's keys, sorted.
    pub async fn list(&self) -> Result<Vec<String>> {
        Ok(query_sort_keys(self.store, Query::partition(partition(self.storage))).await?)
    }

    /// Generates and seals version `version` of `policy`.
    async fn new_version(
        &self,
        policy: &KeyPolicy,
        version: u32,
        now: i64,
    ) -> Result<(VersionMeta, Sealed, Arc<Material>)> {
        let (material, bytes) = Material::generate(policy.key_type, policy.key_size)?;
        let (meta, sealed) = self.seal(policy, version, &material, &bytes, now).await?;
        Ok((meta, sealed, Arc::new(material)))
    }

    /// Seals the serialized `bytes` of `material` as version `version` of `policy`.
    async fn seal(
        &self,
        policy: &KeyPolicy,
        version: u32,
        material: &Material,
        bytes: &[u8],
        now: i64,
    ) -> Result<(VersionMeta, Sealed)> {
        let v = version.to_string();
        let sealed = self
            .keyring
            .seal(&self.aad(&policy.name, &v, policy), bytes)
            .await?;
        let meta = VersionMeta {
            created: now,
            public_key: material.public_key()?,
        };
        Ok((meta, sealed))
    }

    fn remember(&self, policy: &KeyPolicy, v: u32, sealed: &Sealed, m: Arc<Material>) {
        let aad = self.aad(&policy.name, &v.to_string(), policy).join("\0");
        self.cache.put(
            (
                aad.into_bytes(),
                sealed.key_version,
                sealed.ciphertext.clone(),
            ),
            m,
        );
    }

    /// Creates key `name` with `opts` unless it exists (Vault's upsert). Returns the
    /// key and whether this call created it.
    pub async fn create(
        &self,
        name: &str,
        opts: &CreateOptions,
        now: i64,
    ) -> Result<(Record, bool)> {
        let placeholder = VersionMeta {
            created: now,
            public_key: None,
        };
        let policy = KeyPolicy::new(name, opts, placeholder);
        let (material, bytes) = Material::generate(policy.key_type, policy.key_size)?;
        self.insert(policy, material, &bytes, now).await
    }

    /// Creates key `name` from imported material `key` (the stored form:
    /// [`super::import::material_key`]; with `public`, the SPKI DER of
    /// [`super::import::public_material`]) unless it exists: `Ok(false)` then, and
    /// nothing is written. The key records `imported` and `allow_rotation`.
    pub async fn import(
        &self,
        name: &str,
        opts: &CreateOptions,
        allow_rotation: bool,
        key: &[u8],
        public: bool,
        now: i64,
    ) -> Result<bool> {
        let placeholder = VersionMeta {
            created: now,
            public_key: None,
        };
        let mut policy = KeyPolicy::new(name, opts, placeholder);
        policy.imported = true;
        policy.imported_allow_rotation = allow_rotation;
        if policy.key_type == super::key_type::KeyType::Hmac {
            policy.key_size = key.len();
        }
        let (material, bytes) = imported(policy.key_type, key, public)?;
        Ok(self.insert(policy, material, &bytes, now).await?.1)
    }

    /// Seals `bytes` (of `material`) as version 1 of `policy` and stores the key if
    /// no key of that name exists (a conditional put: of concurrent creators exactly
    /// one wins, the others get the winner's key and `false`).
    async fn insert(
        &self,
        mut policy: KeyPolicy,
        material: Material,
        bytes: &[u8],
        now: i64,
    ) -> Result<(Record, bool)> {
        let (meta, sealed) = self.seal(&policy, 1, &material, bytes, now).await?;
        policy.versions.insert(1, meta);
        let name = policy.name.clone();
        let rec = Record {
            policy,
            sealed: BTreeMap::from([(1, sealed)]),
            rev: 1,
        };
        let write = Write::Put {
            item: rec.to_item(self.storage, now)?,
            cond: Some(Cond::NotExists),
        };
        match self.store.write(write).await {
            Ok(()) => {
                self.remember(&rec.policy, 1, &rec.sealed[&1], Arc::new(material));
                Ok((rec, true))
            }
            Err(StoreError::ConditionFailed) => {
                let existing = self
                    .read(&name)
                    .await?
                    .ok_or(TransitError::Api(crate::error::ApiError::Unavailable))?;
                Ok((existing, false))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces the stored key with `rec` if its revision is still the one read.
    /// `false` when another writer changed it first.
    async fn replace(&self, rec: &Record, now: i64) -> Result<bool> {
        let mut next = rec.clone();
        next.rev += 1;
        let write = Write::Put {
            item: next.to_item(self.storage, now)?,
            cond: Some(Cond::Eq(A_REV, Value::N(rec.rev))),
        };
        match self.store.write(write).await {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies `change` to key `name` and stores it at `now` (Unix seconds), retrying
    /// on races; `None` when the key does not exist. `change` may refuse with Vault's
    /// error; what it returns is handed back with the stored key.
    pub async fn update<T>(
        &self,
        name: &str,
        now: i64,
        mut change: impl FnMut(&mut KeyPolicy) -> Result<(bool, T)>,
    ) -> Result<Option<(Record, T)>> {
        for attempt in 0..RETRIES {
            let Some(mut rec) = self.read(name).await? else {
                return Ok(None);
            };
            let (changed, out) = change(&mut rec.policy)?;
            if !changed {
                return Ok(Some((rec, out)));
            }
            let kept = &rec.policy.versions;
            rec.sealed.retain(|v, _| kept.contains_key(v));
            if self.replace(&rec, now).await? {
                rec.rev += 1;
                return Ok(Some((rec, out)));
            }
            crate::backoff::pause(attempt).await;
        }
        Err(TransitError::Api(crate::error::ApiError::Unavailable))
    }

    /// Adds a new version to key `name` (rotation); `None` when it does not exist.
    pub async fn rotate(&self, name: &str, now: i64) -> Result<Option<Record>> {
        self.rotate_when(name, now, |p| {
            if p.imported && !p.imported_allow_rotation {
                return Err(TransitError::invalid(format!(
                    "imported key {name} does not allow rotation within Vault"
                )));
            }
            Ok(true)
        })
        .await
    }

    /// Adds a new version to key `name` if `wanted` says so of the key as read (asked
    /// again on each attempt, so a rotation racing another decides on the winner's
    /// key); `None` when the key does not exist or `wanted` declined.
    pub async fn rotate_when(
        &self,
        name: &str,
        now: i64,
        wanted: impl Fn(&KeyPolicy) -> Result<bool>,
    ) -> Result<Option<Record>> {
        for attempt in 0..RETRIES {
            let Some(mut rec) = self.read(name).await? else {
                return Ok(None);
            };
            if !wanted(&rec.policy)? {
                return Ok(None);
            }
            let v = next_version(&rec.policy)?;
            let (meta, sealed, material) = self.new_version(&rec.policy, v, now).await?;
            rec.policy.push_version(meta);
            // A key rotated within Sigil is no longer an imported key (OpenBao's
            // `Rotate`): import_version then refuses it.
            rec.policy.imported = false;
            rec.sealed.insert(v, sealed);
            if self.replace(&rec, now).await? {
                rec.rev += 1;
                self.remember(&rec.policy, v, &rec.sealed[&v], material);
                return Ok(Some(rec));
            }
            crate::backoff::pause(attempt).await;
        }
        Err(TransitError::Api(crate::error::ApiError::Unavailable))
    }

    /// Adds imported material `key` (the stored form:
    /// [`super::import::version_material_key`]) as the next version of key `name`
    /// (`keys/:name/import_version`, OpenBao's `ImportPublicOrPrivate`): a fresh HMAC
    /// key as at import, an `hmac` key's `key_size` becomes the new key's length.
    /// `None` when the key does not exist. The caller checked that the key is
    /// imported and not convergent (fixed at creation). Races with rotations retry.
    pub async fn import_version(
        &self,
        name: &str,
        key: &[u8],
        public: bool,
        now: i64,
    ) -> Result<Option<Record>> {
        for attempt in 0..RETRIES {
            let Some(mut rec) = self.read(name).await? else {
                return Ok(None);
            };
            let v = next_version(&rec.policy)?;
            let (material, bytes) = imported(rec.policy.key_type, key, public)?;
            if rec.policy.key_type == super::key_type::KeyType::Hmac {
                rec.policy.key_size = key.len();
            }
            if self
                .put_version(&mut rec, v, material, &bytes, now, now)
                .await?
            {
                return Ok(Some(rec));
            }
            crate::backoff::pause(attempt).await;
        }
        Err(TransitError::Api(crate::error::ApiError::Unavailable))
    }

    /// Seals `material` (serialized: `bytes`) as version `v` of `rec` (new when past
    /// the latest, else replacing it), created at `created`, and stores `rec` at `now`
    /// if its revision is still the one read (`false` otherwise: nothing written).
    async fn put_version(
        &self,
        rec: &mut Record,
        v: u32,
        material: Material,
        bytes: &[u8],
        created: i64,
        now: i64,
    ) -> Result<bool> {
        let (meta, sealed) = self.seal(&rec.policy, v, &material, bytes, created).await?;
        rec.policy.versions.insert(v, meta);
        rec.policy.latest_version = rec.policy.latest_version.max(v);
        rec.sealed.insert(v, sealed);
        if !self.replace(rec, now).await? {
            return Ok(false);
        }
        rec.rev += 1;
        self.remember(&rec.policy, v, &rec.sealed[&v], Arc::new(material));
        Ok(true)
    }

    /// Stores a restored key (`restore`, OpenBao's `RestorePolicy`): every version
    /// of `r` sealed under the keyring as at creation, `restore_info` set to
    /// (`now` as RFC 3339, the latest version). Without `force` only if no key of that name
    /// exists (`Ok(false)` then, nothing written); with `force` it replaces the
    /// stored key whatever it holds (conditional on the revision read, retried).
    pub async fn restore(
        &self,
        mut r: super::backup::Restored,
        force: bool,
        now: i64,
    ) -> Result<bool> {
        let time = crate::clock::rfc3339(now);
        r.policy.restore_info = Some(super::policy::Stamp {
            time,
            version: r.policy.latest_version,
        });
        let mut sealed = BTreeMap::new();
        let mut opened = Vec::new();
        for (&v, version) in &r.versions {
            let (material, bytes) =
                Material::restore(r.policy.key_type, version.hmac_key.clone(), &version.key)?;
            let (meta, s) = self
                .seal(&r.policy, v, &material, &bytes, version.created)
                .await?;
            r.policy.versions.insert(v, meta);
            sealed.insert(v, s);
            opened.push((v, Arc::new(material)));
        }
        let mut rec = Record {
            policy: r.policy,
            sealed,
            rev: 1,
        };
        for attempt in 0..RETRIES {
            let existing = if force {
                self.read(&rec.policy.name).await?
            } else {
                None
            };
            let cond = match &existing {
                Some(old) => Cond::Eq(A_REV, Value::N(old.rev)),
                None => Cond::NotExists,
            };
            rec.rev = existing.as_ref().map_or(1, |old| old.rev + 1);
            let write = Write::Put {
                item: rec.to_item(self.storage, now)?,
                cond: Some(cond),
            };
            match self.store.write(write).await {
                Ok(()) => {
                    for (v, m) in opened {
                        self.remember(&rec.policy, v, &rec.sealed[&v], m);
                    }
                    return Ok(true);
                }
                Err(StoreError::ConditionFailed) if !force => return Ok(false),
                Err(StoreError::ConditionFailed) => crate::backoff::pause(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(TransitError::Api(crate::error::ApiError::Unavailable))
    }

    /// Completes public-key-only version `v` of key `name` with private key `key` (the
    /// stored form), keeping the version's HMAC key and creation time (OpenBao's
    /// `ImportPrivateKeyForVersion`). `Ok(None)` when the key or version is gone,
    /// `Ok(Some(false))` when `key` is not the version's pair (`cannot import key, key
    /// pair does not match`): nothing written then.
    pub async fn complete_version(
        &self,
        name: &str,
        v: u32,
        key: &[u8],
        now: i64,
    ) -> Result<Option<bool>> {
        for attempt in 0..RETRIES {
            let Some(mut rec) = self.read(name).await? else {
                return Ok(None);
            };
            let Some(created) = rec.policy.versions.get(&v).map(|m| m.created) else {
                return Ok(None);
            };
            let loaded = self.open(&rec, &[v]).await?;
            let old = loaded.material(v)?;
            if !old.is_public_only() || !super::import::completes(rec.policy.key_type, key, old)? {
                return Ok(Some(false));
            }
            let hmac = zeroize::Zeroizing::new(old.hmac_key().to_vec());
            let (material, bytes) = Material::restore(rec.policy.key_type, hmac, key)?;
            if self
                .put_version(&mut rec, v, material, &bytes, created, now)
                .await?
            {
                return Ok(Some(true));
            }
            crate::backoff::pause(attempt).await;
        }
        Err(TransitError::Api(crate::error::ApiError::Unavailable))
    }

    /// Deletes `rec` if it is unchanged since read (so a concurrent config change that
    /// disallows deletion wins).
    pub async fn delete(&self, rec: &Record) -> Result<()> {
        let write = Write::Delete {
            key: key(self.storage, &rec.policy.name),
            cond: Some(Cond::Eq(A_REV, Value::N(rec.rev))),
        };
        match self.store.write(write).await {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed) => {
                Err(TransitError::Api(crate::error::ApiError::Unavailable))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Opens the material of `versions` of `rec` (from the cache when this process
    /// opened them before: no KMS call, no read).
    pub async fn open(&self, rec: &Record, versions: &[u32]) -> Result<Loaded> {
        let mut materials = BTreeMap::new();
        for &v in versions {
            if materials.contains_key(&v) {
                continue;
            }
            let sealed = rec
                .sealed
                .get(&v)
                .ok_or(TransitError::Internal("stored key version missing"))?;
            let vs = v.to_string();
            let aad = self.aad(&rec.policy.name, &vs, &rec.policy);
            let cache_key = (
                aad.join("\0").into_bytes(),
                sealed.key_version,
                sealed.ciphertext.clone(),
            );
            let m = match self.cache.get(&cache_key) {
                Some(m) => m,
                None => {
                    let plain = self.keyring.open(&aad, sealed).await?;
                    let m = Arc::new(Material::from_bytes(rec.policy.key_type, plain.expose())?);
                    self.cache.put(cache_key, m.clone());
                    m
                }
            };
            materials.insert(v, m);
        }
        Ok(Loaded {
            policy: rec.policy.clone(),
            materials,
        })
    }
}

/// Material of an imported `key`: private (the stored form) or, with `public`, a
/// public key's SPKI DER.
fn imported(
    kt: super::key_type::KeyType,
    key: &[u8],
    public: bool,
) -> Result<(Material, zeroize::Zeroizing<Vec<u8>>)> {
    if public {
        Material::import_public(kt, key)
    } else {
        Material::import(kt, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::FakeKms;
    use crate::store::memory::MemoryStore;

    async fn setup() -> (Arc<MemoryStore>, Arc<FakeKms>, Arc<Keyring>) {
        let store = Arc::new(MemoryStore::new());
        let kms = Arc::new(FakeKms::new());
        let ring = Arc::new(Keyring::new(store.clone(), kms.clone(), "t"));
        ring.add_version("k", 0).await.unwrap();
        (store, kms, ring)
    }

    fn keys<'a>(store: &'a MemoryStore, ring: &'a Keyring, cache: &'a KeyCache) -> Keys<'a> {
        Keys {
            store,
            keyring: ring,
            cache,
            storage: "m",
        }
    }

    fn opts() -> CreateOptions {
        CreateOptions::check("aes256-gcm96", false, false, false, false, 0, 0).unwrap()
    }

    #[tokio::test]
    async fn material_is_sealed_at_rest_and_opened_once() {
        let (store, kms, ring) = setup().await;
        let cache = KeyCache::new();
        let keys = keys(&store, &ring, &cache);
        let (rec, created) = keys.create("a", &opts(), 10).await.unwrap();
        assert!(created);
        let (_, again) = keys.create("a", &opts(), 11).await.unwrap();
        assert!(!again, "upsert keeps the first");
        // A fresh process: one KMS call for the keyring, then none.
        let ring2 = Keyring::new(store.clone(), kms.clone(), "t");
        let cache2 = KeyCache::new();
        let keys2 = Keys {
            keyring: &ring2,
            cache: &cache2,
            ..keys
        };
        let before = kms.calls();
        let rec2 = keys2.read("a").await.unwrap().unwrap();
        let l = keys2.open(&rec2, &[1]).await.unwrap();
        assert_eq!(kms.calls(), before + 1);
        for _ in 0..5 {
            let r = keys2.read("a").await.unwrap().unwrap();
            keys2.open(&r, &[1]).await.unwrap();
        }
        assert_eq!(kms.calls(), before + 1, "warm: no KMS call");
        assert_eq!(cache2.len(), 1);
        let raw = l.material(1).unwrap().aead_raw().unwrap().to_vec();
        let item = store.get(&key("m", "a")).await.unwrap().unwrap();
        let dump = format!("{:?}", item.get(A_SEALED).map(|v| v.to_json()));
        assert!(!dump.contains(&hex::encode(&raw)));
        assert_eq!(rec.policy.latest_version, 1);
    }

    #[tokio::test]
    async fn material_moved_between_keys_does_not_open() {
        let (store, _, ring) = setup().await;
        let cache = KeyCache::new();
        let keys = keys(&store, &ring, &cache);
        let (a, _) = keys.create("a", &opts(), 0).await.unwrap();
        let (mut b, _) = keys.create("b", &opts(), 0).await.unwrap();
        b.sealed = a.sealed.clone();
        let fresh = KeyCache::new();
        let keys = Keys {
            cache: &fresh,
            ..keys
        };
        assert!(keys.open(&b, &[1]).await.is_err());
    }

    #[tokio::test]
    async fn rotation_and_updates_keep_versions_and_revisions() {
        let (store, _, ring) = setup().await;
        let cache = KeyCache::new();
        let keys = keys(&store, &ring, &cache);
        keys.create("a", &opts(), 0).await.unwrap();
        let r = keys.rotate("a", 5).await.unwrap().unwrap();
        assert_eq!(r.policy.latest_version, 2);
        assert!(keys.rotate("none", 5).await.unwrap().is_none());
        let (r, _) = keys
            .update("a", 6, |p| {
                p.deletion_allowed = true;
                Ok((true, ()))
            })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.rev, 3);
        let stale = Record {
            rev: 1,
            ..r.clone()
        };
        assert!(keys.delete(&stale).await.is_err(), "stale revision");
        keys.delete(&r).await.unwrap();
        assert!(keys.read("a").await.unwrap().is_none());
    }
}
