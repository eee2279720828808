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
use crate::token::{ROOT_POLICY, TokenEntry};

/// The prefix of every batch token.
pub const PREFIX: &str = "sglb.";
/// The record format, bound in the associated data.
pub const FORMAT_VERSION: u32 = 1;
/// Longest batch token accepted, bytes: 8 KiB (about 40 policies and a metadata map;
/// the record grows with both). Longer ones are refused before any work.
pub const MAX_LEN: usize = 8192;

/// What a batch token carries (short field names keep the token short). Times in Unix
/// seconds, TTL in seconds.
#[derive(Serialize, Deserialize)]
struct Record {
    /// Policies, sorted.
    p: Vec<String>,
    /// Issued at.
    i: i64,
    /// Expires at.
    e: i64,
    /// TTL at creation.
    t: i64,
    /// Display name.
    n: String,
    /// Metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    m: BTreeMap<String, String>,
    /// Creating path.
    c: String,
    /// Ancestors' hashes, parent first (empty: an orphan).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    a: Vec<String>,
    /// Token role (empty: none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    r: String,
}

fn aad() -> Vec<u8> {
    crypto::associated_data(&["token", "batch"], FORMAT_VERSION)
}

/// Whether `token` claims to be a batch token (its prefix; nothing is checked).
pub fn is_batch(token: &SecretString) -> bool {
    token.expose_secret().starts_with(PREFIX)
}

/// Seals `entry` into a batch token. The entry's `hash` is ignored: the token's own
/// SHA-256 is its ID ([`open`] returns it), as a service token's.
pub fn seal(key: &SealingKey, entry: &TokenEntry) -> Result<SecretString, ApiError> {
    let record = Record {
        p: entry.policies.clone(),
        i: entry.issued_at,
        e: entry.expire_at,
        t: entry.creation_ttl,
        n: entry.display_name.clone(),
        m: entry.meta.clone(),
        c: entry.path.clone(),
        a: entry.ancestors.clone(),
        r: entry.role.clone(),
    };
    let json =
        zeroize::Zeroizing::new(serde_json::to_vec(&record).map_err(|_| ApiError::Internal)?);
    let sealed = key.seal(&aad(), &json).map_err(|_| ApiError::Internal)?;
    let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed));
    if token.len() > MAX_LEN {
        return Err(ApiError::bad(format!(
            "batch token would exceed {MAX_LEN} bytes: fewer policies or less metadata"
        )));
    }
    Ok(SecretString::from(token))
}

/// The entry a batch token carries if it opens under `key` and has not expired at
/// `now`; `None` otherwise (the caller answers as for an unknown token). The entry's
/// `hash` is the token's SHA-256; it has no accessor, no use limit, and is not
/// renewable.
pub fn open(key: &SealingKey, token: &SecretString, now: i64) -> Option<TokenEntry> {
    let t = token.expose_secret();
    if t.len() > MAX_LEN {
        return None;
    }
    let body = t.strip_prefix(PREFIX)?;
    let sealed = URL_SAFE_NO_PAD.decode(body).ok()?;
    let plain = key.open(&aad(), &sealed).ok()?;
    let r: Record = serde_json::from_slice(plain.expose()).ok()?;
    if r.e <= now || r.p.iter().any(|p| p == ROOT_POLICY) {
        return None;
    }
    Some(TokenEntry {
        hash: crypto::sha256_hex(t.as_bytes()),
        accessor: String::new(),
        policies: r.p,
        issued_at: r.i,
        expire_at: r.e,
        max_expire_at: r.e,
        creation_ttl: r.t,
        period: 0,
        explicit_max_ttl: 0,
        num_uses: 0,
        display_name: r.n,
        meta: r.m,
        path: r.c,
        last_renewal: 0,
        ancestors: r.a,
        renewable: false,
        role: r.r,
        batch: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> TokenEntry {
        TokenEntry {
            hash: String::new(),
            accessor: String::new(),
            policies: vec!["default".into(), "reader".into()],
            issued_at: 100,
            expire_at: 200,
            max_expire_at: 200,
            creation_ttl: 100,
            period: 0,
            explicit_max_ttl: 0,
            num_uses: 0,
            display_name: "approle".into(),
            meta: BTreeMap::from([("role_name".into(), "ci".into())]),
            path: "auth/approle/login".into(),
            last_renewal: 0,
            ancestors: Vec::new(),
            renewable: false,
            role: String::new(),
            batch: true,
        }
    }

    #[test]
    fn a_sealed_entry_opens_until_it_expires() {
        let key = SealingKey::new(&[3u8; 32]).unwrap();
        let token = seal(&key, &entry()).unwrap();
        assert!(is_batch(&token));
        let got = open(&key, &token, 150).expect("opens");
        assert_eq!(got.policies, entry().policies);
        assert_eq!(got.meta, entry().meta);
        assert_eq!(
            got.hash,
            crypto::sha256_hex(token.expose_secret().as_bytes())
        );
        assert!(got.batch && !got.renewable && got.accessor.is_empty());
        assert!(open(&key, &token, 200).is_none(), "expired at its expiry");
        assert!(
            !token.expose_secret().contains("reader"),
            "the record is encrypted, not just signed"
        );
    }

    #[test]
    fn tampered_truncated_or_foreign_tokens_are_refused() {
        let key = SealingKey::new(&[3u8; 32]).unwrap();
        let t = seal(&key, &entry()).unwrap().expose_secret().to_owned();
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

    #[test]
    fn a_root_record_never_opens() {
        let key = SealingKey::new(&[3u8; 32]).unwrap();
        let mut e = entry();
        e.policies = vec!["root".into()];
        let t = seal(&key, &e).unwrap();
        assert!(open(&key, &t, 150).is_none());
    }
}
