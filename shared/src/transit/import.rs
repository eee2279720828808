//! BYOK import (OpenBao's `path_import.go`, `keysutil.ImportPublicOrPrivate`): the
//! caller wraps a 32-byte ephemeral AES key with RSA-OAEP under the mount's RSA-4096
//! wrapping key (`transit/wrapping_key`), wraps the key material with that AES key
//! (AES-KWP, RFC 5649), and sends base64 of the two concatenated:
//!
//! `ciphertext = base64( OAEP(wrapping key, hash, aes key) [512 bytes] || KWP(aes key, material) )`
//!
//! The material is the raw key for `aes128-gcm96` (16 bytes), `aes256-gcm96` and
//! `chacha20-poly1305` (32), `hmac` (32 to 512), and PKCS#8 DER for `ed25519`,
//! `ecdsa-p256|p384|p521` and `rsa-2048|3072|4096`. [`unwrap`] opens the ciphertext,
//! [`material_key`] turns the material into the form [`Material::from_parts`] takes.
//! Errors carry OpenBao's texts; none ever holds key material.

use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrapPadded};
use aws_lc_rs::rsa::{
    self, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA384_MGF1SHA384,
    OAEP_SHA512_MGF1SHA512, OaepAlgorithm, OaepPrivateDecryptingKey,
};
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair};
use zeroize::Zeroizing;

use super::error::{Result, TransitError};
use super::key_type::KeyType;
use super::material::{HMAC_SIZES, Material, ecdsa_signing};

/// Bytes of the OAEP-wrapped ephemeral key: the RSA-4096 modulus (OpenBao's
/// `EncryptedKeyBytes`).
pub const ENCRYPTED_KEY_BYTES: usize = 512;

/// Bytes of the ephemeral AES key (AES-256).
pub const EPHEMERAL_KEY_BYTES: usize = 32;

/// The name of the mount's wrapping key (OpenBao: `import/wrapping-key`, kept apart
/// from the mount's keys).
pub const WRAPPING_KEY_NAME: &str = "wrapping-key";

/// The OAEP hash of `hash_function` (default `SHA256`; case-insensitive as OpenBao's
/// `parseHashFn`). `SHA224` is Vault's but aws-lc-rs has no OAEP with it: refused.
pub fn oaep_hash(name: &str) -> Result<&'static OaepAlgorithm> {
    match name.to_ascii_uppercase().as_str() {
        "SHA1" => Ok(&OAEP_SHA1_MGF1SHA1),
        "SHA256" => Ok(&OAEP_SHA256_MGF1SHA256),
        "SHA384" => Ok(&OAEP_SHA384_MGF1SHA384),
        "SHA512" => Ok(&OAEP_SHA512_MGF1SHA512),
        "SHA224" => Err(TransitError::invalid(
            "hash function SHA224 is not supported by Sigil for import; use SHA256",
        )),
        _ => Err(TransitError::invalid(format!(
            "unknown hash function: {name}"
        ))),
    }
}

/// Opens an import `ciphertext` (decoded from base64) with the wrapping key's
/// material: OAEP-decrypts the ephemeral key, then KWP-unwraps the key material.
pub fn unwrap(
    wrapping: &Material,
    hash: &'static OaepAlgorithm,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    if ciphertext.len() <= ENCRYPTED_KEY_BYTES {
        return Err(TransitError::invalid("provided ciphertext is too short"));
    }
    let (wrapped_eph, wrapped_key) = ciphertext.split_at(ENCRYPTED_KEY_BYTES);
    let (_, private) = wrapping
        .rsa()
        .ok_or(TransitError::Internal("wrapping key is not rsa"))?;
    let oaep = OaepPrivateDecryptingKey::new(private.clone())
        .map_err(|_| TransitError::Internal("wrapping key rejected"))?;
    let mut eph = Zeroizing::new(vec![0u8; oaep.min_output_size()]);
    let n = oaep
        .decrypt(hash, wrapped_eph, &mut eph, None)
        .map_err(|_| TransitError::invalid("crypto/rsa: decryption error"))?
        .len();
    eph.truncate(n);
    kwp_unwrap(&eph, wrapped_key)
}

