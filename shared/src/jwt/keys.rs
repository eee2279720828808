//! Verification key sets: the public keys a JWT may be signed with, parsed from an
//! issuer's JWKS document (RFC 7517) or from PEM public keys. Symmetric (`oct`) keys
//! and encryption keys are dropped on parsing, so an HMAC algorithm can never be
//! checked against a published key (the "HS256 with the public key" attack).

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};

/// Most keys taken from one JWKS document or one PEM list.
pub const MAX_KEYS: usize = 100;

/// Largest JWKS or discovery document read, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// One verification key.
#[derive(Clone)]
pub struct VerifyKey {
    /// The key ID (`kid`), when the JWKS gives one.
    pub kid: Option<String>,
    /// The algorithm the JWKS pins the key to (`alg`), if any.
    pub alg: Option<Algorithm>,
    /// The key.
    pub key: DecodingKey,
}

/// A set of verification keys.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<VerifyKey>,
}

/// `Debug` lists key IDs only.
impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| k.kid.as_deref().unwrap_or("-")))
            .finish()
    }
}

/// Why a key set could not be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum KeysError {
    /// The JWKS document is not JSON with a `keys` list.
    #[error("the JWKS document is not a JSON object with a \"keys\" list")]
    NotJwks,
    /// No usable public key in the document or list.
    #[error("no usable public key (RSA, EC P-256/P-384 or Ed25519) found")]
    NoKeys,
    /// A PEM public key did not parse.
    #[error("public key {0} is not a PEM RSA, EC or Ed25519 public key")]
    BadPem(usize),
    /// Too many keys.
    #[error("more than {MAX_KEYS} keys")]
    TooMany,
}

impl KeySet {
    /// Parses a JWKS document. Keys that are symmetric, marked `"use": "enc"`, of an
    /// unknown type, or malformed are skipped; a document with no usable key is an error.
    pub fn from_jwks(doc: &[u8]) -> Result<Self, KeysError> {
        if doc.len() > MAX_DOCUMENT_BYTES {
            return Err(KeysError::NotJwks);
        }
        let v: serde_json::Value = serde_json::from_slice(doc).map_err(|_| KeysError::NotJwks)?;
        let list = v
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .ok_or(KeysError::NotJwks)?;
        if list.len() > MAX_KEYS {
            return Err(KeysError::TooMany);
        }
        let keys: Vec<VerifyKey> = list.iter().filter_map(parse_jwk).collect();
        if keys.is_empty() {
            return Err(KeysError::NoKeys);
        }
        Ok(Self { keys })
    }

    /// Parses PEM public keys (`jwt_validation_pubkeys`, Kubernetes `pem_keys`): each
    /// an RSA, EC or Ed25519 public key (SPKI `PUBLIC KEY` or `RSA PUBLIC KEY`).
    /// Errors name the 0-based position of the first key that does not parse.
    pub fn from_pems(pems: &[String]) -> Result<Self, KeysError> {
        if pems.len() > MAX_KEYS {
            return Err(KeysError::TooMany);
        }
        let mut keys = Vec::with_capacity(pems.len());
        for (i, pem) in pems.iter().enumerate() {
            let b = pem.as_bytes();
            let key = DecodingKey::from_rsa_pem(b)
                .or_else(|_| DecodingKey::from_ec_pem(b))
                .or_else(|_| DecodingKey::from_ed_pem(b))
                .map_err(|_| KeysError::BadPem(i))?;
            keys.push(VerifyKey {
                kid: None,
                alg: None,
                key,
            });
        }
        if keys.is_empty() {
            return Err(KeysError::NoKeys);
        }
        Ok(Self { keys })
    }

    /// Whether a key with this ID is in the set.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// The keys a token may have been signed with: those with the token's `kid` when
    /// the set has it; otherwise the keys without a `kid` (PEM keys, or a JWKS that
    /// names none), or every key when the token names no `kid`. Keys pinned to
    /// another `alg` are left out.
    pub fn candidates<'a>(
        &'a self,
        kid: Option<&'a str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'a VerifyKey> + 'a {
        let known = kid.filter(|k| self.has_kid(k));
        self.keys.iter().filter(move |k| {
            let by_kid = match (kid, known) {
                (None, _) => true,
                (Some(_), Some(want)) => k.kid.as_deref() == Some(want),
                (Some(_), None) => k.kid.is_none(),
            };
            by_kid && k.alg.is_none_or(|a| a == alg)
        })
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn parse_jwk(v: &serde_json::Value) -> Option<VerifyKey> {
    // Only public-key types: an `oct` key would turn into an HMAC secret.
    match v.get("kty").and_then(serde_json::Value::as_str) {
        Some("RSA" | "EC" | "OKP") => {}
        _ => return None,
    }
    if v.get("use").and_then(serde_json::Value::as_str) == Some("enc") {
        return None;
    }
    let jwk: Jwk = serde_json::from_value(v.clone()).ok()?;
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    let alg = v
        .get("alg")
        .and_then(serde_json::Value::as_str)
        .map(str::parse::<Algorithm>)
        .transpose()
        .ok()?;
    if alg.is_some_and(|a| a.family() == jsonwebtoken::AlgorithmFamily::Hmac) {
        return None;
    }
    Some(VerifyKey {
        kid: jwk.common.key_id.clone(),
        alg,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_and_encryption_keys_are_dropped() {
        let doc = serde_json::json!({"keys": [
            {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "sXch", "e": "AQAB"},
            {"kty": "weird", "kid": "w"},
        ]});
        assert_eq!(
            KeySet::from_jwks(doc.to_string().as_bytes()).unwrap_err(),
            KeysError::NoKeys
        );
    }

    #[test]
    fn garbage_is_not_a_jwks() {
        for doc in [&b"not json"[..], b"[]", b"{\"keys\": 3}"] {
            assert_eq!(KeySet::from_jwks(doc).unwrap_err(), KeysError::NotJwks);
        }
    }

    #[test]
    fn bad_pem_is_named_by_position() {
        assert_eq!(
            KeySet::from_pems(&["nope".into()]).unwrap_err(),
            KeysError::BadPem(0)
        );
    }
}
