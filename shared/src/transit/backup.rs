//! `backup/:name` and `restore(/:name)` in OpenBao's format (`keysutil.Policy.Backup`,
//! `LockManager.RestorePolicy`): a backup is base64 (Go's `StdEncoding`) of the JSON
//! OpenBao writes, `{"policy": {...}, "archived_keys": {"keys": [...]}}`, so a backup
//! taken from OpenBao restores into Sigil and one from Sigil restores into OpenBao.
//!
//! - `policy`: Go's field names (`name`, `type` as OpenBao's `KeyType` number,
//!   `derived`, `kdf`, `exportable`, `min_decryption_version`, ...,
//!   `auto_rotate_period` in nanoseconds, `Imported`, `AllowImportedKeyRotation`) and
//!   `keys`: version (a decimal string) to entry, for the versions from
//!   `min_decryption_version`;
//! - `archived_keys.keys`: every version from `min_available_version` (index 0 is
//!   version `archive_min_version`; a placeholder when that is 0);
//! - an entry: `key` (base64: the raw AES/ChaCha20/HMAC key, Go's 64-byte Ed25519
//!   private key), `hmac_key` (base64), `ec_x`, `ec_y`, `ec_d` (decimal JSON numbers),
//!   `rsa_key` (Go's `rsa.PrivateKey`: `N`, `E`, `D`, `Primes`, `Precomputed`),
//!   `public_key`, `time` (RFC 3339), `creation_time` (Unix seconds).
//!
//! [`parse`] reads a backup into a [`Restored`] (checked: what Sigil cannot hold is
//! refused with a 400 naming it, and nothing is written); [`encode`] writes one.
//! Both handle key material: it never reaches an error, a log or `Debug`; JSON errors
//! give only their position.

use std::collections::BTreeMap;

use aws_lc_rs::encoding::{AsBigEndian, AsDer, EcPrivateKeyBin, Pkcs8V1Der};
use aws_lc_rs::rsa;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _};
use num_bigint::{BigInt, BigUint, Sign};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use simple_asn1::ASN1Block;
use zeroize::{Zeroize, Zeroizing};

use super::b64;
use super::error::{Result, TransitError};
use super::key_type::KeyType;
use super::material::{HMAC_SIZES, Material, ecdsa_signing};
use super::policy::{KeyPolicy, MIN_AUTO_ROTATE, Stamp, VersionMeta};

/// OpenBao's `KeyType` numbers (`sdk/helper/keysutil/policy.go`, an `iota`), in order.
const GO_TYPES: [Option<KeyType>; 12] = [
    Some(KeyType::Aes256Gcm96),
    Some(KeyType::EcdsaP256),
    Some(KeyType::Ed25519),
    Some(KeyType::Rsa2048),
    Some(KeyType::Rsa4096),
    Some(KeyType::ChaCha20Poly1305),
    Some(KeyType::EcdsaP384),
    Some(KeyType::EcdsaP521),
    Some(KeyType::Aes128Gcm96),
    Some(KeyType::Rsa3072),
    Some(KeyType::Hmac),
    None, // xchacha20-poly1305
];

/// OpenBao's `Kdf_hkdf_sha256`.
const KDF_HKDF_SHA256: i64 = 1;
/// The convergent encryption version Sigil implements (Vault's 3).
const CONVERGENT_VERSION: i64 = 3;
/// Longest decimal big integer read (a 4096-bit RSA modulus has 1,234 digits).
const MAX_DIGITS: usize = 1300;

fn go_type(kt: KeyType) -> i64 {
    GO_TYPES
        .iter()
        .position(|t| *t == Some(kt))
        .and_then(|i| i64::try_from(i).ok())
        .unwrap_or(-1)
}

fn bad(msg: impl std::fmt::Display) -> TransitError {
    TransitError::invalid(format!("invalid backup: {msg}"))
}

fn unsupported(what: impl std::fmt::Display) -> TransitError {
    TransitError::invalid(format!("{what} is not supported by Sigil"))
}

/// `backup_info` / `restore_info` as Go writes them.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct GoStamp {
    time: String,
    version: i64,
}

/// Go's `rsa.PrivateKey` (its `PublicKey` embedded: `N`, `E` at the top).
#[derive(Serialize, Deserialize)]
struct GoRsa {
    #[serde(rename = "N")]
    n: Box<RawValue>,
    #[serde(rename = "E")]
    e: i64,
    #[serde(rename = "D")]
    d: Digits,
    #[serde(rename = "Primes", default)]
    primes: Vec<Digits>,
    #[serde(rename = "Precomputed", default)]
    precomputed: Option<GoPrecomputed>,
}

/// Go's `rsa.PrecomputedValues` (read and ignored: Sigil computes them again).
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct GoPrecomputed {
    #[serde(rename = "Dp")]
    dp: Option<Digits>,
    #[serde(rename = "Dq")]
    dq: Option<Digits>,
    #[serde(rename = "Qinv")]
    qinv: Option<Digits>,
    #[serde(rename = "CRTValues")]
    crt_values: Vec<Box<RawValue>>,
}

/// OpenBao's `KeyEntry`.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct GoEntry {
    key: Option<Secret64>,
    hmac_key: Option<Secret64>,
    time: String,
    ec_x: Option<Box<RawValue>>,
    ec_y: Option<Box<RawValue>>,
    ec_d: Option<Digits>,
    rsa_key: Option<GoRsa>,
    rsa_public_key: Option<Box<RawValue>>,
    public_key: String,
    convergent_version: i64,
    creation_time: i64,
    certificate_chain: Option<Box<RawValue>>,
    external_key_ref: String,
}

