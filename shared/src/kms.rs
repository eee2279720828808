//! The KMS port: wrap and unwrap data keys under a KMS key, with an encryption context.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use zeroize::Zeroizing;

use crate::crypto::{self, SealingKey};

/// KMS encryption context: key-value pairs authenticated with the wrapped key; the same
/// pairs must be given to unwrap it (and key policies can require them).
pub type EncryptionContext = BTreeMap<String, String>;

/// A plaintext data key (32 bytes). Zeroized on drop; `Debug` prints `redacted`.
pub struct DataKey(Zeroizing<Vec<u8>>);

impl DataKey {
    /// Wraps key bytes.
    pub fn new(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }

    /// The key bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(redacted)")
    }
}

/// A data key just generated.
#[derive(Debug)]
pub struct GeneratedKey {
    /// The plaintext key.
    pub plaintext: DataKey,
    /// The key wrapped by KMS.
    pub wrapped: Vec<u8>,
    /// The ARN of the KMS key that wrapped it (KMS resolves aliases).
    pub key_arn: String,
}

/// KMS failures; messages never carry key material.
#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    /// KMS refused: wrong key, wrong encryption context, or no permission.
    #[error("KMS refused the request: {0}")]
    Refused(String),
    /// KMS could not be reached or failed.
    #[error("KMS unavailable: {0}")]
    Unavailable(String),
}

/// The KMS port.
#[async_trait]
pub trait Kms: Send + Sync {
    /// A new 256-bit data key wrapped under `key_id` (an ID, ARN or alias) with
    /// `context`.
    async fn generate_data_key(
        &self,
        key_id: &str,
        context: &EncryptionContext,
    ) -> Result<GeneratedKey, KmsError>;

    /// Unwraps a data key wrapped by [`Kms::generate_data_key`], pinned to the key that
    /// wrapped it (`key_arn`, as returned then) and with the same `context`.
    async fn decrypt(
        &self,
        key_arn: &str,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError>;
}

/// An in-memory KMS for tests and benchmarks: one random root key, the context bound
/// as associated data, calls counted.
pub struct FakeKms {
    root: SealingKey,
    calls: AtomicU64,
}

impl FakeKms {
    /// A fake with a fresh random root key.
    pub fn new() -> Self {
        let key = Zeroizing::new(crypto::random_bytes(32).unwrap_or_else(|_| vec![1u8; 32]));
        Self {
            root: SealingKey::new(&key).unwrap_or_else(|_| unreachable_key()),
            calls: AtomicU64::new(0),
        }
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

fn unreachable_key() -> SealingKey {
    // 32 bytes always make a valid AES-256 key.
    match SealingKey::new(&[0u8; 32]) {
        Ok(k) => k,
        Err(_) => panic!("AES-256 rejected a 32-byte key"),
    }
}

impl Default for FakeKms {
    fn default() -> Self {
        Self::new()
    }
}

fn context_aad(key_id: &str, context: &EncryptionContext) -> Vec<u8> {
    let mut parts = vec![key_id];
    for (k, v) in context {
        parts.push(k);
        parts.push(v);
    }
    crypto::associated_data(&parts, 0)
}

#[async_trait]
impl Kms for FakeKms {
    async fn generate_data_key(
        &self,
        key_id: &str,
        context: &EncryptionContext,
    ) -> Result<GeneratedKey, KmsError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let key = Zeroizing::new(
            crypto::random_bytes(32).map_err(|e| KmsError::Unavailable(e.to_string()))?,
        );
        let mut wrapped = key_id.as_bytes().to_vec();
        wrapped.push(0);
        wrapped.extend(
            self.root
                .seal(&context_aad(key_id, context), &key)
                .map_err(|e| KmsError::Unavailable(e.to_string()))?,
        );
        Ok(GeneratedKey {
            plaintext: DataKey(key),
            wrapped,
            key_arn: format!("arn:aws:kms:fake:000000000000:key/{key_id}"),
        })
    }

    async fn decrypt(
        &self,
        key_arn: &str,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<DataKey, KmsError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let split = wrapped
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| KmsError::Refused("InvalidCiphertextException".into()))?;
        let key_id = std::str::from_utf8(&wrapped[..split])
            .map_err(|_| KmsError::Refused("InvalidCiphertextException".into()))?;
        if !key_arn.ends_with(&format!("key/{key_id}")) {
            return Err(KmsError::Refused("IncorrectKeyException".into()));
        }
        self.root
            .open(&context_aad(key_id, context), &wrapped[split + 1..])
            .map(|p| DataKey(Zeroizing::new(p.expose().to_vec())))
            .map_err(|_| KmsError::Refused("InvalidCiphertextException".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn data_keys_debug_redacted_and_context_bound() {
        let kms = FakeKms::new();
        let ctx = EncryptionContext::from([("a".to_owned(), "1".to_owned())]);
        let g = kms.generate_data_key("k", &ctx).await.unwrap();
        let shown = format!("{g:?}");
        assert!(shown.contains("DataKey(redacted)"), "{shown}");
        assert!(!shown.contains(&format!("{:?}", g.plaintext.expose())));
        let back = kms.decrypt(&g.key_arn, &g.wrapped, &ctx).await.unwrap();
        assert_eq!(back.expose(), g.plaintext.expose());
        let other = EncryptionContext::from([("a".to_owned(), "2".to_owned())]);
        assert!(kms.decrypt(&g.key_arn, &g.wrapped, &other).await.is_err());
        assert!(
            kms.decrypt("arn:aws:kms:fake:000000000000:key/other", &g.wrapped, &ctx)
                .await
                .is_err()
        );
    }
}
