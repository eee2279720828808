//! A key's policy: its type, options and versions, and Vault's rules on them
//! (OpenBao's `keysutil.Policy`, `path_keys.go`, `path_keys_config.go`,
//! `path_trim.go`), with Vault's validation texts. Pure: no storage, no material.
//!
//! Versions start at 1. `min_decryption_version` (at least 1) bounds what decrypts,
//! verifies and shows in a read; `min_encryption_version` (0: none) bounds what
//! encrypts, signs and HMACs; `min_available_version` (0: none, set by `trim`) is
//! the oldest version whose material is still stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::error::{Result, TransitError};
use super::key_type::KeyType;
use super::material::HMAC_SIZES;

/// OpenBao's `ErrTooOld`.
pub const TOO_OLD: &str = "ciphertext or signature version is disallowed by policy (too old)";

/// The most versions a key's numbering may reach (Go's 32-bit `int`, which OpenBao's
/// backups and `vault:vN:` prefixes carry).
pub const MAX_VERSION: u32 = i32::MAX as u32;

/// Shortest `auto_rotate_period` other than 0, seconds (one hour).
pub const MIN_AUTO_ROTATE: i64 = 3600;

/// What a key records about one version (its material is sealed apart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionMeta {
    /// Creation time, Unix seconds.
    pub created: i64,
    /// The public key as a read shows it (asymmetric types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// When a key was last backed up or restored, and its latest version then
/// (OpenBao's `BackupInfo`, `RestoreInfo`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// RFC 3339 time.
    pub time: String,
    /// `latest_version` at the time.
    pub version: u32,
}

/// A named key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPolicy {
    /// The key's name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// Keys derived per `context` (HKDF-SHA256).
    pub derived: bool,
    /// Convergent encryption (derived keys only).
    pub convergent_encryption: bool,
    /// Versions may be exported (one-way: never unset).
    pub exportable: bool,
    /// Plaintext backups allowed (one-way).
    pub allow_plaintext_backup: bool,
    /// The key may be deleted.
    pub deletion_allowed: bool,
    /// Seconds between automatic rotations (0: none).
    pub auto_rotate_period: i64,
    /// Bytes of an `hmac` key (0 for other types).
    #[serde(default)]
    pub key_size: usize,
    /// The newest version.
    pub latest_version: u32,
    /// The oldest version that decrypts and verifies (at least 1).
    pub min_decryption_version: u32,
    /// The oldest version that encrypts and signs (0: any).
    pub min_encryption_version: u32,
    /// The oldest version still stored (0: all).
    pub min_available_version: u32,
    /// The key was imported (BYOK).
    #[serde(default)]
    pub imported: bool,
    /// An imported key may be rotated (`allow_rotation` at import; OpenBao's
    /// `AllowImportedKeyRotation`).
    #[serde(default)]
    pub imported_allow_rotation: bool,
    /// The last `backup/:name` of the key (shown in a read as `backup_info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_info: Option<Stamp>,
    /// The `restore` that made the key (shown as `restore_info`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_info: Option<Stamp>,
    /// Every stored version.
    pub versions: BTreeMap<u32, VersionMeta>,
}

/// The options of a key creation (`POST keys/:name`), checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateOptions {
    /// Key type (default `aes256-gcm96`).
    pub key_type: KeyType,
    /// `derived`.
    pub derived: bool,
    /// `convergent_encryption`.
    pub convergent: bool,
    /// `exportable`.
    pub exportable: bool,
    /// `allow_plaintext_backup`.
    pub allow_plaintext_backup: bool,
    /// `auto_rotate_period`, seconds.
    pub auto_rotate_period: i64,
    /// `key_size`, bytes (`hmac` only).
    pub key_size: usize,
}