/// A secret big integer (Go's `*big.Int` as a decimal JSON number), its digits
/// overwritten when dropped.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct Digits(Box<RawValue>);

impl Drop for Digits {
    fn drop(&mut self) {
        let mut s: Box<str> = std::mem::replace(&mut self.0, RawValue::NULL.to_owned()).into();
        s.zeroize();
    }
}

/// A secret base64 string (Go's `[]byte`), overwritten when dropped.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct Secret64(String);

impl Drop for Secret64 {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl GoEntry {
    /// The placeholder OpenBao keeps at index 0 of a fresh archive.
    fn placeholder() -> Self {
        Self {
            time: "0001-01-01T00:00:00Z".into(),
            ..Self::default()
        }
    }

    fn is_empty(&self) -> bool {
        self.key.is_none()
            && self.hmac_key.is_none()
            && self.ec_d.is_none()
            && self.ec_x.is_none()
            && self.rsa_key.is_none()
            && self.rsa_public_key.is_none()
    }
}

/// OpenBao's `Policy` as JSON.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct GoPolicy {
    name: String,
    #[serde(skip_serializing_if = "is_zero")]
    key_size: usize,
    keys: BTreeMap<String, GoEntry>,
    derived: bool,
    kdf: i64,
    convergent_encryption: bool,
    exportable: bool,
    min_decryption_version: i64,
    min_encryption_version: i64,
    latest_version: i64,
    archive_version: i64,
    archive_min_version: i64,
    min_available_version: i64,
    deletion_allowed: bool,
    convergent_version: i64,
    #[serde(rename = "type")]
    key_type: i64,
    backup_info: Option<GoStamp>,
    restore_info: Option<GoStamp>,
    allow_plaintext_backup: bool,
    version_template: String,
    storage_prefix: String,
    /// Nanoseconds (Go's `time.Duration`).
    auto_rotate_period: i64,
    #[serde(rename = "Imported")]
    imported: bool,
    #[serde(rename = "AllowImportedKeyRotation")]
    allow_imported_key_rotation: bool,
    soft_deleted: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct GoArchive {
    keys: Vec<GoEntry>,
}

/// OpenBao's `KeyData`.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct KeyData {
    policy: Option<GoPolicy>,
    archived_keys: Option<GoArchive>,
}

/// One version of a restored key: creation time and material in the form
/// [`Material::from_parts`] takes.
pub struct RestoredVersion {
    /// Creation time, Unix seconds.
    pub created: i64,
    /// The version's HMAC key.
    pub hmac_key: Zeroizing<Vec<u8>>,
    /// The type's key: raw bytes, Ed25519 seed, PKCS#8 DER.
    pub key: Zeroizing<Vec<u8>>,
}

/// A backup read and checked: the key's policy (named as in the backup; its
/// versions' public keys still unset) and every version's material.
pub struct Restored {
    /// The policy.
    pub policy: KeyPolicy,
    /// Version to material, every version of `policy.versions`.
    pub versions: BTreeMap<u32, RestoredVersion>,
}

impl std::fmt::Debug for Restored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Restored({}, redacted)", self.policy.name)
    }
}

impl std::fmt::Debug for RestoredVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RestoredVersion(redacted)")
    }
}

fn version(n: i64, what: &str) -> Result<u32> {
    u32::try_from(n)
        .ok()
        .filter(|v| *v <= super::policy::MAX_VERSION)
        .ok_or_else(|| bad(format!("{what} {n} out of range")))
}

/// Latest creation time a restored version may carry (Unix seconds: the end of the
/// year 9999, as RFC 3339 can write it).
const MAX_CREATION_TIME: i64 = 253_402_300_799;

/// A Go `*big.Int` written as a decimal JSON number (non-negative).
fn big(raw: &RawValue, what: &str) -> Result<BigUint> {
    let s = raw.get();
    if s.is_empty() || s.len() > MAX_DIGITS || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("{what} is not a non-negative integer")));
    }
    BigUint::parse_bytes(s.as_bytes(), 10).ok_or_else(|| bad(format!("{what} is malformed")))
}

fn big_raw(n: &BigUint) -> Result<Box<RawValue>> {
    RawValue::from_string(n.to_str_radix(10))
        .map_err(|_| TransitError::Internal("big integer encoding"))
}

fn digits(n: &BigUint) -> Result<Digits> {
    big_raw(n).map(Digits)
}

fn b64_field(s: &Option<Secret64>, what: &str) -> Result<Zeroizing<Vec<u8>>> {
    let s = &s.as_ref().ok_or_else(|| bad(format!("{what} missing")))?.0;
    b64::decode(s)
        .map(Zeroizing::new)
        .map_err(|e| bad(format!("{what}: {e}")))
}

fn field_len(kt: KeyType) -> usize {
    match kt {
        KeyType::EcdsaP384 => 48,
        KeyType::EcdsaP521 => 66,
        _ => 32,
    }
}

fn left_pad(b: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
    if b.len() > len {
        return Err(bad("ec key part too long for its curve"));
    }
    let mut out = Zeroizing::new(vec![0u8; len - b.len()]);
    out.extend_from_slice(b);
    Ok(out)
}

fn int(n: &BigUint) -> ASN1Block {
    ASN1Block::Integer(0, BigInt::from_biguint(Sign::Plus, n.clone()))
}

