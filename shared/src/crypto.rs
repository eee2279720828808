//! Crypto primitives Sigil uses, all from aws-lc-rs: randomness, SHA-256, AES-256-GCM.
//!
//! Nothing here is invented: this module only names the few calls the rest of the crate
//! makes, so that they are made the same way everywhere.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

/// Errors of the crypto layer; messages name the failure, never key or data bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The system random generator failed.
    #[error("random generator failed")]
    Random,
    /// A key had the wrong length (AES-256 needs 32 bytes).
    #[error("invalid key length")]
    KeyLength,
    /// Sealing failed.
    #[error("encryption failed")]
    Seal,
    /// The ciphertext did not authenticate: wrong key, wrong associated data (e.g. the
    /// ciphertext was moved to another item), or tampering.
    #[error("ciphertext failed to authenticate")]
    Open,
}

/// `n` random bytes from the system generator.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut buf = vec![0u8; n];
    #[cfg(feature = "sim")]
    if sim_random::fill(&mut buf) {
        return Ok(buf);
    }
    aws_lc_rs::rand::fill(&mut buf).map_err(|_| CryptoError::Random)?;
    Ok(buf)
}

/// The simulator's random bytes (feature `sim`, never in the functions): while a
/// [`sim_random::Seeded`] guard lives, [`random_bytes`] on its thread draws from a
/// generator seeded by the schedule, so tokens, lease IDs and backoff jitter replay
/// with the seed.
#[cfg(feature = "sim")]
pub mod sim_random {
    use std::cell::RefCell;

    thread_local! {
        static RNG: RefCell<Option<fastrand::Rng>> = const { RefCell::new(None) };
    }

    /// Seeded random bytes on this thread until dropped.
    #[must_use = "random bytes are seeded only while the guard lives"]
    pub struct Seeded(());

    /// Seeds this thread's random bytes with `seed`.
    pub fn seeded(seed: u64) -> Seeded {
        RNG.with(|r| *r.borrow_mut() = Some(fastrand::Rng::with_seed(seed)));
        Seeded(())
    }

    impl Drop for Seeded {
        fn drop(&mut self) {
            RNG.with(|r| *r.borrow_mut() = None);
        }
    }

    /// Fills `buf` from the seeded generator; `false` when none is set.
    pub(super) fn fill(buf: &mut [u8]) -> bool {
        RNG.with(|r| match r.borrow_mut().as_mut() {
            Some(rng) => {
                rng.fill(buf);
                true
            }
            None => false,
        })
    }
}

/// `n` random bytes, base64url without padding.
pub fn random_b64(n: usize) -> Result<String, CryptoError> {
    let bytes = Zeroizing::new(random_bytes(n)?);
    Ok(URL_SAFE_NO_PAD.encode(bytes.as_slice()))
}

/// A random UUID (version 4) in its usual text form, as Vault formats role IDs and
/// secret IDs.
pub fn random_uuid() -> Result<String, CryptoError> {
    let mut b = Zeroizing::new(random_bytes(16)?);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = Zeroizing::new(hex::encode(b.as_slice()));
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// SHA-256 of `data`, lowercase hex (64 chars). Used to store tokens and secret IDs:
/// they carry at least 122 random bits, so a plain hash cannot be reversed by search.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// Associated data binding a ciphertext to its place: a fixed tag, each part
/// length-prefixed (so `("a","bc")` and `("ab","c")` differ), then the key version.
pub fn associated_data(parts: &[&str], key_version: u32) -> Vec<u8> {
    let mut aad = b"sigil/v1".to_vec();
    for p in parts {
        aad.extend_from_slice(&(p.len() as u32).to_be_bytes());
        aad.extend_from_slice(p.as_bytes());
    }
    aad.extend_from_slice(&key_version.to_be_bytes());
    aad
}

/// Decrypted bytes: zeroized on drop; `Debug` prints only the length.
#[derive(Clone, PartialEq, Eq)]
pub struct Plaintext(Zeroizing<Vec<u8>>);

impl Plaintext {
    /// Wraps bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plaintext(redacted, {} bytes)", self.0.len())
    }
}

/// An AES-256-GCM key with random nonces. `Debug` prints `redacted`.
pub struct SealingKey(RandomizedNonceKey);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(redacted)")
    }
}

impl SealingKey {
    /// A key from 32 bytes.
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != 32 {
            return Err(CryptoError::KeyLength);
        }
        RandomizedNonceKey::new(&AES_256_GCM, key)
            .map(Self)
            .map_err(|_| CryptoError::KeyLength)
    }

    /// Seals `plaintext` with `aad`: returns `nonce (12 bytes) || ciphertext || tag (16 bytes)`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut buf = plaintext.to_vec();
        let nonce = self
            .0
            .seal_in_place_append_tag(Aad::from(aad), &mut buf)
            .map_err(|_| CryptoError::Seal)?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Opens what [`SealingKey::seal`] produced with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Plaintext, CryptoError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Open);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Open)?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let len = self
            .0
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| CryptoError::Open)?
            .len();
        buf.truncate(len);
        Ok(Plaintext(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binding() {
        let key = SealingKey::new(&[7u8; 32]).unwrap();
        let aad = associated_data(&["kv", "secret", "app/db", "1"], 1);
        let sealed = key.seal(&aad, b"hunter2").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(key.open(&aad, &sealed).unwrap().expose(), b"hunter2");
        let other = associated_data(&["kv", "secret", "app/other", "1"], 1);
        assert_eq!(key.open(&other, &sealed), Err(CryptoError::Open));
        let other_version = associated_data(&["kv", "secret", "app/db", "1"], 2);
        assert_eq!(key.open(&other_version, &sealed), Err(CryptoError::Open));
        assert_eq!(key.open(&aad, &sealed[..10]), Err(CryptoError::Open));
    }

    #[test]
    fn associated_data_is_unambiguous() {
        assert_ne!(
            associated_data(&["a", "bc"], 1),
            associated_data(&["ab", "c"], 1)
        );
    }

    #[test]
    fn uuid_shape() {
        let u = random_uuid().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn debug_is_redacted() {
        let key = SealingKey::new(&[7u8; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "SealingKey(redacted)");
        let p = Plaintext::new(b"hunter2".to_vec());
        assert_eq!(format!("{p:?}"), "Plaintext(redacted, 7 bytes)");
    }
}