/// AES-KWP (RFC 5649) unwrap of `wrapped` under the 32-byte `kek`.
pub fn kwp_unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    if kek.len() != EPHEMERAL_KEY_BYTES {
        return Err(TransitError::invalid(
            "expected ephemeral AES key to be 256-bit",
        ));
    }
    let kek = AesKek::new(&AES_256, kek).map_err(|_| TransitError::Internal("kek rejected"))?;
    let mut out = Zeroizing::new(vec![0u8; wrapped.len()]);
    let n = kek
        .unwrap_with_padding(wrapped, &mut out)
        .map_err(|_| TransitError::invalid("kwp: unwrap failed"))?
        .len();
    out.truncate(n);
    Ok(out)
}

/// AES-KWP (RFC 5649) wrap of `key` under the 32-byte `kek` (tests and the client
/// side of an import).
pub fn kwp_wrap(kek: &[u8], key: &[u8]) -> Result<Vec<u8>> {
    let kek = AesKek::new(&AES_256, kek).map_err(|_| TransitError::Internal("kek rejected"))?;
    let mut out = vec![0u8; key.len() + 16];
    let n = kek
        .wrap_with_padding(key, &mut out)
        .map_err(|_| TransitError::Internal("kwp wrap failed"))?
        .len();
    out.truncate(n);
    Ok(out)
}

/// What a PKCS#8 document holds, named as Go's `%T` of the parsed key.
fn parsed_kind(der: &[u8]) -> Option<&'static str> {
    if Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).is_ok() {
        return Some("ed25519.PrivateKey");
    }
    if rsa::KeyPair::from_pkcs8(der).is_ok() {
        return Some("*rsa.PrivateKey");
    }
    [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::EcdsaP521]
        .into_iter()
        .any(|k| EcdsaKeyPair::from_pkcs8(ecdsa_signing(k), der).is_ok())
        .then_some("*ecdsa.PrivateKey")
}

fn curve(kt: KeyType) -> &'static str {
    match kt {
        KeyType::EcdsaP384 => "P-384",
        KeyType::EcdsaP521 => "P-521",
        _ => "P-256",
    }
}

/// Checks imported material `key` for type `kt` and returns the type's key in the
/// form [`Material::from_parts`] takes (raw bytes, Ed25519 seed, PKCS#8), with
/// OpenBao's texts as `keys/:name/import` gives them (`error importing key: ...`,
/// the prefix of OpenBao's `LockManager.ImportPolicy`).
pub fn material_key(kt: KeyType, key: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    version_material_key(kt, key).map_err(|e| match e {
        TransitError::Invalid(m) => TransitError::invalid(format!("error importing key: {m}")),
        other => other,
    })
}

/// [`material_key`] with the texts `keys/:name/import_version` gives (OpenBao's
/// `Policy.ImportPublicOrPrivate` directly: no prefix).
pub fn version_material_key(kt: KeyType, key: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let size_ok = match kt {
        KeyType::Hmac => HMAC_SIZES.contains(&key.len()),
        k if k.is_aead() => key.len() == k.aead_key_len(),
        _ => true,
    };
    if !size_ok {
        return Err(TransitError::invalid(format!(
            "invalid key size {} bytes for key type {kt}",
            key.len()
        )));
    }
    if kt == KeyType::Hmac || kt.is_aead() {
        return Ok(Zeroizing::new(key.to_vec()));
    }
    let Some(kind) = parsed_kind(key) else {
        return Err(TransitError::invalid(
            "error parsing asymmetric key: x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)",
        ));
    };
    let wrong = || TransitError::invalid(format!("invalid key type: expected {kt}, got {kind}"));
    match kt {
        KeyType::Ed25519 => {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(key).map_err(|_| wrong())?;
            let seed = pair
                .seed()
                .and_then(|s| aws_lc_rs::encoding::AsBigEndian::as_be_bytes(&s))
                .map_err(|_| TransitError::Internal("ed25519 seed"))?;
            Ok(Zeroizing::new(seed.as_ref().to_vec()))
        }
        k if k.is_ecdsa() => {
            if EcdsaKeyPair::from_pkcs8(ecdsa_signing(k), key).is_ok() {
                return Ok(Zeroizing::new(key.to_vec()));
            }
            if kind != "*ecdsa.PrivateKey" {
                return Err(wrong());
            }
            let got = [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::EcdsaP521]
                .into_iter()
                .find(|c| EcdsaKeyPair::from_pkcs8(ecdsa_signing(*c), key).is_ok())
                .map_or("unknown", curve);
            Err(TransitError::invalid(format!(
                "invalid curve: expected {}, got {got}",
                curve(k)
            )))
        }
        k => {
            let pair = rsa::KeyPair::from_pkcs8(key).map_err(|_| wrong())?;
            let want = k.rsa_bits() / 8;
            if pair.public_modulus_len() != want {
                return Err(TransitError::invalid(format!(
                    "invalid key size: expected {want} bytes, got {} bytes",
                    pair.public_modulus_len()
                )));
            }
            Ok(Zeroizing::new(key.to_vec()))
        }
    }
}

