//! `export/:type/:name(/:version)` encodings (OpenBao's `path_export.go`,
//! `getExportKey`), for keys created or imported `exportable`:
//!
//! | export type      | key types            | `format` "" (default)                | `raw`   | `der` / `pem`        |
//! |------------------|----------------------|--------------------------------------|---------|----------------------|
//! | `encryption-key` | AES, ChaCha20        | base64 of the raw key                | same    | refused              |
//! | `encryption-key` | RSA                  | PEM `RSA PRIVATE KEY` (PKCS#1)       | refused | PKCS#8 (base64/PEM)  |
//! | `signing-key`    | Ed25519              | base64 of Go's 64-byte private key   | same    | PKCS#8 (base64/PEM)  |
//! | `signing-key`    | ECDSA                | PEM `EC PRIVATE KEY` (SEC 1), trimmed| refused | PKCS#8 (base64/PEM)  |
//! | `signing-key`    | RSA                  | as `encryption-key`                  |         |                      |
//! | `hmac-key`       | any                  | base64 of the version's HMAC key     | same    | refused              |
//! | `public-key`     | Ed25519, ECDSA, RSA  | base64 (Ed25519) or PEM `PUBLIC KEY` | Ed25519 | SPKI (base64/PEM)    |
//!
//! PEM is Go's (`pem.EncodeToMemory`: LF, 64 columns, final newline); OpenBao trims
//! the final newline of ECDSA and Ed25519 PEM but not of RSA's. The values are key
//! material: they go into the response only, never into a log or an error.

use aws_lc_rs::encoding::{AsDer, EcPrivateKeyRfc5915Der, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::signature::KeyPair as _;

use super::b64;
use super::error::{Result, TransitError};
use super::key_type::KeyType;
use super::material::Material;

/// What `export/:type` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportType {
    /// `encryption-key`.
    Encryption,
    /// `signing-key`.
    Signing,
    /// `hmac-key`.
    Hmac,
    /// `public-key` (no `exportable` needed).
    Public,
}

impl ExportType {
    /// Parses the path's `type` (`invalid export type: ...` otherwise).
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "encryption-key" => Ok(Self::Encryption),
            "signing-key" => Ok(Self::Signing),
            "hmac-key" => Ok(Self::Hmac),
            "public-key" => Ok(Self::Public),
            "certificate-chain" => Err(TransitError::invalid(
                "export type certificate-chain is not supported by Sigil",
            )),
            _ => Err(TransitError::invalid(format!("invalid export type: {s}"))),
        }
    }

    /// Checks the export type against the key type, as OpenBao before it reads keys.
    pub fn check(self, kt: KeyType, exportable: bool) -> Result<()> {
        if !exportable && self != Self::Public {
            return Err(TransitError::invalid(
                "private key material is not exportable",
            ));
        }
        match self {
            Self::Encryption if !kt.encryption_supported() => Err(TransitError::invalid(
                "encryption not supported for the key",
            )),
            Self::Signing if !kt.signing_supported() => {
                Err(TransitError::invalid("signing not supported for the key"))
            }
            _ => Ok(()),
        }
    }
}

/// Checks `format` (`""`, `raw`, `der`, `pem`).
pub fn check_format(format: &str) -> Result<()> {
    match format {
        "" | "raw" | "der" | "pem" => Ok(()),
        f => Err(TransitError::invalid(format!("invalid format: {f}"))),
    }
}

fn pem(label: &str, der: &[u8], trim: bool) -> String {
    let block = pem::Pem::new(label, der.to_vec());
    let s = pem::encode_config(
        &block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    if trim { s.trim().to_owned() } else { s }
}

/// PKCS#8 `der` (base64) or `pem` (`PRIVATE KEY`, trimmed as OpenBao's EC and
/// Ed25519 exports).
fn pkcs8(der: &[u8], format: &str) -> String {
    if format == "der" {
        b64::encode(der)
    } else {
        pem("PRIVATE KEY", der, true)
    }
}

fn failed(_: aws_lc_rs::error::Unspecified) -> TransitError {
    TransitError::Internal("key export encoding failed")
}

/// The `privateKey` OCTET STRING of a PKCS#8 `PrivateKeyInfo` (for RSA: the PKCS#1
/// `RSAPrivateKey`). `None` when the DER is not shaped so.
fn pkcs8_inner(der: &[u8]) -> Option<&[u8]> {
    /// One TLV: (tag, contents, rest).
    fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, b) = b.split_first()?;
        let (&l0, mut b) = b.split_first()?;
        let len = if l0 < 0x80 {
            usize::from(l0)
        } else {
            let n = usize::from(l0 & 0x7f);
            if n == 0 || n > 4 || b.len() < n {
                return None;
            }
            let v = b[..n]
                .iter()
                .fold(0usize, |a, x| (a << 8) | usize::from(*x));
            b = &b[n..];
            v
        };
        (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
    }
    let (0x30, seq, _) = tlv(der)? else {
        return None;
    };
    let (0x02, _, rest) = tlv(seq)? else {
        return None;
    };
    let (0x30, _, rest) = tlv(rest)? else {
        return None;
    };
    let (0x04, inner, _) = tlv(rest)? else {
        return None;
    };
    Some(inner)
}

