//! The keyring: versioned data-encryption keys (DEKs) stored in the table, each wrapped
//! by KMS with an encryption context naming the table and the key version
//! (DESIGN.md, "Keys and encryption").
//!
//! A process unwraps the active DEK on first use and keeps it: a warm request makes zero
//! KMS calls. Older versions are unwrapped on demand (to open old ciphertexts) and kept
//! too. Rotation adds a version; processes pick it up on their next cold start, and
//! until then keep sealing with the version they hold, which stays valid.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::RwLock;

use crate::audit::AuditKey;
use crate::crypto::{self, CryptoError, SealingKey};
use crate::kms::{EncryptionContext, Kms, KmsError};
use crate::store::{ItemExt, Key, Query, SortCond, Store, StoreError, Value, Write, new_item};

/// Partition holding the keyring.
pub const KEYRING_PK: &str = "sys/keyring";
const DEK_PREFIX: &str = "dek/";
const WRAPPED: &str = "wrapped";
const KMS_KEY_ID: &str = "kms_key_id";
const VERSION: &str = "version";
const CREATED_AT: &str = "created_at";
/// Sort key of the audit device's HMAC key in the keyring's partition.
const AUDIT_SK: &str = "audit-hmac";

/// Keyring failures.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// No data key exists yet: run `sigil admin init`.
    #[error("keyring not initialized (run `sigil admin init`)")]
    Uninitialized,
    /// The ciphertext names a key version the keyring does not hold.
    #[error("unknown key version {0}")]
    UnknownVersion(u32),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// KMS failed.
    #[error(transparent)]
    Kms(#[from] KmsError),
    /// Sealing or opening failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The audit device's HMAC key does not exist yet: run `sigil admin init`.
    #[error("audit key missing (run `sigil admin init`)")]
    NoAuditKey,
}

/// A sealed value: the key version that sealed it and `nonce || ciphertext || tag`.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Key version used.
    pub key_version: u32,
    /// Nonce, ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Sealed(v{}, {} bytes)",
            self.key_version,
            self.ciphertext.len()
        )
    }
}

#[derive(Default)]
struct Loaded {
    active: Option<u32>,
    keys: HashMap<u32, Arc<SealingKey>>,
    audit: Option<Arc<AuditKey>>,
    batch: Option<Arc<SealingKey>>,
}

/// The keyring of one table.
pub struct Keyring {
    store: Arc<dyn Store>,
    kms: Arc<dyn Kms>,
    table: String,
    loaded: RwLock<Loaded>,
}

fn dek_key(version: u32) -> Key {
    Key::new(KEYRING_PK, format!("{DEK_PREFIX}{version:010}"))
}

/// The encryption context of a DEK: `{"sigil:table": table, "sigil:key_version": "N"}`.
pub fn encryption_context(table: &str, version: u32) -> EncryptionContext {
    EncryptionContext::from([
        ("sigil:table".to_owned(), table.to_owned()),
        ("sigil:key_version".to_owned(), version.to_string()),
    ])
}

/// The encryption context of the audit HMAC key:
/// `{"sigil:table": table, "sigil:purpose": "audit-hmac"}`.
pub fn audit_context(table: &str) -> EncryptionContext {
    EncryptionContext::from([
        ("sigil:table".to_owned(), table.to_owned()),
        ("sigil:purpose".to_owned(), AUDIT_SK.to_owned()),
    ])
}

impl Keyring {
    /// A keyring over `store`, unwrapping through `kms`; `table` names the table in the
    /// encryption context.
    pub fn new(store: Arc<dyn Store>, kms: Arc<dyn Kms>, table: impl Into<String>) -> Self {
        Self {
            store,
            kms,
            table: table.into(),
            loaded: RwLock::new(Loaded::default()),
        }
    }

    /// The newest stored version, if any (one query).
    pub async fn newest_version(&self) -> Result<Option<u32>, KeyringError> {
        match self.newest_item().await? {
            Some(item) => Ok(Some(version_of(&item)?)),
            None => Ok(None),
        }
    }