/// Checks a `public_key` import (PEM `PUBLIC KEY`, SubjectPublicKeyInfo) for type
/// `kt` and returns its DER, with the texts of OpenBao's `ImportPublicOrPrivate`
/// (no prefix: `keys/:name/import` adds `error importing key: `).
pub fn public_material(kt: KeyType, pem_text: &str) -> Result<Vec<u8>> {
    let der = pem::parse(pem_text)
        .map_err(|_| TransitError::invalid("error parsing public key: not in PEM format"))?
        .into_contents();
    let Err(kind) = super::material::check_public(kt, &der) else {
        return Ok(der);
    };
    let kind = kind.ok_or_else(|| {
        TransitError::invalid("error parsing public key: x509: failed to parse public key")
    })?;
    if kt.is_ecdsa() && kind == "*ecdsa.PublicKey" {
        let got = [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::EcdsaP521]
            .into_iter()
            .find(|c| super::material::check_public(*c, &der).is_ok())
            .map_or("unknown", curve);
        return Err(TransitError::invalid(format!(
            "invalid curve: expected {}, got {got}",
            curve(kt)
        )));
    }
    if kt.is_rsa() && kind == "*rsa.PublicKey" {
        let got = rsa::PublicEncryptingKey::from_der(&der)
            .map(|k| k.key_size_bytes())
            .unwrap_or(0);
        return Err(TransitError::invalid(format!(
            "invalid key size: expected {} bytes, got {got} bytes",
            kt.rsa_bits() / 8
        )));
    }
    Err(TransitError::invalid(format!(
        "invalid key type: expected {kt}, got {kind}"
    )))
}