impl CreateOptions {
    /// Checks the options as OpenBao's `pathPolicyWrite` and `LockManager.GetPolicy`
    /// do, with their texts. `type_name` is the requested type as given.
    pub fn check(
        type_name: &str,
        derived: bool,
        convergent: bool,
        exportable: bool,
        allow_plaintext_backup: bool,
        auto_rotate_period: i64,
        key_size: i64,
    ) -> Result<Self> {
        if auto_rotate_period != 0 && auto_rotate_period < MIN_AUTO_ROTATE {
            return Err(TransitError::invalid(
                "auto rotate period must be 0 to disable or at least an hour",
            ));
        }
        if !derived && convergent {
            return Err(TransitError::invalid(
                "convergent encryption requires derivation to be enabled",
            ));
        }
        let key_type = KeyType::parse(type_name).ok_or_else(|| {
            if super::key_type::UNSUPPORTED.contains(&type_name) {
                TransitError::invalid(format!("key type {type_name} is not supported by Sigil"))
            } else {
                TransitError::invalid(format!("unknown key type {type_name}"))
            }
        })?;
        if key_size != 0 {
            if key_type != KeyType::Hmac {
                return Err(TransitError::invalid(format!(
                    "key_size is not valid for algorithm {key_type}"
                )));
            }
            if !usize::try_from(key_size).is_ok_and(|k| HMAC_SIZES.contains(&k)) {
                return Err(TransitError::invalid(format!(
                    "invalid key_size {key_size}"
                )));
            }
        }
        let key_size = usize::try_from(key_size).unwrap_or(0);
        if key_type == KeyType::Hmac && !HMAC_SIZES.contains(&key_size) {
            return Err(TransitError::invalid(format!(
                "invalid key size for HMAC key, must be between {} and {} bytes",
                HMAC_SIZES.start(),
                HMAC_SIZES.end()
            )));
        }
        if key_type.is_aead() {
            // convergent without derived was refused above
        } else if key_type == KeyType::Ed25519 {
            if convergent {
                return Err(TransitError::invalid(format!(
                    "convergent encryption not supported for keys of type {key_type}"
                )));
            }
        } else if derived || convergent {
            return Err(TransitError::invalid(format!(
                "key derivation and convergent encryption not supported for keys of type {key_type}"
            )));
        }
        Ok(Self {
            key_type,
            derived,
            convergent,
            exportable,
            allow_plaintext_backup,
            auto_rotate_period,
            key_size,
        })
    }
}

/// The changes of a `keys/:name/config` request (each `None` when absent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigChange {
    /// `min_decryption_version`.
    pub min_decryption_version: Option<i64>,
    /// `min_encryption_version`.
    pub min_encryption_version: Option<i64>,
    /// `deletion_allowed`.
    pub deletion_allowed: Option<bool>,
    /// `exportable` (only `true` has an effect).
    pub exportable: Option<bool>,
    /// `allow_plaintext_backup` (only `true` has an effect).
    pub allow_plaintext_backup: Option<bool>,
    /// `auto_rotate_period`, seconds.
    pub auto_rotate_period: Option<i64>,
}

/// What a config change did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Configured {
    /// Something changed and must be stored.
    pub changed: bool,
    /// Vault's warning, if any.
    pub warning: Option<String>,
}

fn v(x: u32) -> i64 {
    i64::from(x)
}

impl KeyPolicy {
    /// A new key with its first version.
    pub fn new(name: &str, o: &CreateOptions, first: VersionMeta) -> Self {
        Self {
            name: name.to_owned(),
            key_type: o.key_type,
            derived: o.derived,
            convergent_encryption: o.convergent,
            exportable: o.exportable,
            allow_plaintext_backup: o.allow_plaintext_backup,
            deletion_allowed: false,
            auto_rotate_period: o.auto_rotate_period,
            key_size: if o.key_type == KeyType::Hmac {
                o.key_size
            } else {
                0
            },
            latest_version: 1,
            min_decryption_version: 1,
            min_encryption_version: 0,
            min_available_version: 0,
            imported: false,
            imported_allow_rotation: false,
            backup_info: None,
            restore_info: None,
            versions: BTreeMap::from([(1, first)]),
        }
    }