/// PKCS#1 `RSAPrivateKey` DER of Go's key parts (CRT values computed here).
fn rsa_pkcs1(k: &GoRsa) -> Result<Zeroizing<Vec<u8>>> {
    let [p, q] = k.primes.as_slice() else {
        return Err(unsupported("an RSA key without exactly two primes"));
    };
    let (n, d, p, q) = (
        big(&k.n, "rsa N")?,
        big(&k.d.0, "rsa D")?,
        big(&p.0, "rsa prime")?,
        big(&q.0, "rsa prime")?,
    );
    let e = BigUint::from(u64::try_from(k.e).map_err(|_| bad("rsa E is not a positive integer"))?);
    let one = BigUint::from(1u8);
    if p <= one || q <= one {
        return Err(bad("rsa primes are malformed"));
    }
    let dp = &d % (&p - &one);
    let dq = &d % (&q - &one);
    let qinv = q
        .modinv(&p)
        .ok_or_else(|| bad("rsa primes are malformed"))?;
    let seq = ASN1Block::Sequence(
        0,
        vec![
            int(&BigUint::from(0u8)),
            int(&n),
            int(&e),
            int(&d),
            int(&p),
            int(&q),
            int(&dp),
            int(&dq),
            int(&qinv),
        ],
    );
    simple_asn1::to_der(&seq)
        .map(Zeroizing::new)
        .map_err(|_| bad("rsa key parts are malformed"))
}

/// The parts of PKCS#8 RSA key `der`: `N, E, D, P, Q, Dp, Dq, Qinv`.
fn rsa_parts(pkcs8: &[u8]) -> Result<Vec<BigUint>> {
    let malformed = || TransitError::Internal("rsa pkcs8 malformed");
    let outer = simple_asn1::from_der(pkcs8).map_err(|_| malformed())?;
    let Some(ASN1Block::Sequence(_, items)) = outer.first() else {
        return Err(malformed());
    };
    let Some(ASN1Block::OctetString(_, inner)) = items.get(2) else {
        return Err(malformed());
    };
    let pkcs1 = Zeroizing::new(inner.clone());
    let blocks = simple_asn1::from_der(&pkcs1).map_err(|_| malformed())?;
    let Some(ASN1Block::Sequence(_, ints)) = blocks.first() else {
        return Err(malformed());
    };
    ints.iter()
        .skip(1)
        .take(8)
        .map(|b| match b {
            ASN1Block::Integer(_, i) => i.to_biguint().ok_or_else(malformed),
            _ => Err(malformed()),
        })
        .collect()
}

/// Reads one entry into material of type `kt`, checked by parsing it.
fn restore_entry(kt: KeyType, v: u32, e: &GoEntry) -> Result<RestoredVersion> {
    let what = |f: &str| format!("version {v} {f}");
    let public_only = (e.key.is_none() && e.ec_d.is_none() && e.rsa_key.is_none())
        && (!e.public_key.is_empty() || e.rsa_public_key.is_some() || e.ec_x.is_some());
    if public_only && kt.signing_supported() {
        return Err(unsupported("a key version holding only a public key"));
    }
    if e.certificate_chain
        .as_deref()
        .is_some_and(|c| c.get() != "[]")
        || !e.external_key_ref.is_empty()
    {
        return Err(unsupported(
            "a key version with a certificate chain or an external key",
        ));
    }
    let key: Zeroizing<Vec<u8>> = match kt {
        KeyType::Hmac => {
            let k = b64_field(&e.key, &what("key"))?;
            if !HMAC_SIZES.contains(&k.len()) {
                return Err(bad(format!("version {v} hmac key has {} bytes", k.len())));
            }
            k
        }
        k if k.is_aead() => {
            let raw = b64_field(&e.key, &what("key"))?;
            if raw.len() != k.aead_key_len() {
                return Err(bad(format!(
                    "invalid key size {} bytes for key type {k} in version {v}",
                    raw.len()
                )));
            }
            raw
        }
        KeyType::Ed25519 => {
            let go = b64_field(&e.key, &what("key"))?;
            if go.len() != 64 {
                return Err(bad(format!(
                    "version {v} ed25519 key has {} bytes",
                    go.len()
                )));
            }
            Zeroizing::new(go[..32].to_vec())
        }
        k if k.is_ecdsa() => {
            let part = |r: Option<&RawValue>, name: &str| -> Result<Zeroizing<Vec<u8>>> {
                let r = r.ok_or_else(|| bad(what(name) + " missing"))?;
                left_pad(&big(r, &what(name))?.to_bytes_be(), field_len(k))
            };
            let d = part(e.ec_d.as_ref().map(|d| &*d.0), "ec_d")?;
            let mut point = vec![4u8];
            point.extend_from_slice(&part(e.ec_x.as_deref(), "ec_x")?);
            point.extend_from_slice(&part(e.ec_y.as_deref(), "ec_y")?);
            let pair = EcdsaKeyPair::from_private_key_and_public_key(ecdsa_signing(k), &d, &point)
                .map_err(|_| bad(format!("version {v} is not a valid {k} key")))?;
            Zeroizing::new(
                pair.to_pkcs8v1()
                    .map_err(|_| TransitError::Internal("ecdsa encoding"))?
                    .as_ref()
                    .to_vec(),
            )
        }
        k => {
            let r = e
                .rsa_key
                .as_ref()
                .ok_or_else(|| bad(what("rsa_key") + " missing"))?;
            let pair = rsa::KeyPair::from_der(&rsa_pkcs1(r)?)
                .map_err(|_| bad(format!("version {v} is not a valid RSA key")))?;
            if pair.public_modulus_len() * 8 != k.rsa_bits() {
                return Err(bad(format!("version {v} is not a {k} key")));
            }
            let der: Pkcs8V1Der<'static> = pair
                .as_der()
                .map_err(|_| TransitError::Internal("rsa encoding"))?;
            Zeroizing::new(der.as_ref().to_vec())
        }
    };
    let hmac_key = if kt == KeyType::Hmac {
        key.clone()
    } else {
        let h = b64_field(&e.hmac_key, &what("hmac_key"))?;
        if h.is_empty() || h.len() > *HMAC_SIZES.end() {
            return Err(bad(format!("version {v} hmac_key has {} bytes", h.len())));
        }
        h
    };
    // Parsing proves the material usable; an Ed25519 key's public half must match.
    let m = Material::from_parts(kt, hmac_key.clone(), &key)
        .map_err(|_| bad(format!("version {v} is not a valid {kt} key")))?;
    if kt == KeyType::Ed25519 {
        let go = b64_field(&e.key, &what("key"))?;
        let public = m.ed25519().map(|p| p.public_key().as_ref().to_vec());
        if public.as_deref() != Some(&go[32..]) {
            return Err(bad(format!(
                "version {v} ed25519 public key does not match"
            )));
        }
    }
    if !(0..=MAX_CREATION_TIME).contains(&e.creation_time) {
        return Err(bad(format!("version {v} creation_time out of range")));
    }
    Ok(RestoredVersion {
        created: e.creation_time,
        hmac_key,
        key,
    })
}

