//! RSA encryption as OpenBao's transit does it: RSA-OAEP with SHA-256 (and MGF1
//! SHA-256), no label (`rsa.EncryptOAEP(sha256.New(), ..., nil)`).

use aws_lc_rs::rsa::{
    OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PublicEncryptingKey,
};
use zeroize::Zeroizing;

use super::error::{Result, TransitError};
use super::material::Material;

/// Encrypts `plaintext` to version material `m` of an RSA type (a public-key-only
/// version too).
pub fn encrypt(m: &Material, plaintext: &[u8]) -> Result<Vec<u8>> {
    let public = match m.rsa() {
        Some((_, private)) => private.public_key(),
        None => m
            .verifying_key()
            .and_then(|spki| PublicEncryptingKey::from_der(&spki).ok())
            .ok_or(TransitError::Internal("not an rsa key"))?,
    };
    let key = OaepPublicEncryptingKey::new(public)
        .map_err(|_| TransitError::Internal("rsa public key rejected"))?;
    if plaintext.len() > key.max_plaintext_size(&OAEP_SHA256_MGF1SHA256) {
        return Err(TransitError::invalid(
            "failed to RSA encrypt the plaintext: crypto/rsa: message too long for RSA key size",
        ));
    }
    let mut out = vec![0u8; key.ciphertext_size()];
    let n = key
        .encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, None)
        .map_err(|_| TransitError::Internal("rsa encryption failed"))?
        .len();
    out.truncate(n);
    Ok(out)
}

/// Decrypts an RSA-OAEP ciphertext with version material `m` (refused for a
/// public-key-only version: Sigil's text, OpenBao has none).
pub fn decrypt(m: &Material, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    if m.is_public_only() {
        return Err(TransitError::invalid(
            "requested version for decryption does not contain a private part",
        ));
    }
    let (_, private) = m.rsa().ok_or(TransitError::Internal("not an rsa key"))?;
    let key = OaepPrivateDecryptingKey::new(private.clone())
        .map_err(|_| TransitError::Internal("rsa private key rejected"))?;
    let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
    let n = key
        .decrypt(&OAEP_SHA256_MGF1SHA256, ciphertext, &mut out, None)
        .map_err(|_| {
            TransitError::invalid(
                "failed to RSA decrypt the ciphertext: crypto/rsa: decryption error",
            )
        })?
        .len();
    out.truncate(n);
    Ok(out)
}
