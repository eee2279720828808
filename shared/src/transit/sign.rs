//! Signatures as OpenBao's `SignWithOptions` / `VerifySignatureWithOptions` make and
//! check them, with aws-lc-rs:
//!
//! - ECDSA: the input is hashed with `hash_algorithm` (unless `prehashed`) and the
//!   digest signed as Go's `ecdsa.Sign` does: truncated to the curve order's bits, or
//!   taken whole when shorter (here: cut or left-padded with zeros to the curve's own
//!   digest length, which gives the same integer). ASN.1 DER (`asn1`) or `r || s`
//!   (`jws`, base64url without padding).
//! - Ed25519: the input itself (never hashed); derived keys sign with the key HKDF
//!   derives from Go's 64-byte private key and the context, and return its public key.
//! - RSA: PSS (default; salt `auto`: the largest salt when signing, the largest or
//!   the hash length when verifying) or PKCS#1 v1.5, over SHA-256, -384 or -512.

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ECDSA_P521_SHA512_FIXED,
    Ed25519KeyPair, KeyPair as _, RsaEncoding, RsaParameters, RsaPssSaltLength, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::aead;
use super::b64;
use super::digest::HashAlgorithm;
use super::error::{Result, TransitError};
use super::key_type::KeyType;
use super::material::Material;

/// How a signature is encoded (`marshaling_algorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marshaling {
    /// `asn1` (default): DER for ECDSA; standard base64.
    Asn1,
    /// `jws`: `r || s` for ECDSA; base64url without padding.
    Jws,
}

impl Marshaling {
    /// The marshaling Vault names `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "asn1" => Some(Self::Asn1),
            "jws" => Some(Self::Jws),
            _ => None,
        }
    }
}

/// RSA signature scheme (`signature_algorithm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsaScheme {
    /// `pss` (default).
    Pss,
    /// `pkcs1v15`.
    Pkcs1v15,
}

/// PSS salt length (`salt_length`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Salt {
    /// `auto` (default).
    Auto,
    /// `hash`: the digest's length.
    Hash,
}

/// The options of a sign or verify request.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// The hash of the input (ECDSA, RSA).
    pub hash: HashAlgorithm,
    /// The input is already a digest.
    pub prehashed: bool,
    /// RSA scheme.
    pub scheme: RsaScheme,
    /// RSA-PSS salt.
    pub salt: Salt,
    /// Signature encoding.
    pub marshaling: Marshaling,
}

impl Default for Options {
    /// Vault's defaults: SHA2-256, not prehashed, RSA-PSS with the `auto` salt, ASN.1.
    fn default() -> Self {
        Self {
            hash: HashAlgorithm::Sha2_256,
            prehashed: false,
            scheme: RsaScheme::Pss,
            salt: Salt::Auto,
            marshaling: Marshaling::Asn1,
        }
    }
}

/// A signature, and the public key of the derived key that made it (derived Ed25519).
pub struct Signed {
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// The derived public key, if any.
    pub public_key: Option<Vec<u8>>,
}

/// Encodes signature bytes for `vault:vN:` (standard base64, or base64url without
/// padding for `jws`).
pub fn encode(sig: &[u8], m: Marshaling) -> String {
    match m {
        Marshaling::Asn1 => b64::encode(sig),
        Marshaling::Jws => URL_SAFE_NO_PAD.encode(sig),
    }
}

/// Decodes a signature body (Vault: `invalid base64 signature value`).
pub fn decode(body: &str, m: Marshaling) -> Result<Vec<u8>> {
    let bad = || TransitError::invalid("invalid base64 signature value");
    match m {
        Marshaling::Asn1 => b64::decode(body).map_err(|_| bad()),
        Marshaling::Jws => URL_SAFE_NO_PAD.decode(body).map_err(|_| bad()),
    }
}

/// The input as the key signs it: hashed with `opts.hash` for ECDSA and RSA unless
/// prehashed (`none` leaves it as is).
fn prepare(kt: KeyType, input: &[u8], opts: &Options) -> Result<Vec<u8>> {
    if !kt.hashes_signature_input() || opts.prehashed || opts.hash == HashAlgorithm::None {
        return Ok(input.to_vec());
    }
    opts.hash
        .hash(input)
        .ok_or_else(|| unsupported_hash(opts.hash))
}

