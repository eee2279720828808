//! The secret material of one key version: generated, serialized for sealing under
//! the keyring, parsed back into aws-lc-rs keys (once per warm process, see
//! [`super::storage`]). `Debug` never prints it.
//!
//! As in OpenBao's `KeyEntry`, every version has its own 32-byte HMAC key besides the
//! type's key (for `hmac` keys the two are the same bytes). The type's key is kept in
//! the form a BYOK import hands over: the raw bytes of symmetric and HMAC keys, the
//! 32-byte seed of Ed25519, PKCS#8 DER of ECDSA and RSA keys.
//!
//! Serialized form (what is sealed): `0x01 || u16 BE hmac length || hmac key || key`;
//! a version imported with its public key only (OpenBao's public-key import, for
//! Ed25519, ECDSA and RSA) is `0x02 || u16 BE hmac length || hmac key || SPKI DER`:
//! it verifies (and RSA encrypts), but neither signs nor decrypts.

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, CHACHA20_POLY1305, LessSafeKey, UnboundKey};
use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rsa::{self, KeySize, PrivateDecryptingKey};
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING,
    ECDSA_P521_SHA512_ASN1_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair,
    KeyPair as _,
};
use zeroize::Zeroizing;

use super::b64;
use super::error::{Result, TransitError};
use super::key_type::KeyType;

const FORMAT: u8 = 1;
const FORMAT_PUBLIC: u8 = 2;
/// Bytes of a version's HMAC key (Vault: 32).
pub const HMAC_KEY_LEN: usize = 32;
/// Smallest and largest `key_size` of an `hmac` key, bytes (Vault's `HmacMinKeySize`,
/// `HmacMaxKeySize`).
pub const HMAC_SIZES: std::ops::RangeInclusive<usize> = 32..=512;

/// The type's secret key, parsed.
enum Secret {
    /// AES-GCM or ChaCha20-Poly1305: the raw key (derivation input) and the AEAD key.
    Aead {
        raw: Zeroizing<Vec<u8>>,
        key: LessSafeKey,
    },
    /// An `hmac` key: the HMAC key is all there is.
    Hmac,
    /// Ed25519: the seed and the key pair.
    Ed25519 {
        seed: Zeroizing<Vec<u8>>,
        pair: Ed25519KeyPair,
    },
    /// ECDSA.
    Ecdsa(EcdsaKeyPair),
    /// RSA: signing and OAEP decryption views of one key.
    Rsa {
        pair: rsa::KeyPair,
        decrypt: PrivateDecryptingKey,
    },
    /// An asymmetric type's public key only: SubjectPublicKeyInfo DER, checked.
    Public { spki: Vec<u8> },
}

/// One version's material.
pub struct Material {
    key_type: KeyType,
    hmac_key: Zeroizing<Vec<u8>>,
    secret: Secret,
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Material({}, redacted)", self.key_type)
    }
}

fn internal(cause: &'static str) -> impl FnOnce(aws_lc_rs::error::Unspecified) -> TransitError {
    move |_| TransitError::Internal(cause)
}

/// The signing algorithm of an ECDSA type (ASN.1 signatures, the curve's usual hash).
pub fn ecdsa_signing(kt: KeyType) -> &'static EcdsaSigningAlgorithm {
    match kt {
        KeyType::EcdsaP384 => &ECDSA_P384_SHA384_ASN1_SIGNING,
        KeyType::EcdsaP521 => &ECDSA_P521_SHA512_ASN1_SIGNING,
        _ => &ECDSA_P256_SHA256_ASN1_SIGNING,
    }
}

fn aead_key(kt: KeyType, raw: &[u8]) -> Result<LessSafeKey> {
    let alg = match kt {
        KeyType::Aes128Gcm96 => &AES_128_GCM,
        KeyType::ChaCha20Poly1305 => &CHACHA20_POLY1305,
        _ => &AES_256_GCM,
    };
    UnboundKey::new(alg, raw)
        .map(LessSafeKey::new)
        .map_err(internal("aead key rejected"))
}

