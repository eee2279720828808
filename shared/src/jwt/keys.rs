//! Verification key sets: the public keys a JWT may be signed with, parsed from an
//! issuer's JWKS document (RFC 7517) or from PEM public keys. Each key is parsed once,
//! into an aws-lc-rs [`ParsedPublicKey`] per algorithm it may verify, when the set is
//! built (at JWKS fetch or config time), so a login only checks a signature.
//!
//! Only keys that can verify something are kept: RSA of 2048 to 8192 bits with an odd
//! modulus and an odd exponent of at least 3, EC points on P-256 or P-384, Ed25519.
//! Symmetric (`oct`) keys and encryption keys are dropped, so an HMAC algorithm can
//! never be checked against a published key (the "HS256 with the public key" attack).
//! PEM keys must be public keys (`PUBLIC KEY` or `RSA PUBLIC KEY`): a private key or a
//! certificate is refused, never stored.

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use jsonwebtoken::Algorithm;
use serde_json::Value;

/// The asymmetric algorithms Sigil can verify; `jwt_supported_algs` is a subset.
/// HMAC algorithms and `none` are never accepted.
pub const ASYMMETRIC_ALGS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Parses an algorithm name from `jwt_supported_algs`: one of [`ASYMMETRIC_ALGS`].
pub fn parse_alg(name: &str) -> Option<Algorithm> {
    let alg: Algorithm = name.parse().ok()?;
    ASYMMETRIC_ALGS.contains(&alg).then_some(alg)
}

/// Most keys taken from one JWKS document or one PEM list.
pub const MAX_KEYS: usize = 100;

/// Largest JWKS or discovery document read, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// Largest RSA modulus accepted, in bits.
pub const MAX_RSA_BITS: usize = 8192;

/// The RSA signature algorithms, with aws-lc-rs's parameters for each.
const RSA_ALGS: [(Algorithm, &sig::RsaParameters); 6] = [
    (Algorithm::RS256, &sig::RSA_PKCS1_2048_8192_SHA256),
    (Algorithm::RS384, &sig::RSA_PKCS1_2048_8192_SHA384),
    (Algorithm::RS512, &sig::RSA_PKCS1_2048_8192_SHA512),
    (Algorithm::PS256, &sig::RSA_PSS_2048_8192_SHA256),
    (Algorithm::PS384, &sig::RSA_PSS_2048_8192_SHA384),
    (Algorithm::PS512, &sig::RSA_PSS_2048_8192_SHA512),
];

/// One verification key.
#[derive(Clone)]
pub struct VerifyKey {
    /// The key ID (`kid`), when the JWKS gives one.
    pub kid: Option<String>,
    /// The algorithm the JWKS pins the key to (`alg`), if any.
    pub alg: Option<Algorithm>,
    /// The key, parsed for each algorithm it may verify.
    parsed: Vec<(Algorithm, ParsedPublicKey)>,
}

/// `Debug` shows the key ID and algorithms, never key material.
impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field(
                "algs",
                &self.parsed.iter().map(|(a, _)| a).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl VerifyKey {
    /// Whether `signature` over `message` verifies with this key under `alg` (false
    /// when the key is not one for `alg`).
    pub fn verifies(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        self.parsed
            .iter()
            .find(|(a, _)| *a == alg)
            .is_some_and(|(_, k)| k.verify_sig(message, signature).is_ok())
    }
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

/// Why one key is unusable. Messages never carry key material.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// Not one PEM block.
    #[error("is not a single PEM block")]
    NotPem,
    /// A private key PEM.
    #[error("is a private key; give the public key only (a PUBLIC KEY PEM)")]
    PrivateKey,
    /// An X.509 certificate PEM.
    #[error(
        "is a certificate; give its public key as a PUBLIC KEY PEM \
         (openssl x509 -pubkey -noout)"
    )]
    Certificate,
    /// Another PEM label.
    #[error("is not a PUBLIC KEY or RSA PUBLIC KEY PEM")]
    NotPublicKey,
    /// A key type or curve Sigil does not verify, or a malformed key.
    #[error("is not an RSA, EC P-256/P-384 or Ed25519 public key")]
    Unsupported,
    /// An RSA modulus outside [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`], or even.
    #[error("is an RSA key that is not 2048 to 8192 bits with an odd modulus")]
    RsaSize,
    /// An RSA exponent that is even, 1, or over 33 bits.
    #[error("is an RSA key with an unusable public exponent")]
    RsaExponent,
    /// An EC point not on its curve, or of the wrong length.
    #[error("is an EC key whose point is not on its curve")]
    EcPoint,
    /// A key pinned (`alg`) to an algorithm it cannot verify, or to HMAC.
    #[error("is pinned to an algorithm it cannot verify")]
    Algorithm,
    /// Marked `"use": "enc"`.
    #[error("is an encryption key")]
    Encryption,
}