fn rsa_private(m: &Material, format: &str) -> Result<String> {
    let (pair, _) = m.rsa().ok_or(TransitError::Internal("not an rsa key"))?;
    if format == "raw" {
        return Err(TransitError::invalid(
            "unknown key format for rsa key; supported values are ``, `der`, or `pem`",
        ));
    }
    let pkcs8: Pkcs8V1Der<'static> = pair.as_der().map_err(failed)?;
    Ok(match format {
        "der" => b64::encode(pkcs8.as_ref()),
        "pem" => pem("PRIVATE KEY", pkcs8.as_ref(), false),
        _ => {
            let pkcs1 =
                pkcs8_inner(pkcs8.as_ref()).ok_or(TransitError::Internal("rsa pkcs8 malformed"))?;
            pem("RSA PRIVATE KEY", pkcs1, false)
        }
    })
}

fn ec_refused() -> TransitError {
    TransitError::invalid("unknown key format for ec key; supported values are ``, `der`, or `pem`")
}

fn symmetric_refused() -> TransitError {
    TransitError::invalid("unknown format for HMAC key; supported values are `` or `raw`")
}

/// The export of version material `m` of a key of type `kt` as `t` in `format`
/// (checked by [`check_format`] and [`ExportType::check`]).
pub fn export(kt: KeyType, m: &Material, t: ExportType, format: &str) -> Result<String> {
    let asym = matches!(format, "der" | "pem");
    if m.is_public_only() && matches!(t, ExportType::Encryption | ExportType::Signing) {
        return Err(TransitError::invalid(
            "private key not imported for key version selected",
        ));
    }
    match t {
        ExportType::Hmac => {
            if asym {
                return Err(symmetric_refused());
            }
            Ok(b64::encode(m.hmac_key()))
        }
        ExportType::Encryption if kt.is_aead() => {
            if asym {
                return Err(symmetric_refused());
            }
            let raw = m
                .aead_raw()
                .ok_or(TransitError::Internal("not an aead key"))?;
            Ok(b64::encode(raw))
        }
        ExportType::Encryption | ExportType::Signing if kt.rsa_bits() > 0 => rsa_private(m, format),
        ExportType::Signing if kt == KeyType::Ed25519 => {
            let pair = m
                .ed25519()
                .ok_or(TransitError::Internal("not an ed25519 key"))?;
            match format {
                "" | "raw" => {
                    let go = m
                        .ed25519_go_private()
                        .ok_or(TransitError::Internal("not an ed25519 key"))?;
                    Ok(b64::encode(&go))
                }
                _ => Ok(pkcs8(pair.to_pkcs8v1().map_err(failed)?.as_ref(), format)),
            }
        }
        ExportType::Signing if kt.is_ecdsa() => {
            let pair = m.ecdsa().ok_or(TransitError::Internal("not an ec key"))?;
            match format {
                "raw" => Err(ec_refused()),
                "" => {
                    let der: EcPrivateKeyRfc5915Der<'static> =
                        pair.private_key().as_der().map_err(failed)?;
                    Ok(pem("EC PRIVATE KEY", der.as_ref(), true))
                }
                _ => Ok(pkcs8(pair.to_pkcs8v1().map_err(failed)?.as_ref(), format)),
            }
        }
        ExportType::Public if kt.signing_supported() => public(kt, m, format),
        _ => Err(TransitError::invalid(format!(
            "unknown key type {kt} for export type {}",
            match t {
                ExportType::Encryption => "encryption-key",
                ExportType::Signing => "signing-key",
                ExportType::Hmac => "hmac-key",
                ExportType::Public => "public-key",
            }
        ))),
    }
}