/// Reads a backup (`restore`'s `backup` field). Refused with a 400 and nothing
/// else done: bad base64 (Go's text), malformed JSON (its position only), a policy
/// OpenBao itself would not load (versions out of order or missing), and what Sigil
/// cannot hold (`xchacha20-poly1305`, the `hmac_sha256_counter` KDF, convergent
/// versions other than 3, a `version_template`, soft-deleted keys, public-key-only
/// versions, certificate chains), each named.
pub fn parse(backup: &str) -> Result<Restored> {
    let bytes =
        Zeroizing::new(b64::decode(backup).map_err(|e| TransitError::invalid(e.to_string()))?);
    let data: KeyData = serde_json::from_slice(&bytes).map_err(|e| {
        bad(format!(
            "malformed JSON at line {} column {}",
            e.line(),
            e.column()
        ))
    })?;
    let mut data = data;
    let g = data.policy.take().ok_or_else(|| bad("no policy"))?;
    let kt = usize::try_from(g.key_type)
        .ok()
        .and_then(|i| GO_TYPES.get(i))
        .ok_or_else(|| bad(format!("unknown key type {}", g.key_type)))?
        .ok_or_else(|| unsupported("key type xchacha20-poly1305"))?;
    if g.soft_deleted {
        return Err(unsupported("restoring a soft-deleted key"));
    }
    if !g.version_template.is_empty() && g.version_template != "vault:v{{version}}:" {
        return Err(unsupported("a version_template"));
    }
    if g.derived {
        if !kt.derivation_supported() {
            return Err(bad(format!("key type {kt} cannot be derived")));
        }
        if g.kdf != KDF_HKDF_SHA256 {
            return Err(unsupported(
                "the key derivation function hmac_sha256_counter",
            ));
        }
    }
    if g.convergent_encryption && !g.derived {
        return Err(bad("convergent encryption requires derivation"));
    }
    let latest = version(g.latest_version, "latest_version")?;
    let min_dec = version(g.min_decryption_version, "min_decryption_version")?;
    let min_enc = version(g.min_encryption_version, "min_encryption_version")?;
    let min_avail = version(g.min_available_version, "min_available_version")?;
    let archive_min = version(g.archive_min_version, "archive_min_version")?;
    if latest == 0 || min_dec == 0 || min_dec > latest || min_enc > latest {
        return Err(bad("version bounds are inconsistent"));
    }
    if (min_enc > 0 && min_enc < min_dec)
        || min_avail > min_dec
        || (min_enc > 0 && min_avail > min_enc)
    {
        return Err(bad("version bounds are inconsistent"));
    }
    let first = min_avail.max(1);
    let archive = data.archived_keys.take().unwrap_or_default();
    let mut versions = BTreeMap::new();
    let mut metas = BTreeMap::new();
    for v in first..=latest {
        let entry = match g.keys.get(&v.to_string()) {
            Some(e) => e,
            None => usize::try_from(v - archive_min.min(v))
                .ok()
                .filter(|_| v >= archive_min)
                .and_then(|i| archive.keys.get(i))
                .filter(|e| !e.is_empty())
                .ok_or_else(|| bad(format!("version {v} missing")))?,
        };
        if g.convergent_encryption {
            let cv = if g.convergent_version == -1 {
                entry.convergent_version
            } else {
                g.convergent_version
            };
            if cv != CONVERGENT_VERSION {
                return Err(unsupported(format!("convergent encryption version {cv}")));
            }
        }
        let r = restore_entry(kt, v, entry)?;
        metas.insert(
            v,
            VersionMeta {
                created: r.created,
                public_key: None,
            },
        );
        versions.insert(v, r);
    }
    if let Some(k) = g
        .keys
        .keys()
        .find(|k| k.parse::<u32>().map_or(true, |v| v < first || v > latest))
    {
        return Err(bad(format!("version {k} out of range")));
    }
    let key_size = if kt == KeyType::Hmac {
        if !HMAC_SIZES.contains(&g.key_size) {
            return Err(bad(format!("hmac key_size {}", g.key_size)));
        }
        g.key_size
    } else {
        0
    };
    let period = g.auto_rotate_period / 1_000_000_000;
    if g.auto_rotate_period < 0
        || (period != 0 && period < MIN_AUTO_ROTATE)
        || period > crate::http::params::MAX_DURATION_SECS
    {
        return Err(bad("auto_rotate_period out of range"));
    }
    let stamp = |s: &Option<GoStamp>| {
        s.as_ref().map(|s| Stamp {
            time: s.time.clone(),
            version: u32::try_from(s.version).unwrap_or(0),
        })
    };
    let policy = KeyPolicy {
        name: g.name.clone(),
        key_type: kt,
        derived: g.derived,
        convergent_encryption: g.convergent_encryption,
        exportable: g.exportable,
        allow_plaintext_backup: g.allow_plaintext_backup,
        deletion_allowed: g.deletion_allowed,
        auto_rotate_period: period,
        key_size,
        latest_version: latest,
        min_decryption_version: min_dec,
        min_encryption_version: min_enc,
        min_available_version: min_avail,
        imported: g.imported,
        imported_allow_rotation: g.allow_imported_key_rotation,
        backup_info: stamp(&g.backup_info),
        restore_info: stamp(&g.restore_info),
        versions: metas,
    };
    Ok(Restored { policy, versions })
}

