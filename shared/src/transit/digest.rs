//! Hash algorithms by Vault's names (`HashTypeMap` in OpenBao's
//! `sdk/helper/keysutil/consts.go`), their digests and HMACs, all from aws-lc-rs.
//!
//! aws-lc-rs has no SHA3-224: `sha3-224` is refused where Vault would use it
//! (docs/transit.md, "Differences"). HMAC over SHA-3 is RFC 2104 over aws-lc-rs's
//! SHA-3 digests (its `hmac` module covers SHA-1 and SHA-2 only).

use aws_lc_rs::{digest, hmac};
use zeroize::Zeroizing;

/// A hash algorithm named in a request (`hash_algorithm`, `algorithm`, or the URL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// `none`: the input is used as is (RSA PKCS#1 v1.5 over a prehashed input only).
    None,
    /// `sha1`.
    Sha1,
    /// `sha2-224`.
    Sha2_224,
    /// `sha2-256` (the default).
    Sha2_256,
    /// `sha2-384`.
    Sha2_384,
    /// `sha2-512`.
    Sha2_512,
    /// `sha3-224` (not available: no SHA3-224 in aws-lc-rs).
    Sha3_224,
    /// `sha3-256`.
    Sha3_256,
    /// `sha3-384`.
    Sha3_384,
    /// `sha3-512`.
    Sha3_512,
}

impl HashAlgorithm {
    /// The algorithm Vault names `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "none" => Self::None,
            "sha1" => Self::Sha1,
            "sha2-224" => Self::Sha2_224,
            "sha2-256" => Self::Sha2_256,
            "sha2-384" => Self::Sha2_384,
            "sha2-512" => Self::Sha2_512,
            "sha3-224" => Self::Sha3_224,
            "sha3-256" => Self::Sha3_256,
            "sha3-384" => Self::Sha3_384,
            "sha3-512" => Self::Sha3_512,
            _ => return None,
        })
    }

    /// Vault's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Sha1 => "sha1",
            Self::Sha2_224 => "sha2-224",
            Self::Sha2_256 => "sha2-256",
            Self::Sha2_384 => "sha2-384",
            Self::Sha2_512 => "sha2-512",
            Self::Sha3_224 => "sha3-224",
            Self::Sha3_256 => "sha3-256",
            Self::Sha3_384 => "sha3-384",
            Self::Sha3_512 => "sha3-512",
        }
    }

    /// The aws-lc-rs digest (`None` for `none` and `sha3-224`).
    pub fn digest_algorithm(self) -> Option<&'static digest::Algorithm> {
        Some(match self {
            Self::None | Self::Sha3_224 => return None,
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha2_224 => &digest::SHA224,
            Self::Sha2_256 => &digest::SHA256,
            Self::Sha2_384 => &digest::SHA384,
            Self::Sha2_512 => &digest::SHA512,
            Self::Sha3_256 => &digest::SHA3_256,
            Self::Sha3_384 => &digest::SHA3_384,
            Self::Sha3_512 => &digest::SHA3_512,
        })
    }

    /// The digest of `data`; `None` when the algorithm has no digest here.
    pub fn hash(self, data: &[u8]) -> Option<Vec<u8>> {
        self.digest_algorithm()
            .map(|a| digest::digest(a, data).as_ref().to_vec())
    }

    /// HMAC of `data` under `key`; `None` for `none` and `sha3-224`.
    pub fn hmac(self, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
        let native = match self {
            Self::Sha1 => Some(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
            Self::Sha2_224 => Some(hmac::HMAC_SHA224),
            Self::Sha2_256 => Some(hmac::HMAC_SHA256),
            Self::Sha2_384 => Some(hmac::HMAC_SHA384),
            Self::Sha2_512 => Some(hmac::HMAC_SHA512),
            _ => None,
        };
        if let Some(alg) = native {
            let k = hmac::Key::new(alg, key);
            return Some(hmac::sign(&k, data).as_ref().to_vec());
        }
        self.digest_algorithm().map(|a| rfc2104(a, key, data))
    }
}

/// HMAC (RFC 2104) over an aws-lc-rs digest: `H((K ^ opad) || H((K ^ ipad) || m))`,
/// `K` hashed first when longer than the block.
fn rfc2104(alg: &'static digest::Algorithm, key: &[u8], data: &[u8]) -> Vec<u8> {
    let block = alg.block_len();
    let mut k = Zeroizing::new(vec![0u8; block]);
    if key.len() > block {
        let d = digest::digest(alg, key);
        k[..d.as_ref().len()].copy_from_slice(d.as_ref());
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| -> Zeroizing<Vec<u8>> { Zeroizing::new(k.iter().map(|x| x ^ b).collect()) };
    let mut inner = digest::Context::new(alg);
    inner.update(&pad(0x36));
    inner.update(data);
    let inner = inner.finish();
    let mut outer = digest::Context::new(alg);
    outer.update(&pad(0x5c));
    outer.update(inner.as_ref());
    outer.finish().as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in [
            "none", "sha1", "sha2-224", "sha2-256", "sha2-384", "sha2-512", "sha3-224", "sha3-256",
            "sha3-384", "sha3-512",
        ] {
            assert_eq!(HashAlgorithm::parse(n).unwrap().name(), n);
        }
        assert_eq!(HashAlgorithm::parse("md5"), None);
    }

    #[test]
    fn rfc2104_matches_the_native_hmac() {
        for key in [&b"k"[..], &[7u8; 200][..]] {
            assert_eq!(
                rfc2104(&digest::SHA256, key, b"data"),
                hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), b"data").as_ref()
            );
        }
    }

    #[test]
    fn hash_known_answer() {
        assert_eq!(
            hex::encode(HashAlgorithm::Sha2_256.hash(b"hello").unwrap()),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(HashAlgorithm::Sha3_224.hash(b"x"), None);
    }
}
