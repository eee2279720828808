//! Batch tokens (Vault's `token_type=batch`): the token is its own sealed record, so a
//! login that issues one writes nothing and a request that presents one needs no read
//! to authenticate it (an orphan's; a child's reads its ancestors, as a service
//! token's).
//!
//! Format: `sglb.` followed by unpadded base64url of `nonce (12 bytes) || ciphertext ||
//! tag (16 bytes)`: AES-256-GCM under the keyring's batch-token key
//! ([`crate::keyring::Keyring::batch_token_key`]) of a compact JSON record
//! ([`Record`]), with associated data binding the token type (`batch`) and the format
//! version ([`FORMAT_VERSION`]), so no other sealed value of Sigil's opens as a token.
//! A token that is not exactly this (wrong prefix, bad base64, tampered, truncated,
//! from another deployment, expired, over [`MAX_LEN`] bytes) is refused with the same
//! 403 as an unknown service token.
//!
//! Vault's rules (`token_store.go`): not renewable, no accessor, never root, no use
//! limit or period; cannot be revoked (400 `batch tokens cannot be revoked`) and cannot
//! create tokens (400 `batch tokens cannot create more tokens`); a child of a service
//! token lives only while its parent does; leases it asks for end by its expiry.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::crypto::{self, SealingKey};
use crate::error::ApiError;

/// The prefix of every batch token.
pub const PREFIX: &str = "sglb.";
/// The record format, bound in the associated data.
pub const FORMAT_VERSION: u32 = 1;
/// Longest batch token accepted, bytes: 8 KiB (about 40 policies and a metadata map;
/// the record grows with both). Longer ones are refused before any work.
pub const MAX_LEN: usize = 8192;

/// What a batch token carries (short field names keep the token short). Times in Unix
/// seconds, TTL in seconds. [`crate::token`] turns it into a token entry and back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Policies, sorted.
    #[serde(rename = "p")]
    pub policies: Vec<String>,
    /// Issued at.
    #[serde(rename = "i")]
    pub issued_at: i64,
    /// Expires at.
    #[serde(rename = "e")]
    pub expire_at: i64,
    /// TTL at creation.
    #[serde(rename = "t")]
    pub creation_ttl: i64,
    /// Display name.
    #[serde(rename = "n")]
    pub display_name: String,
    /// Metadata.
    #[serde(rename = "m", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
    /// Creating path.
    #[serde(rename = "c")]
    pub path: String,
    /// Ancestors' hashes, parent first (empty: an orphan).
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<String>,
    /// Token role (empty: none).
    #[serde(rename = "r", default, skip_serializing_if = "String::is_empty")]
    pub role: String,
    /// The issuing auth mount's accessor.
    #[serde(rename = "u")]
    pub mount_accessor: String,
    /// The identity entity the token acts for (empty: none).
    #[serde(rename = "d", default, skip_serializing_if = "String::is_empty")]
    pub entity_id: String,
}

fn aad() -> Vec<u8> {
    crypto::associated_data(&["token", "batch"], FORMAT_VERSION)
}

/// Whether `token` claims to be a batch token (its prefix; nothing is checked).
pub fn is_batch(token: &SecretString) -> bool {
    token.expose_secret().starts_with(PREFIX)
}

/// Seals `record` into a batch token. 400 when the token would exceed [`MAX_LEN`].
pub fn seal(key: &SealingKey, record: &Record) -> Result<SecretString, ApiError> {
    let json = zeroize::Zeroizing::new(serde_json::to_vec(record).map_err(|_| ApiError::Internal)?);
    let sealed = key.seal(&aad(), &json).map_err(|_| ApiError::Internal)?;
    let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed));
    if token.len() > MAX_LEN {
        return Err(ApiError::bad(format!(
            "batch token would exceed {MAX_LEN} bytes: fewer policies or less metadata"
        )));
    }
    Ok(SecretString::from(token))
}

/// The record a batch token carries if it opens under `key` and has not expired at
/// `now`; `None` otherwise (the caller answers as for an unknown token).
pub fn open(key: &SealingKey, token: &SecretString, now: i64) -> Option<Record> {
    let t = token.expose_secret();
    if t.len() > MAX_LEN {
        return None;
    }
    let body = t.strip_prefix(PREFIX)?;
    let sealed = URL_SAFE_NO_PAD.decode(body).ok()?;
    let plain = key.open(&aad(), &sealed).ok()?;
    let r: Record = serde_json::from_slice(plain.expose()).ok()?;
    (r.expire_at > now).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            policies: vec!["default".into(), "reader".into()],
            issued_at: 100,
            expire_at: 200,
            creation_ttl: 100,
            display_name: "approle".into(),
            meta: BTreeMap::from([("role_name".into(), "ci".into())]),
            path: "auth/approle/login".into(),
            ancestors: Vec::new(),
            role: String::new(),
            mount_accessor: "approle_1234abcd".into(),
            entity_id: "e1".into(),
        }
    }

    #[test]
    fn a_sealed_record_opens_until_it_expires() {
        let key = SealingKey::new(&[3u8; 32]).unwrap();
        let token = seal(&key, &record()).unwrap();
        assert!(is_batch(&token));
        assert_eq!(open(&key, &token, 150), Some(record()));
        assert!(open(&key, &token, 200).is_none(), "expired at its expiry");
        assert!(
            !token.expose_secret().contains("reader"),
            "the record is encrypted, not just signed"
        );
    }

    #[test]
    fn tampered_truncated_or_foreign_tokens_are_refused() {
        let key = SealingKey::new(&[3u8; 32]).unwrap();
        let t = seal(&key, &record()).unwrap().expose_secret().to_owned();
        let body = &t[PREFIX.len()..];
        let mut flipped: Vec<u8> = body.bytes().collect();
        let mid = flipped.len() / 2;
        flipped[mid] = if flipped[mid] == b'A' { b'B' } else { b'A' };
        let cases = [
            format!("{PREFIX}{}", String::from_utf8(flipped).unwrap()),
            t[..t.len() - 4].to_owned(),
            PREFIX.to_owned(),
            format!("{PREFIX}!!!"),
            format!("sgl.{body}"),
            format!("{t}{}", "A".repeat(MAX_LEN)),
        ];
        for c in &cases {
            assert!(
                open(&key, &SecretString::from(c.clone()), 150).is_none(),
                "{c}"
            );
        }
        let other = SealingKey::new(&[4u8; 32]).unwrap();
        assert!(
            open(&other, &SecretString::from(t.clone()), 150).is_none(),
            "another deployment's key"
        );
        // A value sealed by Sigil for another purpose does not open as a token.
        let kv = key
            .seal(
                &crypto::associated_data(&["kv", "secret", "a", "1"], 1),
                b"{}",
            )
            .unwrap();
        let forged = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(kv));
        assert!(open(&key, &SecretString::from(forged), 150).is_none());
    }
}