/// Whether private key material `key` (the stored form: [`material_key`]) is the
/// pair of public-key-only version `public` (OpenBao's `ImportPrivateKeyForVersion`
/// check): their public keys are the same.
pub fn completes(kt: KeyType, key: &[u8], public: &Material) -> Result<bool> {
    let private = Material::from_parts(kt, Zeroizing::new(Vec::new()), key)?;
    Ok(private.public_key()? == public.public_key()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rsa::OaepPublicEncryptingKey;

    /// RFC 5649's two plaintexts (section 6: the 20-byte key and the 7-byte
    /// "ForPasi") under the AES-256 KEK 00 01 .. 1f; the RFC's own vectors use an
    /// AES-192 KEK, which aws-lc-rs's key wrap lacks, so the expected wraps are
    /// OpenSSL's (Python `cryptography`, which reproduces the RFC's AES-192 ones).
    #[test]
    fn kwp_unwraps_known_vectors() {
        let kek: Vec<u8> = (0u8..32).collect();
        for (plain, wrapped) in [
            (
                "c37b7e6492584340bed12207808941155068f738",
                "29b7fa191c2165684374eee9f74595e2a42bace75c425b3053efa26ffe1bb32f",
            ),
            ("466f7250617369", "443b17837bb39348610d19202df8a1f9"),
        ] {
            let (plain, wrapped) = (hex::decode(plain).unwrap(), hex::decode(wrapped).unwrap());
            assert_eq!(&kwp_unwrap(&kek, &wrapped).unwrap()[..], &plain[..]);
            assert_eq!(kwp_wrap(&kek, &plain).unwrap(), wrapped);
            let mut bad = wrapped.clone();
            bad[3] ^= 1;
            assert_eq!(
                kwp_unwrap(&kek, &bad).unwrap_err().to_string(),
                "kwp: unwrap failed"
            );
            assert_eq!(
                kwp_unwrap(&kek[..16], &wrapped).unwrap_err().to_string(),
                "expected ephemeral AES key to be 256-bit"
            );
        }
    }

    fn wrap_for(
        wrapping: &Material,
        hash: &'static OaepAlgorithm,
        eph: &[u8],
        key: &[u8],
    ) -> Vec<u8> {
        let (_, private) = wrapping.rsa().unwrap();
        let public = OaepPublicEncryptingKey::new(private.public_key()).unwrap();
        let mut out = vec![0u8; public.ciphertext_size()];
        let n = public.encrypt(hash, eph, &mut out, None).unwrap().len();
        out.truncate(n);
        out.extend(kwp_wrap(&[7u8; 32], key).unwrap());
        out
    }

    #[test]
    fn oaep_and_kwp_open_an_import() {
        let (wrapping, _) = Material::generate(KeyType::Rsa4096, 0).unwrap();
        for h in ["sha1", "SHA256", "SHA384", "SHA512"] {
            let alg = oaep_hash(h).unwrap();
            let ct = wrap_for(
                &wrapping,
                alg,
                &[7u8; 32],
                b"0123456789abcdef0123456789abcdef",
            );
            assert_eq!(ct.len(), 512 + 40);
            let key = unwrap(&wrapping, alg, &ct).unwrap();
            assert_eq!(&key[..], b"0123456789abcdef0123456789abcdef");
        }
        let sha256 = oaep_hash("SHA256").unwrap();
        let sha1 = oaep_hash("SHA1").unwrap();
        let ct = wrap_for(&wrapping, sha256, &[7u8; 32], &[1u8; 32]);
        assert_eq!(
            unwrap(&wrapping, sha1, &ct).unwrap_err().to_string(),
            "crypto/rsa: decryption error"
        );
        assert_eq!(
            unwrap(&wrapping, sha256, &ct[..512])
                .unwrap_err()
                .to_string(),
            "provided ciphertext is too short"
        );
        let short = wrap_for(&wrapping, sha256, &[7u8; 16], &[1u8; 32]);
        assert_eq!(
            unwrap(&wrapping, sha256, &short).unwrap_err().to_string(),
            "expected ephemeral AES key to be 256-bit"
        );
        assert_eq!(
            oaep_hash("MD5").unwrap_err().to_string(),
            "unknown hash function: MD5"
        );
        assert!(oaep_hash("SHA224").is_err());
    }

    #[test]
    fn material_is_parsed_as_openbao_does() {
        assert_eq!(
            material_key(KeyType::Aes256Gcm96, &[1; 16])
                .unwrap_err()
                .to_string(),
            "error importing key: invalid key size 16 bytes for key type aes256-gcm96"
        );
        assert_eq!(
            material_key(KeyType::Aes128Gcm96, &[1; 16]).unwrap().len(),
            16
        );
        assert!(material_key(KeyType::Hmac, &[1; 31]).is_err());
        assert_eq!(material_key(KeyType::Hmac, &[1; 64]).unwrap().len(), 64);
        let ed = Ed25519KeyPair::generate().unwrap();
        let ed_der = ed.to_pkcs8().unwrap();
        let seed = material_key(KeyType::Ed25519, ed_der.as_ref()).unwrap();
        let back =
            Material::from_parts(KeyType::Ed25519, Zeroizing::new(vec![0; 32]), &seed).unwrap();
        use aws_lc_rs::signature::KeyPair as _;
        assert_eq!(
            back.ed25519().unwrap().public_key().as_ref(),
            ed.public_key().as_ref()
        );
        let p256 = EcdsaKeyPair::generate(ecdsa_signing(KeyType::EcdsaP256))
            .unwrap()
            .to_pkcs8v1()
            .unwrap();
        assert!(material_key(KeyType::EcdsaP256, p256.as_ref()).is_ok());
        assert_eq!(
            material_key(KeyType::EcdsaP384, p256.as_ref())
                .unwrap_err()
                .to_string(),
            "error importing key: invalid curve: expected P-384, got P-256"
        );
        assert_eq!(
            material_key(KeyType::Ed25519, p256.as_ref())
                .unwrap_err()
                .to_string(),
            "error importing key: invalid key type: expected ed25519, got *ecdsa.PrivateKey"
        );
        assert_eq!(
            material_key(KeyType::Rsa2048, ed_der.as_ref())
                .unwrap_err()
                .to_string(),
            "error importing key: invalid key type: expected rsa-2048, got ed25519.PrivateKey"
        );
        let e = material_key(KeyType::EcdsaP256, b"secret-not-a-key").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("error importing key: error parsing asymmetric key")
        );
        assert!(!e.to_string().contains("secret"));
    }

    /// A public-key-only version (OpenBao's `public_key` import): it verifies what
    /// the private key signed and RSA-encrypts to it, but refuses to sign, decrypt or
    /// export private material; foreign keys are refused with OpenBao's texts.
    #[test]
    fn public_keys_import_verify_and_refuse_private_operations() {
        use crate::transit::export::{self, ExportType};
        use crate::transit::sign::{self, Options};
        let opts = Options::default();
        for kt in [KeyType::Ed25519, KeyType::EcdsaP256, KeyType::Rsa2048] {
            let (full, _) = Material::generate(kt, 0).unwrap();
            let pem_text = full.public_key().unwrap().unwrap();
            let pem_text = if kt == KeyType::Ed25519 {
                export::export(kt, &full, ExportType::Public, "pem").unwrap()
            } else {
                pem_text
            };
            let spki = public_material(kt, &pem_text).unwrap();
            let (public, bytes) = Material::import_public(kt, &spki).unwrap();
            assert!(public.is_public_only());
            let back = Material::from_bytes(kt, &bytes).unwrap();
            assert!(back.is_public_only());
            assert_eq!(
                back.public_key().unwrap(),
                full.public_key().unwrap(),
                "{kt}"
            );
            let sig = sign::sign(&full, false, &[], b"msg", &opts)
                .unwrap()
                .signature;
            assert!(
                sign::verify(&back, false, &[], b"msg", &sig, &opts).unwrap(),
                "{kt}"
            );
            assert!(
                !sign::verify(&back, false, &[], b"other", &sig, &opts).unwrap(),
                "{kt}"
            );
            assert_eq!(
                sign::sign(&back, false, &[], b"msg", &opts)
                    .err()
                    .unwrap()
                    .to_string(),
                "requested version for signing does not contain a private part"
            );
            assert_eq!(
                export::export(kt, &back, ExportType::Signing, "")
                    .unwrap_err()
                    .to_string(),
                "private key not imported for key version selected"
            );
            assert_eq!(
                export::export(kt, &back, ExportType::Public, "").unwrap(),
                export::export(kt, &full, ExportType::Public, "").unwrap(),
                "{kt}"
            );
            let pkcs8 = match kt {
                KeyType::Ed25519 => {
                    let seed = full.ed25519_go_private().unwrap();
                    material_key(
                        kt,
                        Ed25519KeyPair::from_seed_unchecked(&seed[..32])
                            .unwrap()
                            .to_pkcs8v1()
                            .unwrap()
                            .as_ref(),
                    )
                    .unwrap()
                }
                _ => material_key(
                    kt,
                    &crate::transit::b64::decode(
                        &export::export(kt, &full, ExportType::Signing, "der").unwrap(),
                    )
                    .unwrap(),
                )
                .unwrap(),
            };
            assert!(completes(kt, &pkcs8, &back).unwrap(), "{kt}");
            let (other, _) = Material::generate(kt, 0).unwrap();
            assert!(!completes(kt, &pkcs8, &other).unwrap(), "{kt}");
            if kt == KeyType::Rsa2048 {
                let ct = crate::transit::oaep::encrypt(&back, b"to the public key").unwrap();
                assert_eq!(
                    &*crate::transit::oaep::decrypt(&full, &ct).unwrap(),
                    b"to the public key"
                );
                assert_eq!(
                    crate::transit::oaep::decrypt(&back, &ct)
                        .unwrap_err()
                        .to_string(),
                    "requested version for decryption does not contain a private part"
                );
            }
        }
        let (ec384, _) = Material::generate(KeyType::EcdsaP384, 0).unwrap();
        let (rsa4096, _) = Material::generate(KeyType::Rsa4096, 0).unwrap();
        let (ed, _) = Material::generate(KeyType::Ed25519, 0).unwrap();
        let ed_pem = crate::transit::export::export(
            KeyType::Ed25519,
            &ed,
            crate::transit::export::ExportType::Public,
            "pem",
        )
        .unwrap();
        let err = |kt, text: &str| public_material(kt, text).unwrap_err().to_string();
        assert_eq!(
            err(KeyType::EcdsaP256, "nope"),
            "error parsing public key: not in PEM format"
        );
        assert_eq!(
            err(KeyType::EcdsaP256, &ec384.public_key().unwrap().unwrap()),
            "invalid curve: expected P-256, got P-384"
        );
        assert_eq!(
            err(KeyType::Rsa2048, &rsa4096.public_key().unwrap().unwrap()),
            "invalid key size: expected 256 bytes, got 512 bytes"
        );
        assert_eq!(
            err(KeyType::Rsa2048, &ed_pem),
            "invalid key type: expected rsa-2048, got ed25519.PublicKey"
        );
        assert_eq!(
            err(
                KeyType::Ed25519,
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
            ),
            "error parsing public key: x509: failed to parse public key"
        );
    }
}
