//! Symmetric encryption as OpenBao's `SymmetricEncryptRaw` / `SymmetricDecryptRaw`:
//! the output is `nonce (12 bytes) || ciphertext || tag (16 bytes)`, so the same key
//! bytes give interchangeable ciphertext with Vault.
//!
//! - Derived keys (`derived=true`): HKDF-SHA256 of the version's key with no salt and
//!   the request's `context` as info (Vault's `Kdf_hkdf_sha256`, the only KDF of keys
//!   created since Vault 0.11).
//! - Convergent keys (convergent version 3, Vault's current): HKDF gives the key and a
//!   32-byte HMAC key; the nonce is the first 12 bytes of HMAC-SHA256(that key,
//!   plaintext), so equal plaintext and context give equal ciphertext.

use aws_lc_rs::aead::{Aad, LessSafeKey, NONCE_LEN, Nonce};
use aws_lc_rs::{hkdf, hmac};
use zeroize::Zeroizing;

use super::error::{Result, TransitError};
use super::key_type::KeyType;
use super::material::{self, Material};

/// Bytes of the HMAC key a convergent key derives besides its encryption key.
const CONVERGENT_HMAC_LEN: usize = 32;

/// OpenBao's text for an operation on a derived key without a context.
pub const MISSING_CONTEXT: &str = "missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key";

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA256 of `ikm` with no salt and `context` as info, `len` bytes (OpenBao's
/// `DeriveKey`: `hkdf.New(sha256.New, key, nil, context)`).
pub fn derive(ikm: &[u8], context: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
    if context.is_empty() {
        return Err(TransitError::invalid(MISSING_CONTEXT));
    }
    let mut out = Zeroizing::new(vec![0u8; len]);
    hkdf::Salt::new(hkdf::HKDF_SHA256, &[])
        .extract(ikm)
        .expand(&[context], Len(len))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| TransitError::Internal("key derivation failed"))?;
    Ok(out)
}

/// How a key encrypts: from its policy.
#[derive(Clone, Copy, Debug)]
pub struct Mode {
    /// Keys are derived per context.
    pub derived: bool,
    /// Nonces are derived from the plaintext (convergent encryption).
    pub convergent: bool,
}

fn raw(m: &Material) -> Result<&[u8]> {
    m.aead_raw()
        .ok_or(TransitError::Internal("not an aead key"))
}

fn random_nonce() -> Result<[u8; NONCE_LEN]> {
    let mut n = [0u8; NONCE_LEN];
    let bytes = crate::crypto::random_bytes(NONCE_LEN)
        .map_err(|_| TransitError::Internal("random generator failed"))?;
    n.copy_from_slice(&bytes);
    Ok(n)
}

fn seal_with(
    key: &LessSafeKey,
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| TransitError::Internal("encryption failed"))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Encrypts `plaintext` with `aad` under version material `m` of an AEAD type:
/// `nonce || ciphertext || tag`.
pub fn encrypt(
    m: &Material,
    mode: Mode,
    context: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let kt = m.key_type();
    if !mode.derived {
        let key = m
            .aead_key()
            .ok_or(TransitError::Internal("not an aead key"))?;
        return seal_with(key, random_nonce()?, aad, plaintext);
    }
    let enc_len = kt.aead_key_len();
    if mode.convergent {
        let both = derive(raw(m)?, context, enc_len + CONVERGENT_HMAC_LEN)?;
        let (enc, mac) = both.split_at(enc_len);
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, mac), plaintext);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&tag.as_ref()[..NONCE_LEN]);
        return seal_with(&material::aead(kt, enc)?, nonce, aad, plaintext);
    }
    let enc = derive(raw(m)?, context, enc_len)?;
    seal_with(&material::aead(kt, &enc)?, random_nonce()?, aad, plaintext)
}

/// Decrypts what [`encrypt`] (or Vault) produced, with Go's error texts.
pub fn decrypt(
    m: &Material,
    mode: Mode,
    context: &[u8],
    aad: &[u8],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let kt = m.key_type();
    let derived;
    let key = if mode.derived {
        derived = material::aead(kt, &derive(raw(m)?, context, kt.aead_key_len())?)?;
        &derived
    } else {
        m.aead_key()
            .ok_or(TransitError::Internal("not an aead key"))?
    };
    if data.len() < NONCE_LEN {
        return Err(TransitError::invalid("invalid ciphertext length"));
    }
    let (nonce, ct) = data.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce)
        .map_err(|_| TransitError::invalid("invalid ciphertext length"))?;
    let mut buf = Zeroizing::new(ct.to_vec());
    let len = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| {
            TransitError::invalid(if kt == KeyType::ChaCha20Poly1305 {
                "chacha20poly1305: message authentication failed"
            } else {
                "cipher: message authentication failed"
            })
        })?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5869 test case 3 (no salt, no info) checks the empty-salt convention Go's
    /// `hkdf.New(..., nil, ...)` uses; info here is non-empty, as Sigil requires.
    #[test]
    fn hkdf_without_salt_is_rfc5869() {
        let ikm = [0x0bu8; 22];
        let mut out = [0u8; 42];
        hkdf::Salt::new(hkdf::HKDF_SHA256, &[])
            .extract(&ikm)
            .expand(&[&[]], Len(42))
            .unwrap()
            .fill(&mut out)
            .unwrap();
        assert_eq!(
            hex::encode(out),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
        );
        assert!(derive(&ikm, b"", 32).is_err(), "context required");
        assert_eq!(
            derive(&ikm, b"c", 64).unwrap()[..32],
            derive(&ikm, b"c", 32).unwrap()[..]
        );
    }
}
