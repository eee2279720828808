//! The key-less endpoints: `random(/:source)(/:bytes)` (OpenBao's
//! `HandleRandomAPI`) and `hash(/:algorithm)` (`pathHashWrite`), with Vault's texts.

use serde_json::{Value as Json, json};

use super::b64;
use super::digest::HashAlgorithm;
use super::error::{Result, TransitError};
use super::request;
use crate::http::params::Body;

/// Most random bytes one request may ask for (Vault's `APIMaxBytes`, 128 KiB); Vault
/// accepts up to one less.
pub const MAX_RANDOM_BYTES: i64 = 128 * 1024;

fn encode(bytes: &[u8], format: &str) -> Result<String> {
    match format {
        "hex" => Ok(hex::encode(bytes)),
        "base64" => Ok(b64::encode(bytes)),
        _ => Err(TransitError::invalid(format!(
            "unsupported encoding format {format:?}; must be \"hex\" or \"base64\""
        ))),
    }
}

/// `random`: `source` and `bytes` as the URL gives them (`""` when absent); returns
/// `data` and Vault's warning for the `seal` source.
pub fn random(url_source: &str, url_bytes: &str, body: &Body) -> Result<(Json, Option<String>)> {
    let atoi = |s: &str| {
        s.parse::<i64>().map_err(|_| {
            TransitError::invalid(format!(
                "error parsing url-set byte count: strconv.Atoi: parsing {s:?}: invalid syntax"
            ))
        })
    };
    let valid_source = |s: &str| matches!(s, "platform" | "seal" | "all");
    let body_bytes = || Ok::<_, TransitError>(request::int(body, "bytes")?.unwrap_or(32));
    let (source, bytes) = match (url_source, url_bytes) {
        ("", _) => ("platform", body_bytes()?),
        (s, "") if valid_source(s) => (s, body_bytes()?),
        (s, "") => ("platform", atoi(s)?),
        (s, b) => (s, atoi(b)?),
    };
    let format = request::string(body, "format")?.unwrap_or_else(|| "base64".into());
    if bytes < 1 {
        return Err(TransitError::invalid("'bytes' cannot be less than 1"));
    }
    if bytes > MAX_RANDOM_BYTES {
        return Err(TransitError::invalid(format!(
            "'bytes' should be less than {MAX_RANDOM_BYTES}"
        )));
    }
    if format != "hex" && format != "base64" {
        return Err(TransitError::invalid(format!(
            "unsupported encoding format {format:?}; must be \"hex\" or \"base64\""
        )));
    }
    let warning = match source {
        "platform" | "all" => None,
        "seal" => {
            Some("no seal/entropy augmentation available, using platform entropy source".to_owned())
        }
        other => {
            return Err(TransitError::invalid(format!(
                "unsupported entropy source {other:?}; must be \"platform\" or \"seal\", or \"all\""
            )));
        }
    };
    let n = usize::try_from(bytes).map_err(|_| TransitError::Internal("byte count"))?;
    let random = zeroize::Zeroizing::new(
        crate::crypto::random_bytes(n)
            .map_err(|_| TransitError::Internal("random generator failed"))?,
    );
    Ok((
        json!({ "random_bytes": encode(&random, &format)? }),
        warning,
    ))
}

/// `hash`: the digest of the base64 `input` with the URL's or the body's
/// `algorithm` (default `sha2-256`), in `format` `hex` (default) or `base64`.
pub fn hash(url_algorithm: &str, body: &Body) -> Result<Json> {
    let input =
        request::string(body, "input")?.ok_or_else(|| TransitError::invalid("input missing"))?;
    let format = request::string(body, "format")?.unwrap_or_else(|| "hex".into());
    let algorithm = if url_algorithm.is_empty() {
        request::string(body, "algorithm")?.unwrap_or_else(|| "sha2-256".into())
    } else {
        url_algorithm.to_owned()
    };
    let input = b64::decode(&input)
        .map_err(|e| TransitError::invalid(format!("unable to decode input as base64: {e}")))?;
    if format != "hex" && format != "base64" {
        return Err(TransitError::invalid(format!(
            "unsupported encoding format {format}; must be \"hex\" or \"base64\""
        )));
    }
    let alg = HashAlgorithm::parse(&algorithm)
        .filter(|a| !matches!(a, HashAlgorithm::None | HashAlgorithm::Sha1))
        .ok_or_else(|| TransitError::invalid(format!("unsupported algorithm {algorithm}")))?;
    let sum = alg.hash(&input).ok_or_else(|| {
        TransitError::invalid(format!("algorithm {algorithm} is not supported by Sigil"))
    })?;
    Ok(json!({ "sum": encode(&sum, &format)? }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Json) -> Body {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn random_follows_vault() {
        let (d, w) = random("", "", &body(json!({}))).unwrap();
        assert_eq!(
            b64::decode(d["random_bytes"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert!(w.is_none());
        let (d, _) = random("5", "", &body(json!({"format": "hex"}))).unwrap();
        assert_eq!(d["random_bytes"].as_str().unwrap().len(), 10);
        assert!(random("seal", "4", &body(json!({}))).unwrap().1.is_some());
        let e = |s, b| random(s, b, &body(json!({}))).unwrap_err().to_string();
        assert_eq!(e("0", ""), "'bytes' cannot be less than 1");
        assert_eq!(
            e("abc", ""),
            "error parsing url-set byte count: strconv.Atoi: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            e("x", "4"),
            "unsupported entropy source \"x\"; must be \"platform\" or \"seal\", or \"all\""
        );
        assert_eq!(e("99999999", ""), "'bytes' should be less than 131072");
    }

    #[test]
    fn hash_follows_vault() {
        let d = hash("", &body(json!({"input": "aGVsbG8="}))).unwrap();
        assert_eq!(
            d["sum"],
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let e = |a, b| hash(a, &body(b)).unwrap_err().to_string();
        assert_eq!(
            e("md5", json!({"input": "aGVsbG8="})),
            "unsupported algorithm md5"
        );
        assert_eq!(e("", json!({})), "input missing");
        assert_eq!(
            e("", json!({"input": "!"})),
            "unable to decode input as base64: illegal base64 data at input byte 0"
        );
    }
}
