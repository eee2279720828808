//! Key types: Vault's names and what each supports (`KeyType` and its
//! `EncryptionSupported`, `SigningSupported`, ... in OpenBao's
//! `sdk/helper/keysutil/policy.go`).

use serde::{Deserialize, Serialize};

/// A transit key type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyType {
    /// `aes128-gcm96`: AES-128-GCM, 96-bit random nonce.
    #[serde(rename = "aes128-gcm96")]
    Aes128Gcm96,
    /// `aes256-gcm96`: AES-256-GCM, 96-bit random nonce (Vault's default).
    #[serde(rename = "aes256-gcm96")]
    Aes256Gcm96,
    /// `chacha20-poly1305`: 96-bit random nonce.
    #[serde(rename = "chacha20-poly1305")]
    ChaCha20Poly1305,
    /// `ed25519`: signatures.
    #[serde(rename = "ed25519")]
    Ed25519,
    /// `ecdsa-p256`: signatures on NIST P-256.
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    /// `ecdsa-p384`: signatures on NIST P-384.
    #[serde(rename = "ecdsa-p384")]
    EcdsaP384,
    /// `ecdsa-p521`: signatures on NIST P-521.
    #[serde(rename = "ecdsa-p521")]
    EcdsaP521,
    /// `rsa-2048`: RSA-OAEP (SHA-256) encryption, PSS and PKCS#1 v1.5 signatures.
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    /// `rsa-3072`.
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    /// `rsa-4096`.
    #[serde(rename = "rsa-4096")]
    Rsa4096,
    /// `hmac`: a bare HMAC key of `key_size` bytes.
    #[serde(rename = "hmac")]
    Hmac,
}

/// Every type Sigil creates.
pub const ALL: [KeyType; 11] = [
    KeyType::Aes128Gcm96,
    KeyType::Aes256Gcm96,
    KeyType::ChaCha20Poly1305,
    KeyType::Ed25519,
    KeyType::EcdsaP256,
    KeyType::EcdsaP384,
    KeyType::EcdsaP521,
    KeyType::Rsa2048,
    KeyType::Rsa3072,
    KeyType::Rsa4096,
    KeyType::Hmac,
];

/// Types Vault knows that Sigil does not create (no implementation in aws-lc-rs).
pub const UNSUPPORTED: [&str; 2] = ["xchacha20-poly1305", "external-key"];

impl KeyType {
    /// Vault's name (`aes256-gcm96`, ...).
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Aes128Gcm96 => "aes128-gcm96",
            KeyType::Aes256Gcm96 => "aes256-gcm96",
            KeyType::ChaCha20Poly1305 => "chacha20-poly1305",
            KeyType::Ed25519 => "ed25519",
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::EcdsaP521 => "ecdsa-p521",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
            KeyType::Hmac => "hmac",
        }
    }

    /// The type named `name`, if Sigil creates it.
    pub fn parse(name: &str) -> Option<Self> {
        ALL.into_iter().find(|t| t.name() == name)
    }

    /// A symmetric AEAD type (`aes*-gcm96`, `chacha20-poly1305`).
    pub fn is_aead(self) -> bool {
        matches!(
            self,
            KeyType::Aes128Gcm96 | KeyType::Aes256Gcm96 | KeyType::ChaCha20Poly1305
        )
    }

    /// An RSA type.
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
    }

    /// An ECDSA type.
    pub fn is_ecdsa(self) -> bool {
        matches!(
            self,
            KeyType::EcdsaP256 | KeyType::EcdsaP384 | KeyType::EcdsaP521
        )
    }

    /// Vault's `EncryptionSupported` (and `DecryptionSupported`, the same set).
    pub fn encryption_supported(self) -> bool {
        self.is_aead() || self.is_rsa()
    }

    /// Vault's `SigningSupported`.
    pub fn signing_supported(self) -> bool {
        self.is_ecdsa() || self.is_rsa() || self == KeyType::Ed25519
    }

    /// Vault's `DerivationSupported`.
    pub fn derivation_supported(self) -> bool {
        self.is_aead() || self == KeyType::Ed25519
    }

    /// Vault's `HashSignatureInput`: the input is hashed before signing.
    pub fn hashes_signature_input(self) -> bool {
        self.is_ecdsa() || self.is_rsa()
    }

    /// Vault's `AssociatedDataSupported`.
    pub fn associated_data_supported(self) -> bool {
        self.is_aead()
    }

    /// Bytes of an AEAD key (16 for AES-128, else 32); 0 for other types.
    pub fn aead_key_len(self) -> usize {
        match self {
            KeyType::Aes128Gcm96 => 16,
            KeyType::Aes256Gcm96 | KeyType::ChaCha20Poly1305 => 32,
            _ => 0,
        }
    }

    /// RSA modulus bits; 0 for other types.
    pub fn rsa_bits(self) -> usize {
        match self {
            KeyType::Rsa2048 => 2048,
            KeyType::Rsa3072 => 3072,
            KeyType::Rsa4096 => 4096,
            _ => 0,
        }
    }
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_capabilities_are_vaults() {
        for t in ALL {
            assert_eq!(KeyType::parse(t.name()), Some(t));
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::json!(t.name())
            );
        }
        assert_eq!(KeyType::parse("xchacha20-poly1305"), None);
        assert!(KeyType::Aes256Gcm96.derivation_supported());
        assert!(KeyType::Ed25519.derivation_supported());
        assert!(!KeyType::EcdsaP256.derivation_supported());
        assert!(KeyType::Rsa2048.encryption_supported() && KeyType::Rsa2048.signing_supported());
        assert!(!KeyType::Hmac.encryption_supported() && !KeyType::Hmac.signing_supported());
        assert!(!KeyType::Ed25519.hashes_signature_input());
    }
}