/// The AEAD key of `kt` from `raw` bytes (a derived key: [`super::aead`]).
pub fn aead(kt: KeyType, raw: &[u8]) -> Result<LessSafeKey> {
    aead_key(kt, raw)
}

impl Material {
    /// A new random version of type `kt` (`key_size`: bytes of an `hmac` key, checked
    /// by the caller), with its serialized form for sealing.
    pub fn generate(kt: KeyType, key_size: usize) -> Result<(Self, Zeroizing<Vec<u8>>)> {
        let random = |n| {
            crate::crypto::random_bytes(n)
                .map(Zeroizing::new)
                .map_err(|_| TransitError::Internal("random generator failed"))
        };
        let hmac = random(HMAC_KEY_LEN)?;
        let key: Zeroizing<Vec<u8>> = match kt {
            KeyType::Hmac => random(key_size)?,
            k if k.is_aead() => random(k.aead_key_len())?,
            KeyType::Ed25519 => random(32)?,
            k if k.is_ecdsa() => Zeroizing::new(
                EcdsaKeyPair::generate(ecdsa_signing(k))
                    .and_then(|p| p.to_pkcs8v1())
                    .map_err(internal("ecdsa generation failed"))?
                    .as_ref()
                    .to_vec(),
            ),
            k => {
                let size = match k.rsa_bits() {
                    3072 => KeySize::Rsa3072,
                    4096 => KeySize::Rsa4096,
                    _ => KeySize::Rsa2048,
                };
                let pair =
                    rsa::KeyPair::generate(size).map_err(internal("rsa generation failed"))?;
                Zeroizing::new(
                    AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
                        .map_err(internal("rsa encoding failed"))?
                        .as_ref()
                        .to_vec(),
                )
            }
        };
        // For `hmac` keys the HMAC key is the key (Vault: `entry.HMACKey = newKey`).
        let hmac = if kt == KeyType::Hmac {
            key.clone()
        } else {
            hmac
        };
        let bytes = serialize(&hmac, &key);
        Ok((Self::from_parts(kt, hmac, &key)?, bytes))
    }

    /// Material from imported key `key` (already in the stored form:
    /// [`super::import::material_key`]), with a fresh random HMAC key (for `hmac`
    /// keys the key itself, as OpenBao's import), and its serialized form for sealing.
    pub fn import(kt: KeyType, key: &[u8]) -> Result<(Self, Zeroizing<Vec<u8>>)> {
        let hmac = if kt == KeyType::Hmac {
            Zeroizing::new(key.to_vec())
        } else {
            crate::crypto::random_bytes(HMAC_KEY_LEN)
                .map(Zeroizing::new)
                .map_err(|_| TransitError::Internal("random generator failed"))?
        };
        let bytes = serialize(&hmac, key);
        Ok((Self::from_parts(kt, hmac, key)?, bytes))
    }

    /// Material from a restored backup's HMAC key and type key (stored form), with
    /// its serialized form for sealing.
    pub fn restore(
        kt: KeyType,
        hmac: Zeroizing<Vec<u8>>,
        key: &[u8],
    ) -> Result<(Self, Zeroizing<Vec<u8>>)> {
        let bytes = serialize(&hmac, key);
        Ok((Self::from_parts(kt, hmac, key)?, bytes))
    }

    /// Material holding only the public key `spki` (SubjectPublicKeyInfo DER, checked
    /// by [`check_public`]) of type `kt`, with a fresh HMAC key (as OpenBao's
    /// public-key import), and its serialized form for sealing.
    pub fn import_public(kt: KeyType, spki: &[u8]) -> Result<(Self, Zeroizing<Vec<u8>>)> {
        let hmac = crate::crypto::random_bytes(HMAC_KEY_LEN)
            .map(Zeroizing::new)
            .map_err(|_| TransitError::Internal("random generator failed"))?;
        let mut bytes = serialize(&hmac, spki);
        bytes[0] = FORMAT_PUBLIC;
        Ok((Self::public(kt, hmac, spki)?, bytes))
    }