fn public(kt: KeyType, m: &Material, format: &str) -> Result<String> {
    if m.is_public_only() {
        let spki = m
            .verifying_key()
            .ok_or(TransitError::Internal("no public key"))?;
        return match format {
            "" | "raw" if kt == KeyType::Ed25519 => Ok(m.public_key()?.unwrap_or_default()),
            "raw" => Err(if kt.is_ecdsa() {
                ec_refused()
            } else {
                TransitError::invalid(
                    "unknown key format for rsa key; supported values are ``, `der`, or `pem`",
                )
            }),
            "der" => Ok(b64::encode(&spki)),
            _ => Ok(pem("PUBLIC KEY", &spki, kt.rsa_bits() == 0)),
        };
    }
    let spki: PublicKeyX509Der<'static> = if let Some(p) = m.ed25519() {
        if format.is_empty() || format == "raw" {
            return Ok(b64::encode(p.public_key().as_ref()));
        }
        p.public_key().as_der().map_err(failed)?
    } else if let Some(p) = m.ecdsa() {
        p.public_key().as_der().map_err(failed)?
    } else if let Some((p, _)) = m.rsa() {
        p.public_key().as_der().map_err(failed)?
    } else {
        return Err(TransitError::Internal("no public key"));
    };
    if format == "raw" {
        return Err(if kt.is_ecdsa() {
            ec_refused()
        } else {
            TransitError::invalid(
                "unknown key format for rsa key; supported values are ``, `der`, or `pem`",
            )
        });
    }
    Ok(if format == "der" {
        b64::encode(spki.as_ref())
    } else {
        pem("PUBLIC KEY", spki.as_ref(), kt.rsa_bits() == 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_openbaos() {
        let (aes, _) = Material::generate(KeyType::Aes256Gcm96, 0).unwrap();
        let raw = export(KeyType::Aes256Gcm96, &aes, ExportType::Encryption, "").unwrap();
        assert_eq!(b64::decode(&raw).unwrap(), aes.aead_raw().unwrap());
        let h = export(KeyType::Aes256Gcm96, &aes, ExportType::Hmac, "").unwrap();
        assert_eq!(b64::decode(&h).unwrap(), aes.hmac_key());
        assert!(export(KeyType::Aes256Gcm96, &aes, ExportType::Hmac, "pem").is_err());

        let (ed, _) = Material::generate(KeyType::Ed25519, 0).unwrap();
        let s = export(KeyType::Ed25519, &ed, ExportType::Signing, "").unwrap();
        assert_eq!(b64::decode(&s).unwrap().len(), 64);
        let p = export(KeyType::Ed25519, &ed, ExportType::Signing, "pem").unwrap();
        assert!(p.starts_with("-----BEGIN PRIVATE KEY-----\n") && !p.ends_with('\n'));

        let (ec, _) = Material::generate(KeyType::EcdsaP256, 0).unwrap();
        let e = export(KeyType::EcdsaP256, &ec, ExportType::Signing, "").unwrap();
        assert!(
            e.starts_with("-----BEGIN EC PRIVATE KEY-----\n"),
            "{}",
            e.len()
        );
        assert!(e.ends_with("-----END EC PRIVATE KEY-----"));
        let der =
            b64::decode(&export(KeyType::EcdsaP256, &ec, ExportType::Signing, "der").unwrap())
                .unwrap();
        assert!(crate::transit::import::material_key(KeyType::EcdsaP256, &der).is_ok());
        let pubk = export(KeyType::EcdsaP256, &ec, ExportType::Public, "").unwrap();
        assert_eq!(pubk, ec.public_key().unwrap().unwrap().trim());

        let (rsa, _) = Material::generate(KeyType::Rsa2048, 0).unwrap();
        let r = export(KeyType::Rsa2048, &rsa, ExportType::Encryption, "").unwrap();
        assert!(r.starts_with("-----BEGIN RSA PRIVATE KEY-----\n") && r.ends_with("-----\n"));
        let pkcs1 = pem::parse(&r).unwrap();
        assert_eq!(pkcs1.contents()[0], 0x30);
        assert!(export(KeyType::Rsa2048, &rsa, ExportType::Signing, "raw").is_err());
        assert_eq!(
            export(KeyType::Rsa2048, &rsa, ExportType::Public, "").unwrap(),
            rsa.public_key().unwrap().unwrap()
        );
    }

    #[test]
    fn checks_have_vaults_texts() {
        assert_eq!(
            ExportType::parse("x").unwrap_err().to_string(),
            "invalid export type: x"
        );
        let t = ExportType::parse("encryption-key").unwrap();
        assert_eq!(
            t.check(KeyType::Aes256Gcm96, false)
                .unwrap_err()
                .to_string(),
            "private key material is not exportable"
        );
        assert_eq!(
            t.check(KeyType::Ed25519, true).unwrap_err().to_string(),
            "encryption not supported for the key"
        );
        assert_eq!(
            ExportType::Signing
                .check(KeyType::Hmac, true)
                .unwrap_err()
                .to_string(),
            "signing not supported for the key"
        );
        assert!(ExportType::Public.check(KeyType::Ed25519, false).is_ok());
        assert_eq!(
            check_format("x").unwrap_err().to_string(),
            "invalid format: x"
        );
        assert!(pkcs8_inner(&[0x30, 0x03, 0x02, 0x01]).is_none());
    }
}