fn unsupported_hash(h: HashAlgorithm) -> TransitError {
    TransitError::invalid(format!("unsupported hash algorithm {}", h.name()))
}

fn ecdsa_native(kt: KeyType) -> (&'static digest::Algorithm, usize) {
    match kt {
        KeyType::EcdsaP384 => (&digest::SHA384, 48),
        KeyType::EcdsaP521 => (&digest::SHA512, 66),
        _ => (&digest::SHA256, 32),
    }
}

/// Go's `hashToInt` as a digest of the curve's own hash: the leading bytes when
/// longer, left-padded with zeros when shorter.
fn ecdsa_digest(kt: KeyType, hashed: &[u8]) -> Result<Digest> {
    let (alg, _) = ecdsa_native(kt);
    let n = alg.output_len();
    let mut d = vec![0u8; n];
    if hashed.len() >= n {
        d.copy_from_slice(&hashed[..n]);
    } else {
        d[n - hashed.len()..].copy_from_slice(hashed);
    }
    Digest::import_less_safe(&d, alg).map_err(|_| TransitError::Internal("digest import failed"))
}

fn rsa_signing(
    hash: HashAlgorithm,
    scheme: RsaScheme,
    salt: Salt,
) -> Result<&'static dyn RsaEncoding> {
    use signature::{
        RSA_PKCS1_SHA256, RSA_PKCS1_SHA384, RSA_PKCS1_SHA512, RSA_PSS_SHA256, RSA_PSS_SHA384,
        RSA_PSS_SHA512,
    };
    const MAX: RsaPssSaltLength = RsaPssSaltLength::Max;
    Ok(match (scheme, salt, hash) {
        (RsaScheme::Pkcs1v15, _, HashAlgorithm::Sha2_256) => &RSA_PKCS1_SHA256,
        (RsaScheme::Pkcs1v15, _, HashAlgorithm::Sha2_384) => &RSA_PKCS1_SHA384,
        (RsaScheme::Pkcs1v15, _, HashAlgorithm::Sha2_512) => &RSA_PKCS1_SHA512,
        (RsaScheme::Pss, Salt::Hash, HashAlgorithm::Sha2_256) => &RSA_PSS_SHA256,
        (RsaScheme::Pss, Salt::Hash, HashAlgorithm::Sha2_384) => &RSA_PSS_SHA384,
        (RsaScheme::Pss, Salt::Hash, HashAlgorithm::Sha2_512) => &RSA_PSS_SHA512,
        (RsaScheme::Pss, Salt::Auto, HashAlgorithm::Sha2_256) => {
            &const { RSA_PSS_SHA256.with_pss_salt_length(MAX) }
        }
        (RsaScheme::Pss, Salt::Auto, HashAlgorithm::Sha2_384) => {
            &const { RSA_PSS_SHA384.with_pss_salt_length(MAX) }
        }
        (RsaScheme::Pss, Salt::Auto, HashAlgorithm::Sha2_512) => {
            &const { RSA_PSS_SHA512.with_pss_salt_length(MAX) }
        }
        (_, _, h) => return Err(rsa_hash_unsupported(h)),
    })
}

fn rsa_hash_unsupported(h: HashAlgorithm) -> TransitError {
    TransitError::invalid(format!(
        "hash algorithm {} is not supported for RSA signatures (Sigil: sha2-256, sha2-384, sha2-512)",
        h.name()
    ))
}

