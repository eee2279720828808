//! The `vault:v{version}:{base64}` format of ciphertexts, signatures and HMACs
//! (OpenBao's `DefaultVersionTemplate`, `getVersionPrefix` and the parsing in
//! `DecryptWithFactory`, `VerifySignatureWithOptions` and `pathHMACVerify`), with
//! Vault's error texts. Pure string handling: the fuzz target `transit_ciphertext`
//! drives it.

use super::error::TransitError;

/// The prefix before the version number.
pub const PREFIX: &str = "vault:v";

/// What is being parsed: the error texts differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A ciphertext (`decrypt`, `rewrap`).
    Ciphertext,
    /// A signature (`verify`).
    Signature,
    /// An HMAC (`verify` with `hmac`).
    Hmac,
}

/// A parsed value: the version as written (Go's `strconv.Atoi`: sign allowed, any
/// 64-bit integer) and the base64 body, not yet decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versioned<'a> {
    /// The version number.
    pub version: i64,
    /// The text after the second `:`.
    pub body: &'a str,
}

/// Formats `vault:v{version}:{body}`.
pub fn format(version: u32, body: &str) -> String {
    format!("{PREFIX}{version}:{body}")
}

/// Splits `input` into version and body, with Vault's texts for a missing prefix, a
/// missing `:` and a version that is not an integer.
pub fn parse(input: &str, kind: Kind) -> Result<Versioned<'_>, TransitError> {
    let (no_prefix, fields, number) = match kind {
        Kind::Ciphertext => (
            "invalid ciphertext: no prefix",
            "invalid ciphertext: wrong number of fields",
            "invalid ciphertext: version number could not be decoded",
        ),
        Kind::Signature => (
            "invalid signature: no prefix",
            "invalid signature: wrong number of fields",
            "invalid signature: version number could not be decoded",
        ),
        Kind::Hmac => (
            "invalid HMAC to verify: no prefix",
            "invalid HMAC: wrong number of fields",
            "invalid HMAC: version number could not be decoded",
        ),
    };
    let rest = input
        .strip_prefix(PREFIX)
        .ok_or_else(|| TransitError::invalid(no_prefix))?;
    let (version, body) = rest
        .split_once(':')
        .ok_or_else(|| TransitError::invalid(fields))?;
    let version = atoi(version).ok_or_else(|| TransitError::invalid(number))?;
    Ok(Versioned { version, body })
}

/// Go's `strconv.Atoi` on a 64-bit platform: an optional sign and decimal digits.
fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &str, kind: Kind) -> String {
        parse(input, kind).unwrap_err().to_string()
    }

    /// The texts OpenBao 2.7 answered for these ciphertexts.
    #[test]
    fn malformed_prefixes_have_vaults_texts() {
        assert_eq!(
            err("vault:", Kind::Ciphertext),
            "invalid ciphertext: no prefix"
        );
        assert_eq!(err("x", Kind::Ciphertext), "invalid ciphertext: no prefix");
        assert_eq!(
            err("vault:v1", Kind::Ciphertext),
            "invalid ciphertext: wrong number of fields"
        );
        for v in [
            "vault:vx:AAAA",
            "vault:v99999999999999999999:AAAA",
            "vault:v:A",
            "vault:v+:A",
        ] {
            assert_eq!(
                err(v, Kind::Ciphertext),
                "invalid ciphertext: version number could not be decoded",
                "{v}"
            );
        }
        assert_eq!(err("v1:x", Kind::Signature), "invalid signature: no prefix");
        assert_eq!(
            err("vault:v1", Kind::Hmac),
            "invalid HMAC: wrong number of fields"
        );
        assert_eq!(err("x", Kind::Hmac), "invalid HMAC to verify: no prefix");
    }

    #[test]
    fn versions_parse_as_go_does() {
        let p = parse("vault:v+1:AAAA", Kind::Ciphertext).unwrap();
        assert_eq!((p.version, p.body), (1, "AAAA"));
        assert_eq!(parse("vault:v-3:", Kind::Ciphertext).unwrap().version, -3);
        assert_eq!(
            parse("vault:v007:a:b", Kind::Ciphertext).unwrap().body,
            "a:b"
        );
        assert_eq!(format(12, "QQ=="), "vault:v12:QQ==");
    }
}