    /// When the key is next rotated automatically (Unix seconds): the newest
    /// version's creation time plus `auto_rotate_period`, as OpenBao's periodic check
    /// (`rotateIfRequired`); `None` when the period is 0 or the key is imported
    /// without `allow_rotation`.
    pub fn next_rotation(&self) -> Option<i64> {
        if self.auto_rotate_period <= 0 || (self.imported && !self.imported_allow_rotation) {
            return None;
        }
        let created = self.versions.get(&self.latest_version)?.created;
        Some(created.saturating_add(self.auto_rotate_period))
    }

    /// Adds the next version (rotation); returns its number.
    pub fn push_version(&mut self, meta: VersionMeta) -> u32 {
        self.latest_version += 1;
        self.versions.insert(self.latest_version, meta);
        self.latest_version
    }

    /// Whether version `ver`'s material is live (OpenBao keeps versions from
    /// `min_decryption_version` to the latest in the policy; others are archived).
    fn live(&self, ver: i64) -> Result<u32> {
        u32::try_from(ver)
            .ok()
            .filter(|x| *x >= self.min_decryption_version && *x <= self.latest_version)
            .filter(|x| self.versions.contains_key(x))
            .ok_or_else(|| TransitError::invalid("no such key version"))
    }

    /// The version an encryption with `key_version` uses (0: the latest), as OpenBao's
    /// `EncryptWithFactory` checks it.
    pub fn encryption_version(&self, requested: i64) -> Result<u32> {
        let ver = match requested {
            0 => v(self.latest_version),
            r if r < 0 => {
                return Err(TransitError::invalid(
                    "requested version for encryption is negative",
                ));
            }
            r if r > v(self.latest_version) => {
                return Err(TransitError::invalid(
                    "requested version for encryption is higher than the latest key version",
                ));
            }
            r if r < v(self.min_encryption_version) => {
                return Err(TransitError::invalid(
                    "requested version for encryption is less than the minimum encryption key version",
                ));
            }
            r => r,
        };
        self.live(ver)
    }

    /// The version a ciphertext (or signature) names may be used to decrypt (verify):
    /// OpenBao's checks in `DecryptWithFactory` (`v0` reads as `v1` for ciphertexts)
    /// and `VerifySignatureWithOptions`.
    pub fn decryption_version(&self, written: i64, signature: bool) -> Result<u32> {
        let ver = if written == 0 && !signature {
            1
        } else {
            written
        };
        if ver > v(self.latest_version) {
            return Err(TransitError::invalid(if signature {
                "invalid signature: version is too new"
            } else {
                "invalid ciphertext: version is too new"
            }));
        }
        if ver < v(self.min_decryption_version) {
            return Err(TransitError::invalid(TOO_OLD));
        }
        self.live(ver)
    }

    /// The version a signature with `key_version` uses (OpenBao's `SignWithOptions`).
    pub fn signing_version(&self, requested: i64) -> Result<u32> {
        let ver = match requested {
            0 => v(self.latest_version),
            r if r < 0 => {
                return Err(TransitError::invalid(
                    "requested version for signing is negative",
                ));
            }
            r if r > v(self.latest_version) => {
                return Err(TransitError::invalid(
                    "requested version for signing is higher than the latest key version",
                ));
            }
            r if self.min_encryption_version > 0 && r < v(self.min_encryption_version) => {
                return Err(TransitError::invalid(
                    "requested version for signing is less than the minimum encryption key version",
                ));
            }
            r => r,
        };
        self.live(ver)
    }