/// Verification parameters; PSS with `auto` salt gives two (largest, hash length).
fn rsa_verifying(
    hash: HashAlgorithm,
    scheme: RsaScheme,
    salt: Salt,
) -> Result<&'static [&'static RsaParameters]> {
    use signature::{
        RSA_PKCS1_2048_8192_SHA256 as P256, RSA_PKCS1_2048_8192_SHA384 as P384,
        RSA_PKCS1_2048_8192_SHA512 as P512, RSA_PSS_2048_8192_SHA256 as S256,
        RSA_PSS_2048_8192_SHA384 as S384, RSA_PSS_2048_8192_SHA512 as S512,
    };
    const MAX: RsaPssSaltLength = RsaPssSaltLength::Max;
    Ok(match (scheme, salt, hash) {
        (RsaScheme::Pkcs1v15, _, HashAlgorithm::Sha2_256) => &[&P256],
        (RsaScheme::Pkcs1v15, _, HashAlgorithm::Sha2_384) => &[&P384],
        (RsaScheme::Pkcs1v15, _, HashAlgorithm::Sha2_512) => &[&P512],
        (RsaScheme::Pss, Salt::Hash, HashAlgorithm::Sha2_256) => &[&S256],
        (RsaScheme::Pss, Salt::Hash, HashAlgorithm::Sha2_384) => &[&S384],
        (RsaScheme::Pss, Salt::Hash, HashAlgorithm::Sha2_512) => &[&S512],
        (RsaScheme::Pss, Salt::Auto, HashAlgorithm::Sha2_256) => {
            &[&const { S256.with_pss_salt_length(MAX) }, &S256]
        }
        (RsaScheme::Pss, Salt::Auto, HashAlgorithm::Sha2_384) => {
            &[&const { S384.with_pss_salt_length(MAX) }, &S384]
        }
        (RsaScheme::Pss, Salt::Auto, HashAlgorithm::Sha2_512) => {
            &[&const { S512.with_pss_salt_length(MAX) }, &S512]
        }
        (_, _, h) => return Err(rsa_hash_unsupported(h)),
    })
}

fn rsa_digest(hash: HashAlgorithm, hashed: &[u8]) -> Result<Digest> {
    let alg = hash
        .digest_algorithm()
        .ok_or_else(|| rsa_hash_unsupported(hash))?;
    Digest::import_less_safe(hashed, alg)
        .map_err(|_| TransitError::invalid("crypto/rsa: input must be hashed with given hash"))
}

/// The derived Ed25519 key pair of `context` (OpenBao: `GetKey(context, ver, 32)` as
/// the seed of `ed25519.GenerateKey`).
fn ed25519_derived(m: &Material, context: &[u8]) -> Result<Ed25519KeyPair> {
    let ikm = m
        .ed25519_go_private()
        .ok_or(TransitError::Internal("not an ed25519 key"))?;
    let seed = aead::derive(&ikm, context, 32)
        .map_err(|e| TransitError::invalid(format!("error deriving key: {e}")))?;
    Ed25519KeyPair::from_seed_unchecked(&seed)
        .map_err(|_| TransitError::Internal("derived seed rejected"))
}

/// The public key of version material `m` derived for `context` (derived Ed25519),
/// base64 as a key read shows it.
pub fn derived_public_key(m: &Material, context: &[u8]) -> Result<String> {
    Ok(b64::encode(
        ed25519_derived(m, context)?.public_key().as_ref(),
    ))
}

/// Signs `input` with version material `m`.
pub fn sign(
    m: &Material,
    derived: bool,
    context: &[u8],
    input: &[u8],
    opts: &Options,
) -> Result<Signed> {
    let kt = m.key_type();
    if m.is_public_only() {
        return Err(TransitError::invalid(
            "requested version for signing does not contain a private part",
        ));
    }
    let data = prepare(kt, input, opts)?;
    let failed = |_| TransitError::Internal("signing failed");
    let signature = match kt {
        KeyType::Ed25519 if derived => {
            let pair = ed25519_derived(m, context)?;
            return Ok(Signed {
                signature: pair.sign(&data).as_ref().to_vec(),
                public_key: Some(pair.public_key().as_ref().to_vec()),
            });
        }
        KeyType::Ed25519 => m
            .ed25519()
            .ok_or(TransitError::Internal("not an ed25519 key"))?
            .sign(&data)
            .as_ref()
            .to_vec(),
        k if k.is_ecdsa() => {
            let pair = m
                .ecdsa()
                .ok_or(TransitError::Internal("not an ecdsa key"))?;
            let der = pair.sign_digest(&ecdsa_digest(k, &data)?).map_err(failed)?;
            match opts.marshaling {
                Marshaling::Asn1 => der.as_ref().to_vec(),
                Marshaling::Jws => der_to_fixed(der.as_ref(), ecdsa_native(k).1)
                    .ok_or(TransitError::Internal("signature encoding"))?,
            }
        }
        _ => {
            let (pair, _) = m.rsa().ok_or(TransitError::Internal("not an rsa key"))?;
            let enc = rsa_signing(opts.hash, opts.scheme, opts.salt)?;
            let digest = rsa_digest(opts.hash, &data)?;
            let mut sig = vec![0u8; pair.public_modulus_len()];
            pair.sign_digest(enc, &digest, &mut sig).map_err(failed)?;
            sig
        }
    };
    Ok(Signed {
        signature,
        public_key: None,
    })
}