    fn public(kt: KeyType, hmac_key: Zeroizing<Vec<u8>>, spki: &[u8]) -> Result<Self> {
        check_public(kt, spki).map_err(|_| TransitError::Internal("stored public key rejected"))?;
        Ok(Self {
            key_type: kt,
            hmac_key,
            secret: Secret::Public {
                spki: spki.to_vec(),
            },
        })
    }

    /// Whether this version holds only a public key (no signing, no decryption).
    pub fn is_public_only(&self) -> bool {
        matches!(self.secret, Secret::Public { .. })
    }

    /// The key a signature is verified with (aws-lc-rs reads either form): the
    /// type's public key bytes (Ed25519 raw, ECDSA point, RSA PKCS#1), or the SPKI
    /// of a public-key-only version. `None` for symmetric and HMAC keys.
    pub fn verifying_key(&self) -> Option<Vec<u8>> {
        match &self.secret {
            Secret::Ed25519 { pair, .. } => Some(pair.public_key().as_ref().to_vec()),
            Secret::Ecdsa(p) => Some(p.public_key().as_ref().to_vec()),
            Secret::Rsa { pair, .. } => Some(pair.public_key().as_ref().to_vec()),
            Secret::Public { spki } => Some(spki.clone()),
            Secret::Aead { .. } | Secret::Hmac => None,
        }
    }

    /// Parses what [`Material::generate`] (or [`Material::import_public`]) serialized.
    pub fn from_bytes(kt: KeyType, bytes: &[u8]) -> Result<Self> {
        let malformed = || TransitError::Internal("stored key material is malformed");
        let (&format, rest) = bytes.split_first().ok_or_else(malformed)?;
        if (format != FORMAT && format != FORMAT_PUBLIC) || rest.len() < 2 {
            return Err(malformed());
        }
        let hlen = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let rest = &rest[2..];
        if rest.len() < hlen {
            return Err(malformed());
        }
        let (hmac, key) = rest.split_at(hlen);
        if format == FORMAT_PUBLIC {
            return Self::public(kt, Zeroizing::new(hmac.to_vec()), key);
        }
        Self::from_parts(kt, Zeroizing::new(hmac.to_vec()), key)
    }

