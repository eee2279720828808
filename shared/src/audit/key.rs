//! The audit HMAC key: HMAC-SHA256 over sensitive values, as Vault's audit devices hash
//! them (`hmac-sha256:<hex>`), so a log reader can match a known value
//! (`sys/audit-hash`) but never recover one.

use aws_lc_rs::hmac;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// Prefix of every hashed value, as in Vault's audit log.
pub const HASH_PREFIX: &str = "hmac-sha256:";

/// The audit device's HMAC-SHA256 key (32 bytes, kept KMS-wrapped in the keyring).
/// `Debug` prints `AuditKey(redacted)`.
pub struct AuditKey(hmac::Key);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(redacted)")
    }
}

impl AuditKey {
    /// A key over `bytes` (the unwrapped data key).
    pub fn new(bytes: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// `hmac-sha256:` followed by the lowercase hex HMAC of `value`'s UTF-8 bytes.
    pub fn hash(&self, value: &str) -> String {
        self.tag(value.as_bytes()).as_str().to_owned()
    }

    /// The hash of `bytes` as [`AuditKey::hash`] writes it, on the stack.
    pub fn tag(&self, bytes: &[u8]) -> Hash {
        let tag = hmac::sign(&self.0, bytes);
        let mut out = [0u8; HASH_LEN];
        out[..HASH_PREFIX.len()].copy_from_slice(HASH_PREFIX.as_bytes());
        // 32 bytes of tag fill the 64 hex digits exactly, so this cannot fail.
        let hex_ok = hex::encode_to_slice(tag.as_ref(), &mut out[HASH_PREFIX.len()..]).is_ok();
        debug_assert!(hex_ok);
        Hash(out)
    }

    /// `value` as it serializes with every scalar (strings, numbers and booleans, in
    /// object values and list items at any depth) replaced by its hash, without
    /// copying it; a number or boolean is hashed as its JSON text, keys and nulls stay.
    /// Vault hashes strings only; Sigil hashes numbers and booleans too, since secret
    /// data holds them as well (a PIN).
    pub fn hashed<'a>(&'a self, value: &'a Value) -> Hashed<'a> {
        Hashed { key: self, value }
    }
}

/// Length of a hash as written: the prefix and 64 hex digits, in bytes.
const HASH_LEN: usize = HASH_PREFIX.len() + 64;

/// One `hmac-sha256:<hex>` hash, held on the stack ([`AuditKey::tag`]).
pub struct Hash([u8; HASH_LEN]);

impl Hash {
    /// The hash as text.
    pub fn as_str(&self) -> &str {
        // The prefix and hex digits are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A JSON value that serializes with every scalar replaced by its hash (see
/// [`AuditKey::hashed`] for the rule); keys and nulls stay.
pub struct Hashed<'a> {
    key: &'a AuditKey,
    value: &'a Value,
}

impl Serialize for Hashed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let key = self.key;
        match self.value {
            Value::Null => s.serialize_unit(),
            Value::String(v) => key.tag(v.as_bytes()).serialize(s),
            Value::Number(n) => key.tag(n.to_string().as_bytes()).serialize(s),
            Value::Bool(b) => key
                .tag(if *b { b"true" as &[u8] } else { b"false" })
                .serialize(s),
            Value::Array(items) => s.collect_seq(items.iter().map(|v| key.hashed(v))),
            Value::Object(map) => s.collect_map(map.iter().map(|(k, v)| (k, key.hashed(v)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hashes_are_keyed_stable_and_redacted_in_debug() {
        let k = AuditKey::new(&[7; 32]);
        let h = k.hash("s3cr3t");
        assert!(
            h.starts_with(HASH_PREFIX) && h.len() == HASH_PREFIX.len() + 64,
            "{h}"
        );
        assert_eq!(h, k.hash("s3cr3t"));
        assert_ne!(h, AuditKey::new(&[8; 32]).hash("s3cr3t"), "keyed");
        assert_eq!(format!("{k:?}"), "AuditKey(redacted)");
    }

    #[test]
    fn every_scalar_is_hashed() {
        let k = AuditKey::new(&[1; 32]);
        let v = json!({"a": "x", "n": 1234, "b": true, "l": ["y", {"z": "w"}], "nil": null});
        let v = serde_json::to_value(k.hashed(&v)).unwrap();
        assert_eq!(v["a"], json!(k.hash("x")));
        assert_eq!(v["l"][0], json!(k.hash("y")));
        assert_eq!(v["l"][1]["z"], json!(k.hash("w")));
        assert_eq!(v["n"], json!(k.hash("1234")), "a secret PIN is hashed");
        assert_eq!(v["b"], json!(k.hash("true")));
        assert_eq!(v["nil"], Value::Null);
    }

    #[test]
    fn hashed_keeps_the_shape() {
        let k = AuditKey::new(&[2; 32]);
        let v = json!({"a": "x", "n": -12.5, "b": false, "l": [1, {"z": "w"}, null], "o": {}});
        let expected = json!({
            "a": k.hash("x"), "n": k.hash("-12.5"), "b": k.hash("false"),
            "l": [k.hash("1"), {"z": k.hash("w")}, null], "o": {},
        });
        assert_eq!(serde_json::to_value(k.hashed(&v)).unwrap(), expected);
        assert_eq!(k.tag(b"x").as_str(), k.hash("x"));
    }
}