/// Checks `sig` (decoded bytes) over `input` with version material `m`. A malformed
/// ASN.1 ECDSA signature is an error with Vault's text; any other mismatch is `false`.
pub fn verify(
    m: &Material,
    derived: bool,
    context: &[u8],
    input: &[u8],
    sig: &[u8],
    opts: &Options,
) -> Result<bool> {
    let kt = m.key_type();
    let data = prepare(kt, input, opts)?;
    match kt {
        KeyType::Ed25519 => {
            let public = if derived {
                ed25519_derived(m, context)?.public_key().as_ref().to_vec()
            } else {
                m.verifying_key()
                    .ok_or(TransitError::Internal("not an ed25519 key"))?
            };
            Ok(UnparsedPublicKey::new(&signature::ED25519, public)
                .verify(&data, sig)
                .is_ok())
        }
        k if k.is_ecdsa() => {
            let public = m
                .verifying_key()
                .ok_or(TransitError::Internal("not an ecdsa key"))?;
            let width = ecdsa_native(k).1;
            let fixed = match opts.marshaling {
                Marshaling::Asn1 => der_to_fixed_checked(sig, width)?,
                Marshaling::Jws => {
                    let (r, s) = sig.split_at(sig.len() / 2);
                    fixed(r, s, width)
                }
            };
            let Some(fixed) = fixed else { return Ok(false) };
            let alg = match k {
                KeyType::EcdsaP384 => &ECDSA_P384_SHA384_FIXED,
                KeyType::EcdsaP521 => &ECDSA_P521_SHA512_FIXED,
                _ => &ECDSA_P256_SHA256_FIXED,
            };
            Ok(UnparsedPublicKey::new(alg, &public)
                .verify_digest(&ecdsa_digest(k, &data)?, &fixed)
                .is_ok())
        }
        _ => {
            let public = m
                .verifying_key()
                .ok_or(TransitError::Internal("not an rsa key"))?;
            let digest = rsa_digest(opts.hash, &data)?;
            let public = public.as_slice();
            Ok(rsa_verifying(opts.hash, opts.scheme, opts.salt)?
                .iter()
                .any(|p| {
                    UnparsedPublicKey::new(*p, public)
                        .verify_digest(&digest, sig)
                        .is_ok()
                }))
        }
    }
}

/// `r || s`, each left-padded to `width`; `None` when either is longer (Go's
/// `ecdsa.Verify` then answers false).
fn fixed(r: &[u8], s: &[u8], width: usize) -> Option<Vec<u8>> {
    let trim = |x: &[u8]| -> Vec<u8> { x.iter().skip_while(|b| **b == 0).copied().collect() };
    let (r, s) = (trim(r), trim(s));
    if r.len() > width || s.len() > width {
        return None;
    }
    let mut out = vec![0u8; 2 * width];
    out[width - r.len()..width].copy_from_slice(&r);
    out[2 * width - s.len()..].copy_from_slice(&s);
    Some(out)
}

/// A DER length at `b[0..]`: (length, bytes it took). Minimal encodings only, as Go's
/// `encoding/asn1` requires (a long form for a length that fits the short one, or with
/// a leading zero byte, would let one signature take several encodings).
fn der_len(b: &[u8]) -> Option<(usize, usize)> {
    match *b.first()? {
        n if n < 0x80 => Some((usize::from(n), 1)),
        0x81 => {
            let n = usize::from(*b.get(1)?);
            (n >= 0x80).then_some((n, 2))
        }
        0x82 => {
            let n = (usize::from(*b.get(1)?) << 8) | usize::from(*b.get(2)?);
            (n >= 0x100).then_some((n, 3))
        }
        _ => None,
    }
}