    /// The version an HMAC with `key_version` uses (OpenBao's `pathHMACWrite` and
    /// `HMACKey`).
    pub fn hmac_version(&self, requested: i64) -> Result<u32> {
        let latest = v(self.latest_version);
        let ver = match requested {
            0 => latest,
            r if r == latest => r,
            r if self.min_encryption_version > 0 && r < v(self.min_encryption_version) => {
                return Err(TransitError::invalid(
                    "cannot generate HMAC: version is too old (disallowed by policy)",
                ));
            }
            r => r,
        };
        if ver < 0 {
            return Err(TransitError::invalid(
                "key version does not exist (cannot be negative)",
            ));
        }
        if ver > latest {
            return Err(TransitError::invalid(format!(
                "key version does not exist; latest key version is {latest}"
            )));
        }
        self.live(ver)
    }

    /// The version an HMAC to verify names (OpenBao's `pathHMACVerify`).
    pub fn hmac_verify_version(&self, written: i64) -> Result<u32> {
        if written > v(self.latest_version) {
            return Err(TransitError::invalid("invalid HMAC: version is too new"));
        }
        if written < v(self.min_decryption_version) {
            return Err(TransitError::invalid(
                "cannot verify HMAC: version is too old (disallowed by policy)",
            ));
        }
        self.live(written)
    }

    /// Applies a `keys/:name/config` request as OpenBao's `pathKeysConfigWrite`,
    /// with its texts; on error the policy is unchanged.
    pub fn configure(&mut self, c: &ConfigChange) -> Result<Configured> {
        let mut next = self.clone();
        let mut out = Configured::default();
        let latest = v(next.latest_version);
        if let Some(mut d) = c.min_decryption_version {
            if d < 0 {
                return Err(TransitError::invalid(
                    "min decryption version cannot be negative",
                ));
            }
            if d == 0 {
                d = 1;
                out.warning = Some("since Vault 0.3 (prior to the OpenBao fork), transit key numbering starts at 1; forcing minimum to 1".into());
            }
            if d != v(next.min_decryption_version) {
                if d > latest {
                    return Err(TransitError::invalid(format!(
                        "cannot set min decryption version of {d}, latest key version is {latest}"
                    )));
                }
                next.min_decryption_version = u32::try_from(d).unwrap_or(u32::MAX);
                out.changed = true;
            }
        }
        if let Some(e) = c.min_encryption_version {
            if e < 0 {
                return Err(TransitError::invalid(
                    "min encryption version cannot be negative",
                ));
            }
            if e != v(next.min_encryption_version) {
                if e > latest {
                    return Err(TransitError::invalid(format!(
                        "cannot set min encryption version of {e}, latest key version is {latest}"
                    )));
                }
                next.min_encryption_version = u32::try_from(e).unwrap_or(u32::MAX);
                out.changed = true;
            }
        }
        if next.min_encryption_version > 0
            && next.min_encryption_version < next.min_decryption_version
        {
            return Err(TransitError::invalid(format!(
                "cannot set min encryption/decryption values; min encryption version of {} must be greater than or equal to min decryption version of {}",
                next.min_encryption_version, next.min_decryption_version
            )));
        }
        if let Some(d) = c.deletion_allowed
            && d != next.deletion_allowed
        {
            next.deletion_allowed = d;
            out.changed = true;
        }
        if c.exportable == Some(true) && !next.exportable {
            next.exportable = true;
            out.changed = true;
        }
        if c.allow_plaintext_backup == Some(true) && !next.allow_plaintext_backup {
            next.allow_plaintext_backup = true;
            out.changed = true;
        }
        if let Some(p) = c.auto_rotate_period {
            if p != 0 && p < MIN_AUTO_ROTATE {
                return Err(TransitError::invalid(
                    "auto rotate period must be 0 to disable or at least an hour",
                ));
            }
            if p != next.auto_rotate_period {
                next.auto_rotate_period = p;
                out.changed = true;
            }
        }
        if out.changed {
            if next.min_available_version > next.min_encryption_version {
                return Err(TransitError::invalid(
                    "min encryption version should not be less than min available version",
                ));
            }
            if next.min_available_version > next.min_decryption_version {
                return Err(TransitError::invalid(
                    "min decryption version should not be less then min available version",
                ));
            }
        }
        *self = next;
        Ok(out)
    }