/// Why a key set could not be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum KeysError {
    /// The JWKS document is not JSON with a `keys` list.
    #[error("the JWKS document is not a JSON object with a \"keys\" list")]
    NotJwks,
    /// No usable public key in the document or list.
    #[error("no usable public key (RSA of 2048 bits or more, EC P-256/P-384 or Ed25519) found")]
    NoKeys,
    /// A PEM key is unusable (0-based position).
    #[error("key {0} {1} (keys are numbered from 0)")]
    BadPem(usize, KeyProblem),
    /// Too many keys.
    #[error("more than {MAX_KEYS} keys")]
    TooMany,
}

impl KeySet {
    /// Parses a JWKS document fetched from an issuer. Keys that are symmetric, marked
    /// `"use": "enc"`, of an unknown type, malformed, or unable to verify anything are
    /// skipped (logged by `kid`, never by content); a document with no usable key is
    /// an error.
    pub fn from_jwks(doc: &[u8]) -> Result<Self, KeysError> {
        if doc.len() > MAX_DOCUMENT_BYTES {
            return Err(KeysError::NotJwks);
        }
        let v: Value = serde_json::from_slice(doc).map_err(|_| KeysError::NotJwks)?;
        let list = v
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(KeysError::NotJwks)?;
        if list.len() > MAX_KEYS {
            return Err(KeysError::TooMany);
        }
        let mut keys = Vec::with_capacity(list.len());
        for jwk in list {
            match parse_jwk(jwk) {
                Ok(k) => keys.push(k),
                Err(problem) => {
                    let kid: String = jwk
                        .get("kid")
                        .and_then(Value::as_str)
                        .unwrap_or("-")
                        .chars()
                        .take(128)
                        .collect();
                    tracing::warn!(kid = %kid, %problem, "JWKS key skipped");
                }
            }
        }
        if keys.is_empty() {
            return Err(KeysError::NoKeys);
        }
        Ok(Self { keys })
    }

    /// Parses PEM public keys (`jwt_validation_pubkeys`, Kubernetes `pem_keys`): each
    /// one `PUBLIC KEY` (SPKI: RSA, EC P-256/P-384, Ed25519) or `RSA PUBLIC KEY`
    /// (PKCS#1) block. Every key must be usable: the error names the 0-based position
    /// of the first that is not, and why (never its content).
    pub fn from_pems(pems: &[String]) -> Result<Self, KeysError> {
        if pems.len() > MAX_KEYS {
            return Err(KeysError::TooMany);
        }
        let keys = pems
            .iter()
            .enumerate()
            .map(|(i, p)| parse_pem(p).map_err(|e| KeysError::BadPem(i, e)))
            .collect::<Result<Vec<_>, _>>()?;
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

fn b64url(v: Option<&Value>) -> Result<Vec<u8>, KeyProblem> {
    let s = v.and_then(Value::as_str).ok_or(KeyProblem::Unsupported)?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| KeyProblem::Unsupported)
}

fn parse_jwk(v: &Value) -> Result<VerifyKey, KeyProblem> {
    if v.get("use").and_then(Value::as_str) == Some("enc") {
        return Err(KeyProblem::Encryption);
    }
    let kid = match v.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(KeyProblem::Unsupported),
    };
    let alg = match v.get("alg") {
        None | Some(Value::Null) => None,
        Some(Value::String(a)) => Some(parse_alg(a).ok_or(KeyProblem::Algorithm)?),
        Some(_) => return Err(KeyProblem::Algorithm),
    };
    let crv = v.get("crv").and_then(Value::as_str);
    // Only public-key types: an `oct` key would turn into an HMAC secret.
    let parsed = match (v.get("kty").and_then(Value::as_str), crv) {
        (Some("RSA"), _) => rsa(&b64url(v.get("n"))?, &b64url(v.get("e"))?, alg)?,
        (Some("EC"), Some(crv @ ("P-256" | "P-384"))) => {
            let (x, y) = (b64url(v.get("x"))?, b64url(v.get("y"))?);
            let len = if crv == "P-256" { 32 } else { 48 };
            if x.len() != len || y.len() != len {
                return Err(KeyProblem::EcPoint);
            }
            let point: Vec<u8> = [&[4u8][..], &x, &y].concat();
            ec(&point, alg)?
        }
        (Some("OKP"), Some("Ed25519")) => ed25519(&b64url(v.get("x"))?, alg)?,
        _ => return Err(KeyProblem::Unsupported),
    };
    Ok(VerifyKey { kid, alg, parsed })
}