    /// The newest data key item, if any (one query).
    async fn newest_item(&self) -> Result<Option<crate::store::Item>, KeyringError> {
        let mut q = Query::partition(KEYRING_PK);
        q.sort = SortCond::Prefix(DEK_PREFIX.to_owned());
        q.forward = false;
        q.limit = Some(1);
        Ok(self.store.query(&q).await?.items.into_iter().next())
    }

    /// A keyring item holding a key KMS just generated: its wrapped bytes, the KMS key
    /// ARN that wrapped it, and the creation time.
    fn wrapped_item(
        key: &Key,
        generated: &crate::kms::GeneratedKey,
        now: i64,
    ) -> crate::store::Item {
        let mut item = new_item(key);
        item.insert(WRAPPED.into(), Value::B(generated.wrapped.clone()));
        item.insert(KMS_KEY_ID.into(), Value::S(generated.key_arn.clone()));
        item.insert(CREATED_AT.into(), Value::N(now));
        item
    }

    /// Unwraps a keyring item's key through KMS with `context`.
    async fn unwrap(
        &self,
        item: &crate::store::Item,
        context: &EncryptionContext,
    ) -> Result<crate::kms::DataKey, KeyringError> {
        Ok(self
            .kms
            .decrypt(item.s(KMS_KEY_ID)?, item.b(WRAPPED)?, context)
            .await?)
    }

    /// Adds a new data key version (the first one when the keyring is empty), wrapped
    /// under `kms_key_id`, and returns its version. Written with a not-exists condition,
    /// so two concurrent rotations cannot overwrite each other.
    pub async fn add_version(&self, kms_key_id: &str, now: i64) -> Result<u32, KeyringError> {
        let version = self.newest_version().await?.unwrap_or(0) + 1;
        let ctx = encryption_context(&self.table, version);
        let generated = self.kms.generate_data_key(kms_key_id, &ctx).await?;
        let mut item = Self::wrapped_item(&dek_key(version), &generated, now);
        item.insert(VERSION.into(), Value::N(i64::from(version)));
        self.store
            .write(Write::Put {
                item,
                cond: Some(crate::store::Cond::NotExists),
            })
            .await?;
        let key = Arc::new(SealingKey::new(generated.plaintext.expose())?);
        let mut loaded = self.loaded.write().await;
        loaded.keys.insert(version, key);
        loaded.active = Some(version);
        Ok(version)
    }

    /// The active key, loading it on first use (one query and one KMS call per process).
    async fn active(&self) -> Result<(u32, Arc<SealingKey>), KeyringError> {
        {
            let loaded = self.loaded.read().await;
            if let Some(v) = loaded.active
                && let Some(k) = loaded.keys.get(&v)
            {
                return Ok((v, k.clone()));
            }
        }
        let item = self
            .newest_item()
            .await?
            .ok_or(KeyringError::Uninitialized)?;
        let version = version_of(&item)?;
        let key = self.unwrap_item(&item, version).await?;
        let mut loaded = self.loaded.write().await;
        loaded.keys.insert(version, key.clone());
        loaded.active = Some(version);
        Ok((version, key))
    }

    async fn version(&self, version: u32) -> Result<Arc<SealingKey>, KeyringError> {
        if let Some(k) = self.loaded.read().await.keys.get(&version) {
            return Ok(k.clone());
        }
        let item = self
            .store
            .get(&dek_key(version))
            .await?
            .ok_or(KeyringError::UnknownVersion(version))?;
        let key = self.unwrap_item(&item, version).await?;
        self.loaded.write().await.keys.insert(version, key.clone());
        Ok(key)
    }

    async fn unwrap_item(
        &self,
        item: &crate::store::Item,
        version: u32,
    ) -> Result<Arc<SealingKey>, KeyringError> {
        let plain = self
            .unwrap(item, &encryption_context(&self.table, version))
            .await?;
        Ok(Arc::new(SealingKey::new(plain.expose())?))
    }