    /// `keys/:name/trim` (OpenBao's `pathTrimUpdate`): sets `min_available_version`
    /// and forgets older versions. Returns the versions removed.
    pub fn trim(&mut self, min_available: Option<i64>) -> Result<Vec<u32>> {
        let Some(m) = min_available else {
            return Err(TransitError::invalid("missing min_available_version"));
        };
        let msg = match () {
            _ if m < v(self.min_available_version) => {
                "minimum available version cannot be decremented"
            }
            _ if self.min_encryption_version == 0 => {
                "minimum available version cannot be set when minimum encryption version is not set"
            }
            _ if self.min_decryption_version == 0 => {
                "minimum available version cannot be set when minimum decryption version is not set"
            }
            _ if m > v(self.min_encryption_version) => {
                "minimum available version cannot be greater than minmum encryption version"
            }
            _ if m > v(self.min_decryption_version) => {
                "minimum available version cannot be greater than minimum decryption version"
            }
            _ if m < 0 => "minimum available version cannot be negative",
            _ if m == 0 => "minimum available version should be positive",
            _ => "",
        };
        if !msg.is_empty() {
            return Err(TransitError::invalid(msg));
        }
        self.min_available_version = u32::try_from(m).unwrap_or(u32::MAX);
        let gone: Vec<u32> = self
            .versions
            .range(..self.min_available_version)
            .map(|(k, _)| *k)
            .collect();
        for g in &gone {
            self.versions.remove(g);
        }
        Ok(gone)
    }