/// One version as OpenBao's `KeyEntry`.
fn entry(p: &KeyPolicy, meta: &VersionMeta, m: &Material) -> Result<GoEntry> {
    let kt = p.key_type;
    let mut e = GoEntry {
        hmac_key: Some(Secret64(b64::encode(m.hmac_key()))),
        time: crate::clock::rfc3339(meta.created),
        creation_time: meta.created,
        convergent_version: if p.convergent_encryption {
            CONVERGENT_VERSION
        } else {
            0
        },
        ..GoEntry::default()
    };
    match kt {
        KeyType::Hmac => e.key = Some(Secret64(b64::encode(m.hmac_key()))),
        k if k.is_aead() => {
            let raw = m
                .aead_raw()
                .ok_or(TransitError::Internal("not an aead key"))?;
            e.key = Some(Secret64(b64::encode(raw)));
        }
        KeyType::Ed25519 => {
            let go = m
                .ed25519_go_private()
                .ok_or(TransitError::Internal("not an ed25519 key"))?;
            e.key = Some(Secret64(b64::encode(&go)));
            e.public_key = m.public_key()?.unwrap_or_default();
        }
        k if k.is_ecdsa() => {
            let pair = m.ecdsa().ok_or(TransitError::Internal("not an ec key"))?;
            let d: EcPrivateKeyBin<'static> = pair
                .private_key()
                .as_be_bytes()
                .map_err(|_| TransitError::Internal("ec key encoding"))?;
            let point = pair.public_key().as_ref();
            let n = field_len(k);
            if point.len() != 1 + 2 * n {
                return Err(TransitError::Internal("ec public key encoding"));
            }
            e.ec_d = Some(digits(&BigUint::from_bytes_be(d.as_ref()))?);
            e.ec_x = Some(big_raw(&BigUint::from_bytes_be(&point[1..=n]))?);
            e.ec_y = Some(big_raw(&BigUint::from_bytes_be(&point[1 + n..]))?);
            e.public_key = m.public_key()?.unwrap_or_default();
        }
        _ => {
            let (pair, _) = m.rsa().ok_or(TransitError::Internal("not an rsa key"))?;
            let der: Pkcs8V1Der<'static> = pair
                .as_der()
                .map_err(|_| TransitError::Internal("rsa encoding"))?;
            let parts = rsa_parts(der.as_ref())?;
            let [n, e_, d, p_, q, dp, dq, qinv] = parts.as_slice() else {
                return Err(TransitError::Internal("rsa pkcs8 malformed"));
            };
            e.rsa_key = Some(GoRsa {
                n: big_raw(n)?,
                e: i64::try_from(e_.clone()).map_err(|_| TransitError::Internal("rsa e"))?,
                d: digits(d)?,
                primes: vec![digits(p_)?, digits(q)?],
                precomputed: Some(GoPrecomputed {
                    dp: Some(digits(dp)?),
                    dq: Some(digits(dq)?),
                    qinv: Some(digits(qinv)?),
                    crt_values: Vec::new(),
                }),
            });
        }
    }
    Ok(e)
}

/// Writes the key of policy `p` as an OpenBao backup: base64 of `{"policy",
/// "archived_keys"}` (see the module's description), with `backup_info` as the policy
/// holds it; `material` gives each stored version's opened material
/// ([`super::storage::Loaded::material`]). The answer is key material.
pub fn encode<'m>(
    p: &KeyPolicy,
    material: impl Fn(u32) -> Result<&'m Material>,
) -> Result<Zeroizing<String>> {
    let first = p.min_available_version.max(1);
    let mut keys = BTreeMap::new();
    let mut archive = Vec::new();
    if p.min_available_version == 0 {
        archive.push(GoEntry::placeholder());
    }
    for (&v, meta) in p.versions.range(first..) {
        let m = material(v)?;
        if m.is_public_only() {
            return Err(unsupported(
                "backing up a key with public-key-only versions",
            ));
        }
        if v >= p.min_decryption_version {
            keys.insert(v.to_string(), entry(p, meta, m)?);
        }
        archive.push(entry(p, meta, m)?);
    }
    let stamp = |s: &Option<Stamp>| {
        s.as_ref().map(|s| GoStamp {
            time: s.time.clone(),
            version: i64::from(s.version),
        })
    };
    let policy = GoPolicy {
        name: p.name.clone(),
        key_size: p.key_size,
        keys,
        derived: p.derived,
        kdf: if p.derived { KDF_HKDF_SHA256 } else { 0 },
        convergent_encryption: p.convergent_encryption,
        exportable: p.exportable,
        min_decryption_version: i64::from(p.min_decryption_version),
        min_encryption_version: i64::from(p.min_encryption_version),
        latest_version: i64::from(p.latest_version),
        archive_version: i64::from(p.latest_version),
        archive_min_version: i64::from(p.min_available_version),
        min_available_version: i64::from(p.min_available_version),
        deletion_allowed: p.deletion_allowed,
        convergent_version: if p.convergent_encryption { -1 } else { 0 },
        key_type: go_type(p.key_type),
        backup_info: stamp(&p.backup_info),
        restore_info: stamp(&p.restore_info),
        allow_plaintext_backup: p.allow_plaintext_backup,
        auto_rotate_period: p.auto_rotate_period.saturating_mul(1_000_000_000),
        imported: p.imported,
        allow_imported_key_rotation: p.imported_allow_rotation,
        ..GoPolicy::default()
    };
    let data = KeyData {
        policy: Some(policy),
        archived_keys: Some(GoArchive { keys: archive }),
    };
    let json = Zeroizing::new(
        serde_json::to_vec(&data).map_err(|_| TransitError::Internal("backup encoding"))?,
    );
    Ok(Zeroizing::new(b64::encode(&json)))
}