fn parse_pem(text: &str) -> Result<VerifyKey, KeyProblem> {
    let t = text.trim();
    if !t.starts_with("-----BEGIN ") || !t.ends_with("-----") {
        return Err(KeyProblem::NotPem);
    }
    let mut blocks = pem::parse_many(t).map_err(|_| KeyProblem::NotPem)?;
    let block = match (blocks.pop(), blocks.is_empty()) {
        (Some(b), true) => b,
        _ => return Err(KeyProblem::NotPem),
    };
    let der = block.contents();
    let parsed = match block.tag() {
        "PUBLIC KEY" => spki(der)?,
        "RSA PUBLIC KEY" => rsa_der(der)?,
        tag if tag.contains("PRIVATE KEY") => return Err(KeyProblem::PrivateKey),
        tag if tag.contains("CERTIFICATE") => return Err(KeyProblem::Certificate),
        _ => return Err(KeyProblem::NotPublicKey),
    };
    Ok(VerifyKey {
        kid: None,
        alg: None,
        parsed,
    })
}

/// An SPKI public key: RSA, EC P-256, EC P-384 or Ed25519, tried in that order (the
/// parsers check the key type and curve named in the SPKI).
fn spki(der: &[u8]) -> Result<Vec<(Algorithm, ParsedPublicKey)>, KeyProblem> {
    if aws_lc_rs::rsa::PublicKey::from_der(der).is_ok() {
        return rsa_der(der);
    }
    for (alg, params) in [
        (Algorithm::ES256, &sig::ECDSA_P256_SHA256_FIXED),
        (Algorithm::ES384, &sig::ECDSA_P384_SHA384_FIXED),
    ] {
        if let Ok(k) = ParsedPublicKey::new(params, der) {
            return Ok(vec![(alg, k)]);
        }
    }
    ed25519(der, None).map_err(|_| KeyProblem::Unsupported)
}

/// An RSA public key in DER (PKCS#1 `RSAPublicKey` or SPKI).
fn rsa_der(der: &[u8]) -> Result<Vec<(Algorithm, ParsedPublicKey)>, KeyProblem> {
    let key = aws_lc_rs::rsa::PublicKey::from_der(der).map_err(|_| KeyProblem::Unsupported)?;
    rsa(
        key.modulus().big_endian_without_leading_zero(),
        key.exponent().big_endian_without_leading_zero(),
        None,
    )
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    &b[start..]
}

