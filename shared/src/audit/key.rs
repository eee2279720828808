//! The audit HMAC key: HMAC-SHA256 over sensitive values, as Vault's audit devices hash
//! them (`hmac-sha256:<hex>`), so a log reader can match a known value
//! (`sys/audit-hash`) but never recover one.

use aws_lc_rs::hmac;
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
        let tag = hmac::sign(&self.0, value.as_bytes());
        format!("{HASH_PREFIX}{}", hex::encode(tag.as_ref()))
    }

    /// Replaces every scalar inside `value` (strings, numbers and booleans, in object
    /// values and list items at any depth) with its hash (a number or boolean is
    /// hashed as its JSON text); keys and nulls stay. Vault hashes strings only; Sigil
    /// hashes numbers and booleans too, since secret data holds them as well (a PIN).
    pub fn hash_scalars(&self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.hash(s),
            Value::Number(n) => *value = Value::String(self.hash(&n.to_string())),
            Value::Bool(b) => *value = Value::String(self.hash(if *b { "true" } else { "false" })),
            Value::Array(items) => items.iter_mut().for_each(|v| self.hash_scalars(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.hash_scalars(v)),
            Value::Null => {}
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
        let mut v = json!({"a": "x", "n": 1234, "b": true, "l": ["y", {"z": "w"}], "nil": null});
        k.hash_scalars(&mut v);
        assert_eq!(v["a"], json!(k.hash("x")));
        assert_eq!(v["l"][0], json!(k.hash("y")));
        assert_eq!(v["l"][1]["z"], json!(k.hash("w")));
        assert_eq!(v["n"], json!(k.hash("1234")), "a secret PIN is hashed");
        assert_eq!(v["b"], json!(k.hash("true")));
        assert_eq!(v["nil"], Value::Null);
    }
}