    /// Creates the audit device's HMAC key (32 random bytes from KMS `GenerateDataKey`,
    /// stored wrapped under `kms_key_id` with [`audit_context`]) unless it exists.
    /// Returns whether it was created. Idempotent and safe under concurrent calls
    /// (not-exists condition); `sigil admin init` calls it.
    pub async fn ensure_audit_key(&self, kms_key_id: &str, now: i64) -> Result<bool, KeyringError> {
        let key = Key::new(KEYRING_PK, AUDIT_SK);
        if self.store.get(&key).await?.is_some() {
            return Ok(false);
        }
        let generated = self
            .kms
            .generate_data_key(kms_key_id, &audit_context(&self.table))
            .await?;
        let item = Self::wrapped_item(&key, &generated, now);
        match self
            .store
            .write(Write::Put {
                item,
                cond: Some(crate::store::Cond::NotExists),
            })
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The audit device's HMAC key, unwrapped on first use (one `GetItem` and one KMS
    /// call per process) and kept. [`KeyringError::NoAuditKey`] before `sigil admin init`.
    pub async fn audit_key(&self) -> Result<Arc<AuditKey>, KeyringError> {
        if let Some(k) = &self.loaded.read().await.audit {
            return Ok(k.clone());
        }
        let item = self
            .store
            .get(&Key::new(KEYRING_PK, AUDIT_SK))
            .await?
            .ok_or(KeyringError::NoAuditKey)?;
        let plain = self.unwrap(&item, &audit_context(&self.table)).await?;
        let key = Arc::new(AuditKey::new(plain.expose()));
        let batch = Arc::new(batch_token_key(plain.expose())?);
        let mut loaded = self.loaded.write().await;
        loaded.audit = Some(key.clone());
        loaded.batch = Some(batch);
        Ok(key)
    }

    /// The key batch tokens are sealed with ([`crate::batch_token`]): derived from the
    /// audit key with HKDF-SHA256 (its own salt and info, so neither key reveals the
    /// other), so every function that can audit can check a batch token with no
    /// further KMS call or read. Loaded with the audit key ([`Keyring::audit_key`]).
    pub async fn batch_token_key(&self) -> Result<Arc<SealingKey>, KeyringError> {
        if let Some(k) = &self.loaded.read().await.batch {
            return Ok(k.clone());
        }
        self.audit_key().await?;
        self.loaded
            .read()
            .await
            .batch
            .clone()
            .ok_or(KeyringError::NoAuditKey)
    }

    /// Seals `plaintext` with the active key; `aad_parts` name the ciphertext's place
    /// (e.g. `["kv", mount, path, version]`) and are bound with the key version.
    pub async fn seal(&self, aad_parts: &[&str], plaintext: &[u8]) -> Result<Sealed, KeyringError> {
        let (version, key) = self.active().await?;
        let aad = crypto::associated_data(aad_parts, version);
        Ok(Sealed {
            key_version: version,
            ciphertext: key.seal(&aad, plaintext)?,
        })
    }

    /// Opens a sealed value with the key version it names; fails with
    /// [`CryptoError::Open`] when `aad_parts` differ from those it was sealed with.
    pub async fn open(
        &self,
        aad_parts: &[&str],
        sealed: &Sealed,
    ) -> Result<crypto::Plaintext, KeyringError> {
        let key = self.version(sealed.key_version).await?;
        let aad = crypto::associated_data(aad_parts, sealed.key_version);
        Ok(key.open(&aad, &sealed.ciphertext)?)
    }
}

/// HKDF-SHA256 of the audit key's bytes into the AES-256-GCM key of batch tokens.
fn batch_token_key(audit: &[u8]) -> Result<SealingKey, KeyringError> {
    use aws_lc_rs::hkdf;
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"sigil/batch-token/salt").extract(audit);
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    prk.expand(&[b"sigil/batch-token/aes-256-gcm/v1"], hkdf::HKDF_SHA256)
        .and_then(|okm| okm.fill(&mut out[..]))
        .map_err(|_| KeyringError::Crypto(crypto::CryptoError::KeyLength))?;
    Ok(SealingKey::new(&out[..])?)
}