#[cfg(test)]
mod tests {
    use serde_json::Value as Json;

    use super::*;
    use crate::transit::aead::{self, Mode};
    use crate::transit::ciphertext::{self, Kind};
    use crate::transit::digest::HashAlgorithm;
    use crate::transit::oaep;
    use crate::transit::sign::{self, Marshaling, Options};

    /// Backups taken from an OpenBao 2.7 dev server (two versions each, both
    /// `exportable` and `allow_plaintext_backup`), with what OpenBao made with the
    /// latest version: an HMAC of `input`, and a ciphertext and a signature where
    /// the type has them.
    fn fixtures() -> Json {
        serde_json::from_str(include_str!("testdata/openbao_backups.json")).unwrap()
    }

    fn s<'a>(v: &'a Json, k: &str) -> &'a str {
        v[k].as_str().unwrap_or_else(|| panic!("{k}"))
    }

    /// Every version of `r`, opened.
    fn loaded(r: &Restored) -> BTreeMap<u32, Material> {
        r.versions
            .iter()
            .map(|(v, rv)| {
                let (m, _) =
                    Material::restore(r.policy.key_type, rv.hmac_key.clone(), &rv.key).unwrap();
                (*v, m)
            })
            .collect()
    }

    fn encoded(r: &Restored) -> Zeroizing<String> {
        let all = loaded(r);
        encode(&r.policy, |v| {
            all.get(&v)
                .ok_or(TransitError::Internal("version not loaded"))
        })
        .unwrap()
    }

    /// The body of `vault:v2:...` (the fixtures' latest version).
    fn body(text: &str, kind: Kind) -> Vec<u8> {
        let p = ciphertext::parse(text, kind).unwrap();
        assert_eq!(p.version, 2);
        b64::decode(p.body).unwrap()
    }

    fn opts() -> Options {
        Options::default()
    }

    /// What OpenBao made with a key works with the key its backup restores.
    fn check_openbao_outputs(t: &str, v: &Json, l: &BTreeMap<u32, Material>) {
        let m = &l[&2];
        let input = b64::decode(s(v, "input")).unwrap();
        let mac = HashAlgorithm::Sha2_256.hmac(m.hmac_key(), &input).unwrap();
        assert_eq!(
            ciphertext::format(2, &b64::encode(&mac)),
            s(v, "hmac"),
            "{t}"
        );
        if let Some(c) = v["ciphertext"].as_str() {
            let plain = if t.starts_with("rsa") {
                oaep::decrypt(m, &body(c, Kind::Ciphertext)).unwrap()
            } else {
                aead::decrypt(
                    m,
                    Mode {
                        derived: false,
                        convergent: false,
                    },
                    &[],
                    &[],
                    &body(c, Kind::Ciphertext),
                )
                .unwrap()
            };
            assert_eq!(*plain, input, "{t}");
        }
        if let Some(sig) = v["signature"].as_str() {
            let p = ciphertext::parse(sig, Kind::Signature).unwrap();
            let sig = sign::decode(p.body, Marshaling::Asn1).unwrap();
            assert!(
                sign::verify(m, false, &[], &input, &sig, &opts()).unwrap(),
                "{t}"
            );
            assert!(
                !sign::verify(m, false, &[], b"other", &sig, &opts()).unwrap(),
                "{t}"
            );
        }
    }

    #[test]
    fn openbao_backups_restore_and_their_outputs_work() {
        for (t, v) in fixtures().as_object().unwrap() {
            let r = parse(s(v, "backup")).unwrap_or_else(|e| panic!("{t}: {e}"));
            assert_eq!(r.policy.key_type.name(), t);
            assert_eq!(r.policy.name, format!("k-{t}"));
            assert_eq!(r.policy.latest_version, 2);
            assert!(r.policy.exportable && r.policy.allow_plaintext_backup);
            assert_eq!(r.versions.len(), 2, "{t}");
            assert!(r.policy.backup_info.is_some());
            check_openbao_outputs(t, v, &loaded(&r));
        }
    }

    /// Sigil's backup of a restored key holds the same key material, field for
    /// field, as OpenBao's (RSA: Sigil computes the CRT values OpenBao wrote).
    #[test]
    fn sigils_backups_carry_openbaos_fields() {
        for (t, v) in fixtures().as_object().unwrap() {
            let r = parse(s(v, "backup")).unwrap();
            let ours_b64 = encoded(&r);
            let typed =
                |b: &str| -> KeyData { serde_json::from_slice(&b64::decode(b).unwrap()).unwrap() };
            let (a, b) = (typed(&ours_b64), typed(s(v, "backup")));
            let (a_arch, b_arch) = (a.archived_keys.unwrap(), b.archived_keys.unwrap());
            assert_eq!(
                a_arch.keys.len(),
                b_arch.keys.len(),
                "{t}: placeholder and two versions"
            );
            let (a, b) = (a.policy.unwrap(), b.policy.unwrap());
            let fields = |p: &GoPolicy| {
                (
                    (p.name.clone(), p.key_type, p.key_size, p.derived, p.kdf),
                    (p.exportable, p.allow_plaintext_backup, p.deletion_allowed),
                    (
                        p.latest_version,
                        p.min_decryption_version,
                        p.min_encryption_version,
                    ),
                    (
                        p.archive_version,
                        p.archive_min_version,
                        p.min_available_version,
                    ),
                )
            };
            assert_eq!(fields(&a), fields(&b), "{t}");
            for ver in ["1", "2"] {
                let (a, b) = (&a.keys[ver], &b.keys[ver]);
                let text = |x: &Option<Secret64>| x.as_ref().map(|x| x.0.clone());
                assert_eq!(text(&a.key), text(&b.key), "{t} v{ver}");
                assert_eq!(text(&a.hmac_key), text(&b.hmac_key), "{t} v{ver}");
                let raw = |x: Option<&RawValue>| x.map(|r| r.get().to_owned());
                assert_eq!(raw(a.ec_x.as_deref()), raw(b.ec_x.as_deref()), "{t}");
                assert_eq!(raw(a.ec_y.as_deref()), raw(b.ec_y.as_deref()), "{t}");
                let d = |e: &GoEntry| e.ec_d.as_ref().map(|d| d.0.get().to_owned());
                assert_eq!(d(a), d(b), "{t}");
                assert_eq!(a.creation_time, b.creation_time, "{t}");
                if !t.starts_with("rsa") {
                    assert_eq!(a.public_key, b.public_key, "{t} v{ver}");
                }
                let rsa = |e: &GoEntry| {
                    e.rsa_key.as_ref().map(|r| {
                        let pre = r.precomputed.as_ref().unwrap();
                        let all = [
                            Some(&*r.n),
                            Some(&*r.d.0),
                            Some(&*r.primes[0].0),
                            Some(&*r.primes[1].0),
                        ]
                        .into_iter()
                        .chain([&pre.dp, &pre.dq, &pre.qinv].map(|x| x.as_ref().map(|d| &*d.0)));
                        (
                            r.e,
                            all.map(|x| x.unwrap().get().to_owned()).collect::<Vec<_>>(),
                        )
                    })
                };
                assert_eq!(rsa(a), rsa(b), "{t} v{ver}");
            }
            // And it restores to the same material.
            let again = parse(&ours_b64).unwrap();
            check_openbao_outputs(t, v, &loaded(&again));
        }
    }

    type Change<'a> = Box<dyn Fn(&mut Json) + 'a>;

    /// Re-encodes the aes256-gcm96 fixture with `change` applied to its JSON.
    fn altered(change: impl Fn(&mut Json)) -> String {
        let f = fixtures();
        let mut j: Json =
            serde_json::from_slice(&b64::decode(s(&f["aes256-gcm96"], "backup")).unwrap()).unwrap();
        change(&mut j);
        b64::encode(&serde_json::to_vec(&j).unwrap())
    }

    #[test]
    fn malformed_or_foreign_backups_are_refused_with_clear_texts() {
        let err = |b: &str| parse(b).unwrap_err().to_string();
        assert_eq!(err("!!"), "illegal base64 data at input byte 0");
        assert_eq!(err(&b64::encode(b"{}")), "invalid backup: no policy");
        assert!(err(&b64::encode(b"null")).starts_with("invalid backup: malformed JSON"));
        assert!(
            err(&b64::encode(b"not json")).starts_with("invalid backup: malformed JSON at line 1")
        );
        let key = |j: &mut Json| j["policy"]["keys"]["1"]["key"].take();
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|j| j["policy"]["type"] = 11.into()),
                "key type xchacha20-poly1305 is not supported by Sigil",
            ),
            (
                Box::new(|j| j["policy"]["type"] = 10000.into()),
                "invalid backup: unknown key type 10000",
            ),
            (
                Box::new(|j| j["policy"]["soft_deleted"] = true.into()),
                "restoring a soft-deleted key is not supported by Sigil",
            ),
            (
                Box::new(|j| j["policy"]["version_template"] = "x{{version}}:".into()),
                "a version_template is not supported by Sigil",
            ),
            (
                Box::new(|j| j["policy"]["latest_version"] = 3.into()),
                "invalid backup: version 3 missing",
            ),
            (
                Box::new(|j| j["policy"]["min_decryption_version"] = 0.into()),
                "invalid backup: version bounds are inconsistent",
            ),
            (
                Box::new(|j| j["policy"]["latest_version"] = (-1).into()),
                "invalid backup: latest_version -1 out of range",
            ),
            (
                // The hostile check's poison: the sweeper's rotation overflowed on it.
                Box::new(|j| j["policy"]["latest_version"] = 4_294_967_295_i64.into()),
                "invalid backup: latest_version 4294967295 out of range",
            ),
            (
                Box::new(|j| j["policy"]["keys"]["1"]["creation_time"] = (-1).into()),
                "invalid backup: version 1 creation_time out of range",
            ),
            (
                Box::new(|j| {
                    j["policy"]["auto_rotate_period"] = 3_153_600_001_000_000_000_i64.into()
                }),
                "invalid backup: auto_rotate_period out of range",
            ),
            (
                Box::new(|j| {
                    j["policy"]["derived"] = true.into();
                    j["policy"]["kdf"] = 0.into();
                }),
                "the key derivation function hmac_sha256_counter is not supported by Sigil",
            ),
            (
                Box::new(|j| j["policy"]["keys"]["1"]["key"] = "AAAA".into()),
                "invalid backup: invalid key size 3 bytes for key type aes256-gcm96 in version 1",
            ),
            (
                Box::new(|j| j["policy"]["keys"]["1"]["key"] = "A!==".into()),
                "invalid backup: version 1 key: illegal base64 data at input byte 1",
            ),
            (
                Box::new(|j| {
                    key(j);
                }),
                "invalid backup: version 1 key missing",
            ),
            (
                Box::new(|j| j["policy"]["keys"]["9"] = j["policy"]["keys"]["1"].clone()),
                "invalid backup: version 9 out of range",
            ),
            (
                Box::new(|j| {
                    j["policy"]["keys"]["1"]["certificate_chain"] = serde_json::json!(["AA=="])
                }),
                "a key version with a certificate chain or an external key is not supported by Sigil",
            ),
            (
                Box::new(|j| j["policy"]["keys"]["1"]["key"] = 5.into()),
                "invalid backup: malformed JSON at line 1",
            ),
        ];
        for (change, want) in cases {
            let got = err(&altered(change));
            assert!(got.starts_with(want), "{got} / {want}");
        }
        // Version 1 comes from the archive when the policy no longer holds it.
        let r = parse(&altered(|j| {
            j["policy"]["keys"].as_object_mut().unwrap().remove("1");
            j["policy"]["min_decryption_version"] = 2.into();
        }))
        .unwrap();
        assert_eq!(r.versions.keys().copied().collect::<Vec<_>>(), [1, 2]);
        assert!(
            err(&altered(|j| {
                j["policy"]["keys"].as_object_mut().unwrap().remove("1");
                j["archived_keys"]["keys"][1] = j["archived_keys"]["keys"][0].clone();
            }))
            .starts_with("invalid backup: version 1 missing")
        );
    }

    #[test]
    fn asymmetric_material_is_checked() {
        let f = fixtures();
        let go = |t: &str| -> KeyData {
            serde_json::from_slice(&b64::decode(s(&f[t], "backup")).unwrap()).unwrap()
        };
        let reencode = |d: &KeyData| b64::encode(&serde_json::to_vec(d).unwrap());
        // An Ed25519 key whose public half is another key's.
        let mut d = go("ed25519");
        let other = d.policy.as_ref().unwrap().keys["2"]
            .key
            .as_ref()
            .unwrap()
            .0
            .clone();
        let p = d.policy.as_mut().unwrap();
        let mine = p.keys.get_mut("1").unwrap();
        let a = b64::decode(&mine.key.as_ref().unwrap().0).unwrap();
        let b = b64::decode(&other).unwrap();
        mine.key = Some(Secret64(b64::encode(&[&a[..32], &b[32..]].concat())));
        assert_eq!(
            parse(&reencode(&d)).unwrap_err().to_string(),
            "invalid backup: version 1 ed25519 public key does not match"
        );
        // An ECDSA point that is not the private key's.
        let mut d = go("ecdsa-p256");
        let p = d.policy.as_mut().unwrap();
        let y2 = p.keys["2"].ec_y.clone();
        p.keys.get_mut("1").unwrap().ec_y = y2;
        assert_eq!(
            parse(&reencode(&d)).unwrap_err().to_string(),
            "invalid backup: version 1 is not a valid ecdsa-p256 key"
        );
        // An ECDSA version holding only its public key.
        let mut d = go("ecdsa-p256");
        d.policy.as_mut().unwrap().keys.get_mut("1").unwrap().ec_d = None;
        assert_eq!(
            parse(&reencode(&d)).unwrap_err().to_string(),
            "a key version holding only a public key is not supported by Sigil"
        );
        // An RSA key with a wrong private exponent, and one of another size.
        let mut d = go("rsa-2048");
        let p = d.policy.as_mut().unwrap();
        let r = p.keys.get_mut("1").unwrap().rsa_key.as_mut().unwrap();
        r.d = Digits(RawValue::from_string("12345".into()).unwrap());
        assert_eq!(
            parse(&reencode(&d)).unwrap_err().to_string(),
            "invalid backup: version 1 is not a valid RSA key"
        );
        let mut d = go("rsa-2048");
        d.policy.as_mut().unwrap().key_type = 4;
        assert_eq!(
            parse(&reencode(&d)).unwrap_err().to_string(),
            "invalid backup: version 1 is not a rsa-4096 key"
        );
    }

    /// Neither errors nor `Debug` ever carry the backup's key material.
    #[test]
    fn key_material_stays_out_of_errors_and_debug() {
        let f = fixtures();
        let text = s(&f["aes256-gcm96"], "backup");
        let r = parse(text).unwrap();
        let key = b64::encode(&r.versions[&1].key);
        let debug = format!("{r:?} {:?}", r.versions[&1]);
        assert!(
            !debug.contains(&key) && debug.contains("redacted"),
            "{debug}"
        );
        // A key where a number belongs: serde would quote it, Sigil gives the position.
        let e = parse(&altered(|j| {
            j["policy"]["latest_version"] = j["policy"]["keys"]["1"]["key"].clone()
        }))
        .unwrap_err()
        .to_string();
        assert!(!e.contains(&key), "{e}");
    }
}