    /// Vault's answer to a key read (`formatKeyPolicy`): `keys` maps each version from
    /// `min_decryption_version` on to its creation time (symmetric types) or to its
    /// public key and creation time (asymmetric types; derived Ed25519 keys show a
    /// public key only for a `context`: `derived_public`); `hmac` keys have none.
    /// Never any private material.
    pub fn to_json(&self, derived_public: &BTreeMap<u32, String>) -> Json {
        let kt = self.key_type;
        let mut data = json!({
            "name": self.name,
            "type": kt.name(),
            "derived": self.derived,
            "deletion_allowed": self.deletion_allowed,
            "min_available_version": self.min_available_version,
            "min_decryption_version": self.min_decryption_version,
            "min_encryption_version": self.min_encryption_version,
            "latest_version": self.latest_version,
            "exportable": self.exportable,
            "allow_plaintext_backup": self.allow_plaintext_backup,
            "supports_encryption": kt.encryption_supported(),
            "supports_decryption": kt.encryption_supported(),
            "supports_signing": kt.signing_supported(),
            "supports_derivation": kt.derivation_supported(),
            "auto_rotate_period": self.auto_rotate_period,
            "imported_key": self.imported,
            "soft_deleted": false,
        });
        let Json::Object(m) = &mut data else {
            return data;
        };
        if self.key_size != 0 {
            m.insert("key_size".into(), json!(self.key_size));
        }
        if self.imported {
            m.insert(
                "imported_key_allow_rotation".into(),
                json!(self.imported_allow_rotation),
            );
        }
        for (field, stamp) in [
            ("backup_info", &self.backup_info),
            ("restore_info", &self.restore_info),
        ] {
            if let Some(s) = stamp {
                m.insert(field.into(), json!({"time": s.time, "version": s.version}));
            }
        }
        if self.derived {
            m.insert("kdf".into(), json!("hkdf_sha256"));
            m.insert(
                "convergent_encryption".into(),
                json!(self.convergent_encryption),
            );
            if self.convergent_encryption {
                // OpenBao keeps the version per key entry and shows the policy's -1.
                m.insert("convergent_encryption_version".into(), json!(-1));
            }
        }
        let shown = self.versions.range(self.min_decryption_version..);
        if kt.is_aead() {
            let keys: serde_json::Map<String, Json> = shown
                .map(|(ver, meta)| (ver.to_string(), json!(meta.created)))
                .collect();
            m.insert("keys".into(), Json::Object(keys));
        } else if kt.signing_supported() {
            let name = match kt {
                KeyType::EcdsaP256 => "P-256",
                KeyType::EcdsaP384 => "P-384",
                KeyType::EcdsaP521 => "P-521",
                other => other.name(),
            };
            let keys: serde_json::Map<String, Json> = shown
                .map(|(ver, meta)| {
                    let public = match (kt, self.derived) {
                        (KeyType::Ed25519, true) => {
                            derived_public.get(ver).cloned().unwrap_or_default()
                        }
                        _ => meta.public_key.clone().unwrap_or_default(),
                    };
                    (
                        ver.to_string(),
                        json!({
                            "name": name,
                            "public_key": public,
                            "certificate_chain": "",
                            "creation_time": crate::clock::rfc3339(meta.created),
                        }),
                    )
                })
                .collect();
            m.insert("keys".into(), Json::Object(keys));
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(t: &str) -> CreateOptions {
        CreateOptions::check(t, false, false, false, false, 0, 0).unwrap()
    }

    fn key(versions: u32) -> KeyPolicy {
        let meta = |c| VersionMeta {
            created: c,
            public_key: None,
        };
        let mut p = KeyPolicy::new("k", &opts("aes256-gcm96"), meta(1));
        for i in 1..versions {
            p.push_version(meta(i64::from(i) + 1));
        }
        p
    }

    fn err<T: std::fmt::Debug>(r: Result<T>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn creation_options_have_vaults_texts() {
        let c = |t: &str, d, cv, arp, ks| CreateOptions::check(t, d, cv, false, false, arp, ks);
        assert_eq!(err(c("nope", false, false, 0, 0)), "unknown key type nope");
        assert_eq!(
            err(c("aes256-gcm96", false, true, 0, 0)),
            "convergent encryption requires derivation to be enabled"
        );
        assert_eq!(
            err(c("aes256-gcm96", false, false, 600, 0)),
            "auto rotate period must be 0 to disable or at least an hour"
        );
        assert_eq!(
            err(c("aes256-gcm96", false, false, 0, 32)),
            "key_size is not valid for algorithm aes256-gcm96"
        );
        assert_eq!(err(c("hmac", false, false, 0, 16)), "invalid key_size 16");
        assert_eq!(
            err(c("hmac", false, false, 0, 0)),
            "invalid key size for HMAC key, must be between 32 and 512 bytes"
        );
        assert_eq!(
            err(c("ecdsa-p256", true, false, 0, 0)),
            "key derivation and convergent encryption not supported for keys of type ecdsa-p256"
        );
        assert_eq!(
            err(c("ed25519", true, true, 0, 0)),
            "convergent encryption not supported for keys of type ed25519"
        );
        assert!(c("ed25519", true, false, 3600, 0).is_ok());
        assert_eq!(c("hmac", false, false, 0, 64).unwrap().key_size, 64);
    }

    #[test]
    fn version_rules_follow_vault() {
        let mut p = key(3);
        assert_eq!(p.encryption_version(0).unwrap(), 3);
        assert_eq!(p.encryption_version(2).unwrap(), 2);
        assert_eq!(
            err(p.encryption_version(-1)),
            "requested version for encryption is negative"
        );
        assert_eq!(
            err(p.encryption_version(4)),
            "requested version for encryption is higher than the latest key version"
        );
        assert_eq!(p.decryption_version(0, false).unwrap(), 1, "v0 reads as v1");
        assert_eq!(err(p.decryption_version(0, true)), TOO_OLD);
        assert_eq!(
            err(p.decryption_version(99, false)),
            "invalid ciphertext: version is too new"
        );
        p.configure(&ConfigChange {
            min_decryption_version: Some(2),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(err(p.decryption_version(1, false)), TOO_OLD);
        assert_eq!(err(p.decryption_version(-5, false)), TOO_OLD);
        assert_eq!(err(p.encryption_version(1)), "no such key version");
        p.configure(&ConfigChange {
            min_encryption_version: Some(3),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            err(p.encryption_version(2)),
            "requested version for encryption is less than the minimum encryption key version"
        );
        assert_eq!(
            err(p.signing_version(2)),
            "requested version for signing is less than the minimum encryption key version"
        );
        assert_eq!(
            err(p.hmac_version(2)),
            "cannot generate HMAC: version is too old (disallowed by policy)"
        );
        assert_eq!(
            err(p.hmac_version(7)),
            "key version does not exist; latest key version is 3"
        );
        assert_eq!(
            err(p.hmac_verify_version(1)),
            "cannot verify HMAC: version is too old (disallowed by policy)"
        );
    }

    #[test]
    fn config_and_trim_have_vaults_texts_and_leave_the_key_alone_on_error() {
        let mut p = key(3);
        let before = p.clone();
        let c = |d: Option<i64>, e: Option<i64>| ConfigChange {
            min_decryption_version: d,
            min_encryption_version: e,
            ..Default::default()
        };
        assert_eq!(
            err(p.configure(&c(Some(-1), None))),
            "min decryption version cannot be negative"
        );
        assert_eq!(
            err(p.configure(&c(Some(9), None))),
            "cannot set min decryption version of 9, latest key version is 3"
        );
        assert_eq!(
            err(p.configure(&c(None, Some(9)))),
            "cannot set min encryption version of 9, latest key version is 3"
        );
        assert_eq!(
            err(p.configure(&c(Some(3), Some(2)))),
            "cannot set min encryption/decryption values; min encryption version of 2 must be greater than or equal to min decryption version of 3"
        );
        assert_eq!(p, before);
        let w = p.configure(&c(Some(0), None)).unwrap();
        assert!(!w.changed && w.warning.is_some());
        assert_eq!(err(p.trim(None)), "missing min_available_version");
        assert_eq!(
            err(p.trim(Some(1))),
            "minimum available version cannot be set when minimum encryption version is not set"
        );
        p.configure(&c(Some(2), Some(3))).unwrap();
        assert_eq!(
            err(p.trim(Some(3))),
            "minimum available version cannot be greater than minimum decryption version"
        );
        assert_eq!(
            err(p.trim(Some(0))),
            "minimum available version should be positive"
        );
        assert_eq!(p.trim(Some(2)).unwrap(), vec![1]);
        assert_eq!(
            err(p.trim(Some(1))),
            "minimum available version cannot be decremented"
        );
        assert_eq!(
            err(p.configure(&c(Some(1), None))),
            "min decryption version should not be less then min available version"
        );
        let exportable = ConfigChange {
            exportable: Some(true),
            ..Default::default()
        };
        assert!(p.configure(&exportable).unwrap().changed);
        let unexport = ConfigChange {
            exportable: Some(false),
            ..Default::default()
        };
        assert!(!p.configure(&unexport).unwrap().changed, "one-way");
        assert!(p.exportable);
    }

    #[test]
    fn reads_show_versions_from_min_decryption_and_no_material() {
        let mut p = key(3);
        p.configure(&ConfigChange {
            min_decryption_version: Some(2),
            ..Default::default()
        })
        .unwrap();
        let j = p.to_json(&BTreeMap::new());
        assert_eq!(j["keys"], json!({"2": 2, "3": 3}));
        assert_eq!(j["type"], "aes256-gcm96");
        assert!(j.get("kdf").is_none());
        let h = KeyPolicy::new(
            "h",
            &CreateOptions::check("hmac", false, false, false, false, 0, 32).unwrap(),
            VersionMeta {
                created: 0,
                public_key: None,
            },
        );
        let j = h.to_json(&BTreeMap::new());
        assert!(j.get("keys").is_none());
        assert_eq!(j["key_size"], 32);
    }
}