/// An RSA key from its modulus and exponent (big-endian), parsed for each RSA
/// algorithm (or only the pinned one).
fn rsa(
    n: &[u8],
    e: &[u8],
    pinned: Option<Algorithm>,
) -> Result<Vec<(Algorithm, ParsedPublicKey)>, KeyProblem> {
    let (n, e) = (strip_zeros(n), strip_zeros(e));
    let bits = n
        .first()
        .map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize);
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) || n.last().is_none_or(|b| b % 2 == 0) {
        return Err(KeyProblem::RsaSize);
    }
    // aws-lc verifies with exponents of at most 33 bits; 1 and even ones verify nothing.
    let e_bits = e
        .first()
        .map_or(0, |top| e.len() * 8 - top.leading_zeros() as usize);
    if e_bits > 33 || e == [1] || e.last().is_none_or(|b| b % 2 == 0) {
        return Err(KeyProblem::RsaExponent);
    }
    let components = RsaPublicKeyComponents { n, e };
    let parsed = RSA_ALGS
        .iter()
        .filter(|(a, _)| pinned.is_none_or(|p| p == *a))
        .map(|(a, params)| {
            components
                .to_parsed_public_key(params)
                .map(|k| (*a, k))
                .map_err(|_| KeyProblem::Unsupported)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if parsed.is_empty() {
        return Err(KeyProblem::Algorithm);
    }
    Ok(parsed)
}

/// An EC key (uncompressed point or SPKI) on P-256 or P-384; the curve decides the
/// algorithm.
fn ec(
    bytes: &[u8],
    pinned: Option<Algorithm>,
) -> Result<Vec<(Algorithm, ParsedPublicKey)>, KeyProblem> {
    let (alg, params) = if bytes.len() == 65 {
        (Algorithm::ES256, &sig::ECDSA_P256_SHA256_FIXED)
    } else {
        (Algorithm::ES384, &sig::ECDSA_P384_SHA384_FIXED)
    };
    if pinned.is_some_and(|p| p != alg) {
        return Err(KeyProblem::Algorithm);
    }
    let key = ParsedPublicKey::new(params, bytes).map_err(|_| KeyProblem::EcPoint)?;
    Ok(vec![(alg, key)])
}

/// An Ed25519 key (32 raw bytes or SPKI).
fn ed25519(
    bytes: &[u8],
    pinned: Option<Algorithm>,
) -> Result<Vec<(Algorithm, ParsedPublicKey)>, KeyProblem> {
    if pinned.is_some_and(|p| p != Algorithm::EdDSA) {
        return Err(KeyProblem::Algorithm);
    }
    let key = ParsedPublicKey::new(&sig::ED25519, bytes).map_err(|_| KeyProblem::Unsupported)?;
    Ok(vec![(Algorithm::EdDSA, key)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
    use aws_lc_rs::signature::KeyPair as _;

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    }

    fn pem(tag: &str, der: &[u8]) -> String {
        pem::encode(&pem::Pem::new(tag, der.to_vec()))
    }

    fn rsa_pair(size: aws_lc_rs::rsa::KeySize) -> aws_lc_rs::rsa::KeyPair {
        aws_lc_rs::rsa::KeyPair::generate(size).unwrap()
    }

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
            KeysError::BadPem(0, KeyProblem::NotPem)
        );
    }

    #[test]
    fn private_keys_and_certificates_are_not_public_keys() {
        let kp = rsa_pair(aws_lc_rs::rsa::KeySize::Rsa2048);
        let pkcs8 = AsDer::<Pkcs8V1Der>::as_der(&kp).unwrap();
        let spki = AsDer::<PublicKeyX509Der>::as_der(kp.public_key()).unwrap();
        let public = pem("PUBLIC KEY", spki.as_ref());
        let pkcs1 = pem("RSA PUBLIC KEY", kp.public_key().as_ref());
        assert_eq!(
            KeySet::from_pems(&[public.clone(), pkcs1]).unwrap().len(),
            2
        );
        for (text, problem) in [
            (pem("PRIVATE KEY", pkcs8.as_ref()), KeyProblem::PrivateKey),
            (pem("RSA PRIVATE KEY", b"\x30\x00"), KeyProblem::PrivateKey),
            (pem("EC PRIVATE KEY", b"\x30\x00"), KeyProblem::PrivateKey),
            (pem("CERTIFICATE", spki.as_ref()), KeyProblem::Certificate),
            (pem("X509 CRL", spki.as_ref()), KeyProblem::NotPublicKey),
            (format!("{public}{public}"), KeyProblem::NotPem),
        ] {
            let err = KeySet::from_pems(&[public.clone(), text]).unwrap_err();
            assert_eq!(err, KeysError::BadPem(1, problem));
            assert!(!err.to_string().contains("MII"), "no key material: {err}");
        }
    }

    #[test]
    fn rsa_keys_under_2048_bits_or_with_bad_exponents_are_refused() {
        let small = rsa_pair(aws_lc_rs::rsa::KeySize::Rsa2048);
        let n = small.public_key().modulus();
        let n = n.big_endian_without_leading_zero();
        // A 1024-bit modulus (odd): too small.
        let mut short = n[..128].to_vec();
        short[127] |= 1;
        assert_eq!(
            rsa(&short, &[1, 0, 1], None).unwrap_err(),
            KeyProblem::RsaSize
        );
        assert_eq!(rsa(&[0xc5], &[3], None).unwrap_err(), KeyProblem::RsaSize);
        assert_eq!(rsa(n, &[1], None).unwrap_err(), KeyProblem::RsaExponent);
        assert_eq!(
            rsa(n, &[1, 0, 0], None).unwrap_err(),
            KeyProblem::RsaExponent
        );
        assert_eq!(rsa(n, &[], None).unwrap_err(), KeyProblem::RsaExponent);
        assert_eq!(rsa(n, &[1, 0, 1], None).unwrap().len(), 6);
        assert_eq!(rsa(n, &[1, 0, 1], Some(Algorithm::PS256)).unwrap().len(), 1);
        // From a JWKS: skipped, and no usable key left is an error.
        let doc = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "tiny", "n": b64(&[0xc5]), "e": "AQAB"},
            {"kty": "RSA", "kid": "e1", "n": b64(n), "e": "AQ"},
            {"kty": "RSA", "kid": "1024", "n": b64(&short), "e": "AQAB"},
        ]});
        assert_eq!(
            KeySet::from_jwks(doc.to_string().as_bytes()).unwrap_err(),
            KeysError::NoKeys
        );
        let mut doc = doc;
        doc["keys"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"kty": "RSA", "kid": "ok", "n": b64(n), "e": "AQAB"}));
        let set = KeySet::from_jwks(doc.to_string().as_bytes()).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.has_kid("ok"));
        // A 1024-bit PEM key is refused at config.
        let weak = pem("RSA PUBLIC KEY", &rsa_pkcs1_der(&short, &[1, 0, 1]));
        assert_eq!(
            KeySet::from_pems(&[weak]).unwrap_err(),
            KeysError::BadPem(0, KeyProblem::RsaSize)
        );
    }

    /// A minimal DER `RSAPublicKey` (lengths under 65536 bytes).
    fn rsa_pkcs1_der(n: &[u8], e: &[u8]) -> Vec<u8> {
        fn int(v: &[u8]) -> Vec<u8> {
            let mut body = Vec::new();
            if v[0] & 0x80 != 0 {
                body.push(0);
            }
            body.extend_from_slice(v);
            tlv(0x02, &body)
        }
        fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            match body.len() {
                l if l < 128 => out.push(l as u8),
                l if l < 256 => out.extend([0x81, l as u8]),
                l => out.extend([0x82, (l >> 8) as u8, l as u8]),
            }
            out.extend_from_slice(body);
            out
        }
        tlv(0x30, &[int(n), int(e)].concat())
    }

    #[test]
    fn ec_points_off_the_curve_are_refused() {
        // RFC 7515 A.3's P-256 key, then with y changed in its first bits.
        let x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
        let y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
        let good = serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y});
        assert!(parse_jwk(&good).is_ok());
        let off = serde_json::json!({"kty": "EC", "crv": "P-256", "x": x,
            "y": "y_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        assert_eq!(parse_jwk(&off).unwrap_err(), KeyProblem::EcPoint);
        let short = serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": y});
        assert_eq!(parse_jwk(&short).unwrap_err(), KeyProblem::EcPoint);
        let pinned_wrong =
            serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "alg": "ES384"});
        assert_eq!(parse_jwk(&pinned_wrong).unwrap_err(), KeyProblem::Algorithm);
        let hmac = serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "alg": "HS256"});
        assert_eq!(parse_jwk(&hmac).unwrap_err(), KeyProblem::Algorithm);
    }

    #[test]
    fn parsed_keys_verify_what_they_signed() {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let kp = rsa_pair(aws_lc_rs::rsa::KeySize::Rsa2048);
        let mut s = vec![0; kp.public_modulus_len()];
        kp.sign(&sig::RSA_PSS_SHA384, &rng, b"msg", &mut s).unwrap();
        let spki = AsDer::<PublicKeyX509Der>::as_der(kp.public_key()).unwrap();
        let set = KeySet::from_pems(&[pem("PUBLIC KEY", spki.as_ref())]).unwrap();
        let k = set.candidates(None, Algorithm::PS384).next().unwrap();
        assert!(k.verifies(Algorithm::PS384, b"msg", &s));
        assert!(!k.verifies(Algorithm::PS384, b"msg2", &s));
        assert!(!k.verifies(Algorithm::RS384, b"msg", &s));
        assert!(!k.verifies(Algorithm::ES256, b"msg", &s));

        let ed = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
        let ed_spki = AsDer::<PublicKeyX509Der>::as_der(ed.public_key()).unwrap();
        let set = KeySet::from_pems(&[pem("PUBLIC KEY", ed_spki.as_ref())]).unwrap();
        let s = ed.sign(b"msg");
        let k = set.candidates(None, Algorithm::EdDSA).next().unwrap();
        assert!(k.verifies(Algorithm::EdDSA, b"msg", s.as_ref()));

        let ec =
            aws_lc_rs::signature::EcdsaKeyPair::generate(&sig::ECDSA_P384_SHA384_FIXED_SIGNING)
                .unwrap();
        let ec_spki = AsDer::<PublicKeyX509Der>::as_der(ec.public_key()).unwrap();
        let set = KeySet::from_pems(&[pem("PUBLIC KEY", ec_spki.as_ref())]).unwrap();
        let s = ec.sign(&rng, b"msg").unwrap();
        let k = set.candidates(None, Algorithm::ES384).next().unwrap();
        assert!(k.verifies(Algorithm::ES384, b"msg", s.as_ref()));
        assert!(!k.verifies(Algorithm::ES256, b"msg", s.as_ref()));
    }
}
