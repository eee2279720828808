//! The transit secrets engine: encryption as a service (Vault's `transit`; OpenBao's
//! `builtin/logical/transit` and `sdk/helper/keysutil` are the reference). Named keys
//! with versions encrypt, decrypt, rewrap, sign, verify and HMAC data that never
//! leaves the request; ciphertexts are Vault's `vault:vN:base64`, byte for byte the
//! same format, so the same key material decrypts either side's output.
//!
//! - [`key_type`]: types and what each supports;
//! - [`policy`]: a key's options and versions, and Vault's rules on them;
//! - [`material`]: one version's secret material (generate, serialize, parse);
//! - [`auto_rotate`]: the sweeper's job rotating keys whose `auto_rotate_period`
//!   passed;
//! - [`storage`]: keys in the table, every version sealed under the keyring, and
//!   the per-process cache of opened versions (no KMS call when warm);
//! - [`ciphertext`], [`b64`]: the `vault:vN:` format and Go's base64;
//! - [`aead`], [`oaep`], [`sign`], [`digest`]: the cryptography, all aws-lc-rs;
//! - [`backup`]: `backup/:name` and `restore` in OpenBao's format;
//! - [`request`], [`ops`], [`tools`]: requests and the operations, with Vault's texts;
//! - [`error`]: failures (400 with Vault's text, or 500).
//!
//! The paths are in [`crate::backend`]'s transit table; docs/transit.md describes the
//! engine and its differences from Vault.

pub mod aead;
pub mod auto_rotate;
pub mod b64;
pub mod backup;
pub mod ciphertext;
pub mod digest;
pub mod error;
pub mod export;
pub mod import;
pub mod key_type;
pub mod material;
pub mod oaep;
pub mod ops;
pub mod policy;
pub mod request;
pub mod sign;
pub mod storage;
pub mod tools;

#[cfg(test)]
mod vectors;

pub use error::TransitError;
pub use storage::{KeyCache, Keys, Loaded, Record};