    /// Material from an HMAC key and the type's key in its stored form (raw bytes,
    /// Ed25519 seed, PKCS#8): generation, loading, and later BYOK import.
    pub fn from_parts(kt: KeyType, hmac_key: Zeroizing<Vec<u8>>, key: &[u8]) -> Result<Self> {
        let rejected = |_| TransitError::Internal("stored key material rejected");
        let secret = match kt {
            KeyType::Hmac => Secret::Hmac,
            k if k.is_aead() => {
                if key.len() != k.aead_key_len() {
                    return Err(TransitError::Internal("stored key has the wrong length"));
                }
                Secret::Aead {
                    raw: Zeroizing::new(key.to_vec()),
                    key: aead_key(k, key)?,
                }
            }
            KeyType::Ed25519 => Secret::Ed25519 {
                seed: Zeroizing::new(key.to_vec()),
                pair: Ed25519KeyPair::from_seed_unchecked(key).map_err(rejected)?,
            },
            k if k.is_ecdsa() => {
                Secret::Ecdsa(EcdsaKeyPair::from_pkcs8(ecdsa_signing(k), key).map_err(rejected)?)
            }
            k => {
                let pair = rsa::KeyPair::from_pkcs8(key).map_err(rejected)?;
                if pair.public_modulus_len() * 8 != k.rsa_bits() {
                    return Err(TransitError::Internal("stored rsa key has the wrong size"));
                }
                Secret::Rsa {
                    pair,
                    decrypt: PrivateDecryptingKey::from_pkcs8(key).map_err(rejected)?,
                }
            }
        };
        Ok(Self {
            key_type: kt,
            hmac_key,
            secret,
        })
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The version's HMAC key (`hmac` endpoint; convergent nonces use a derived one).
    pub fn hmac_key(&self) -> &[u8] {
        &self.hmac_key
    }

    /// The raw symmetric key (derivation input), for AEAD types.
    pub fn aead_raw(&self) -> Option<&[u8]> {
        match &self.secret {
            Secret::Aead { raw, .. } => Some(raw),
            _ => None,
        }
    }

    /// The AEAD key, for AEAD types.
    pub fn aead_key(&self) -> Option<&LessSafeKey> {
        match &self.secret {
            Secret::Aead { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The Ed25519 key pair.
    pub fn ed25519(&self) -> Option<&Ed25519KeyPair> {
        match &self.secret {
            Secret::Ed25519 { pair, .. } => Some(pair),
            _ => None,
        }
    }

    /// Go's 64-byte Ed25519 private key (seed || public key): the derivation input
    /// of derived Ed25519 keys (OpenBao's `DeriveKey` reads `keyEntry.Key`).
    pub fn ed25519_go_private(&self) -> Option<Zeroizing<Vec<u8>>> {
        match &self.secret {
            Secret::Ed25519 { seed, pair } => {
                let mut k = Zeroizing::new(seed.to_vec());
                k.extend_from_slice(pair.public_key().as_ref());
                Some(k)
            }
            _ => None,
        }
    }

    /// The ECDSA key pair.
    pub fn ecdsa(&self) -> Option<&EcdsaKeyPair> {
        match &self.secret {
            Secret::Ecdsa(p) => Some(p),
            _ => None,
        }
    }

    /// The RSA key pair (signing) and its OAEP view (decryption).
    pub fn rsa(&self) -> Option<(&rsa::KeyPair, &PrivateDecryptingKey)> {
        match &self.secret {
            Secret::Rsa { pair, decrypt } => Some((pair, decrypt)),
            _ => None,
        }
    }

    /// The public key as Vault shows it in a key read: base64 of the 32 bytes for
    /// Ed25519, a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) for ECDSA and RSA; `None`
    /// for symmetric and HMAC keys.
    pub fn public_key(&self) -> Result<Option<String>> {
        let spki: Result<PublicKeyX509Der<'static>> = match &self.secret {
            Secret::Aead { .. } | Secret::Hmac => return Ok(None),
            Secret::Public { spki } if self.key_type == KeyType::Ed25519 => {
                let raw = spki
                    .get(spki.len().saturating_sub(32)..)
                    .unwrap_or_default();
                return Ok(Some(b64::encode(raw)));
            }
            Secret::Public { spki } => return Ok(Some(pem_public_key(spki))),
            Secret::Ed25519 { pair, .. } => {
                return Ok(Some(b64::encode(pair.public_key().as_ref())));
            }
            Secret::Ecdsa(p) => p
                .public_key()
                .as_der()
                .map_err(internal("ecdsa public key")),
            Secret::Rsa { pair, .. } => pair
                .public_key()
                .as_der()
                .map_err(internal("rsa public key")),
        };
        Ok(Some(pem_public_key(spki?.as_ref())))
    }
}

/// PEM as Go's `pem.EncodeToMemory` writes it: LF line ends, 64-column body, a final
/// newline.
pub fn pem_public_key(der: &[u8]) -> String {
    let block = pem::Pem::new("PUBLIC KEY", der.to_vec());
    pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

fn serialize(hmac: &[u8], key: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(3 + hmac.len() + key.len()));
    out.push(FORMAT);
    // HMAC keys are at most 512 bytes (HMAC_SIZES).
    out.extend_from_slice(&u16::try_from(hmac.len()).unwrap_or(u16::MAX).to_be_bytes());
    out.extend_from_slice(hmac);
    out.extend_from_slice(key);
    out
}

/// Checks that `spki` (SubjectPublicKeyInfo DER) is a public key of type `kt` (the
/// curve of ECDSA types, the modulus size of RSA types). Err names what it is instead
/// (Go's `%T`: `ed25519.PublicKey`, `*ecdsa.PublicKey`, `*rsa.PublicKey`; `None` when it
/// is no public key Sigil reads).
pub fn check_public(kt: KeyType, spki: &[u8]) -> std::result::Result<(), Option<&'static str>> {
    use aws_lc_rs::signature::{ED25519, RSA_PSS_2048_8192_SHA256, UnparsedPublicKey};
    let parses = |alg: &'static dyn signature::VerificationAlgorithm| {
        UnparsedPublicKey::new(alg, spki).parse().is_ok()
    };
    let rsa_bits = rsa::PublicEncryptingKey::from_der(spki)
        .ok()
        .map(|k| k.key_size_bits())
        .filter(|_| parses(&RSA_PSS_2048_8192_SHA256));
    let ok = match kt {
        KeyType::Ed25519 => parses(&ED25519),
        k if k.is_ecdsa() => parses(ecdsa_verification(k)),
        k if k.is_rsa() => rsa_bits == Some(k.rsa_bits()),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    if parses(&ED25519) {
        Err(Some("ed25519.PublicKey"))
    } else if [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::EcdsaP521]
        .into_iter()
        .any(|c| parses(ecdsa_verification(c)))
    {
        Err(Some("*ecdsa.PublicKey"))
    } else if rsa_bits.is_some() {
        Err(Some("*rsa.PublicKey"))
    } else {
        Err(None)
    }
}

/// Verification algorithm of an ECDSA type's public key (ASN.1, the curve's hash).
pub fn ecdsa_verification(kt: KeyType) -> &'static signature::EcdsaVerificationAlgorithm {
    match kt {
        KeyType::EcdsaP384 => &signature::ECDSA_P384_SHA384_ASN1,
        KeyType::EcdsaP521 => &signature::ECDSA_P521_SHA512_ASN1,
        _ => &signature::ECDSA_P256_SHA256_ASN1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transit::key_type::ALL;

    #[test]
    fn every_type_generates_serializes_and_parses_back() {
        for kt in ALL {
            if kt == KeyType::Rsa4096 || kt == KeyType::Rsa3072 {
                continue; // slow to generate; rsa-2048 covers the code path
            }
            let (m, bytes) = Material::generate(kt, 32).unwrap();
            let back = Material::from_bytes(kt, &bytes).unwrap();
            assert_eq!(m.hmac_key(), back.hmac_key(), "{kt}");
            assert_eq!(m.public_key().unwrap(), back.public_key().unwrap(), "{kt}");
            assert_eq!(
                m.public_key().unwrap().is_some(),
                kt.signing_supported(),
                "{kt}"
            );
            assert_eq!(format!("{back:?}"), format!("Material({kt}, redacted)"));
        }
    }

    #[test]
    fn hmac_keys_are_the_key() {
        let (m, _) = Material::generate(KeyType::Hmac, 48).unwrap();
        assert_eq!(m.hmac_key().len(), 48);
    }

    #[test]
    fn malformed_material_is_internal_and_says_nothing() {
        for bad in [&b""[..], &[2, 0, 0], &[1, 0, 40, 1, 2], &[1, 0, 0, 1, 2, 3]] {
            let e = Material::from_bytes(KeyType::Aes256Gcm96, bad).unwrap_err();
            assert!(matches!(e, TransitError::Internal(_)), "{bad:?}");
            assert_eq!(e.to_string(), "internal error");
        }
    }

    #[test]
    fn pem_is_gos() {
        let p = pem_public_key(&[1u8; 70]);
        assert!(p.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(p.ends_with("-----END PUBLIC KEY-----\n"));
        assert!(!p.contains('\r'));
    }
}