fn version_of(item: &crate::store::Item) -> Result<u32, KeyringError> {
    u32::try_from(item.n(VERSION)?)
        .map_err(|_| KeyringError::Store(StoreError::Malformed("key version out of range".into())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kms::FakeKms;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn warm_seal_and_open_make_no_kms_calls() {
        let store = Arc::new(MemoryStore::new());
        let kms = Arc::new(FakeKms::new());
        Keyring::new(store.clone(), kms.clone(), "t")
            .add_version("alias/k", 0)
            .await
            .unwrap();
        let ring = Keyring::new(store.clone(), kms.clone(), "t");
        let before = kms.calls();
        let sealed = ring.seal(&["kv", "a"], b"x").await.unwrap();
        assert_eq!(kms.calls(), before + 1, "cold: one unwrap");
        for _ in 0..10 {
            ring.seal(&["kv", "a"], b"x").await.unwrap();
            assert_eq!(
                ring.open(&["kv", "a"], &sealed).await.unwrap().expose(),
                b"x"
            );
        }
        assert_eq!(kms.calls(), before + 1, "warm: no KMS calls");
    }

    #[tokio::test]
    async fn rotation_keeps_old_versions_readable() {
        let store = Arc::new(MemoryStore::new());
        let kms = Arc::new(FakeKms::new());
        let ring = Keyring::new(store.clone(), kms.clone(), "t");
        assert!(matches!(
            ring.seal(&["a"], b"x").await,
            Err(KeyringError::Uninitialized)
        ));
        assert_eq!(ring.add_version("k", 0).await.unwrap(), 1);
        let old = ring.seal(&["a"], b"old").await.unwrap();
        assert_eq!(ring.add_version("k", 0).await.unwrap(), 2);
        let new = ring.seal(&["a"], b"new").await.unwrap();
        assert_eq!((old.key_version, new.key_version), (1, 2));
        let fresh = Keyring::new(store, kms, "t");
        assert_eq!(fresh.open(&["a"], &old).await.unwrap().expose(), b"old");
        assert_eq!(fresh.open(&["a"], &new).await.unwrap().expose(), b"new");
    }

    #[tokio::test]
    async fn audit_key_is_created_once_and_loaded_once() {
        let store = Arc::new(MemoryStore::new());
        let kms = Arc::new(FakeKms::new());
        let ring = Keyring::new(store.clone(), kms.clone(), "t");
        assert!(matches!(
            ring.audit_key().await,
            Err(KeyringError::NoAuditKey)
        ));
        assert!(ring.ensure_audit_key("k", 0).await.unwrap());
        assert!(!ring.ensure_audit_key("k", 0).await.unwrap(), "idempotent");
        let a = ring.audit_key().await.unwrap().hash("x");
        let calls = kms.calls();
        assert_eq!(
            ring.audit_key().await.unwrap().hash("x"),
            a,
            "warm: same key"
        );
        assert_eq!(kms.calls(), calls, "warm: no KMS call");
        let other = Keyring::new(store, kms, "t");
        assert_eq!(
            other.audit_key().await.unwrap().hash("x"),
            a,
            "stable across processes"
        );
    }

    #[tokio::test]
    async fn wrong_table_context_fails_to_unwrap() {
        let store = Arc::new(MemoryStore::new());
        let kms = Arc::new(FakeKms::new());
        Keyring::new(store.clone(), kms.clone(), "t1")
            .add_version("k", 0)
            .await
            .unwrap();
        let other = Keyring::new(store, kms, "t2");
        assert!(matches!(
            other.seal(&["a"], b"x").await,
            Err(KeyringError::Kms(_))
        ));
    }
}