/// An INTEGER's content is minimally encoded: no leading `00` before a byte below
/// `0x80`, no leading `ff` before one at or above it (Go's `checkInteger`).
fn minimal_integer(v: &[u8]) -> bool {
    match v {
        [] => false,
        [0x00, next, ..] => *next >= 0x80,
        [0xff, next, ..] => *next < 0x80,
        _ => true,
    }
}

/// `tag len value` at `b`: (value, rest).
fn der_tlv(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if *b.first()? != tag {
        return None;
    }
    let (len, took) = der_len(&b[1..])?;
    let body = b.get(1 + took..1 + took + len)?;
    Some((body, &b[1 + took + len..]))
}

/// The integers of an ECDSA-Sig-Value, and what follows the sequence.
fn der_parts(der: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (seq, rest) = der_tlv(der, 0x30)?;
    let (r, seq) = der_tlv(seq, 0x02)?;
    let (s, seq) = der_tlv(seq, 0x02)?;
    (seq.is_empty() && minimal_integer(r) && minimal_integer(s)).then_some((r, s, rest))
}

fn der_to_fixed(der: &[u8], width: usize) -> Option<Vec<u8>> {
    let (r, s, _) = der_parts(der)?;
    fixed(r, s, width)
}

/// An ASN.1 signature as Go's `asn1.Unmarshal` reads it into `(R, S)`, with Vault's
/// texts; negative integers verify as false.
fn der_to_fixed_checked(der: &[u8], width: usize) -> Result<Option<Vec<u8>>> {
    let (r, s, rest) =
        der_parts(der).ok_or_else(|| TransitError::invalid("supplied signature is invalid"))?;
    if !rest.is_empty() {
        return Err(TransitError::invalid(
            "supplied signature contains extra data",
        ));
    }
    if r[0] & 0x80 != 0 || s[0] & 0x80 != 0 {
        return Ok(None);
    }
    Ok(fixed(r, s, width))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by a fresh user's check (stop 24): a valid signature re-encoded with a
    /// long-form length or a redundant leading zero verified; Go's DER parser (and so
    /// OpenBao) refuses both.
    #[test]
    fn only_minimal_der_parses() {
        let r = [0x01u8; 32];
        let s = [0x02u8; 32];
        let sig = |seq_len: &[u8], r: &[u8], s: &[u8]| {
            let mut body = vec![0x02, u8::try_from(r.len()).unwrap()];
            body.extend_from_slice(r);
            body.extend_from_slice(&[0x02, u8::try_from(s.len()).unwrap()]);
            body.extend_from_slice(s);
            let mut out = vec![0x30];
            out.extend_from_slice(seq_len);
            out.extend_from_slice(&body);
            out
        };
        let good = sig(&[68], &r, &s);
        assert!(der_parts(&good).is_some());
        assert!(der_parts(&sig(&[0x81, 68], &r, &s)).is_none(), "long form");
        let mut padded = vec![0x00];
        padded.extend_from_slice(&r);
        assert!(
            der_parts(&sig(&[69], &padded, &s)).is_none(),
            "leading zero"
        );
        let mut high = vec![0x00, 0x80];
        high.extend_from_slice(&r[1..]);
        assert!(der_parts(&sig(&[69], &high, &s)).is_some(), "a needed zero");
        assert!(der_to_fixed_checked(&sig(&[0x81, 68], &r, &s), 32).is_err());
    }

    #[test]
    fn der_round_trip_and_hostile_input() {
        assert_eq!(
            der_parts(&[0x30, 0x06, 2, 1, 5, 2, 1, 7]).map(|p| (p.0, p.1)),
            Some((&[5u8][..], &[7u8][..]))
        );
        assert!(der_parts(&[0x30]).is_none());
        assert!(der_parts(&[0x30, 0x84, 0, 0, 0, 1]).is_none());
        assert!(der_parts(&[0x30, 0x02, 2, 0]).is_none(), "empty integer");
        assert_eq!(fixed(&[0, 0, 1], &[2], 2), Some(vec![0, 1, 0, 2]));
        assert_eq!(fixed(&[1, 2, 3], &[2], 2), None);
        assert!(
            matches!(der_to_fixed_checked(&[0x30, 0x06, 2, 1, 5, 2, 1, 7, 0], 32), Err(TransitError::Invalid(m)) if m == "supplied signature contains extra data")
        );
    }
}
