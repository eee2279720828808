//! Base64 as Vault's transit engine reads and writes it: Go's `base64.StdEncoding`
//! (standard alphabet, `=` padding required, CR and LF skipped, non-zero trailing bits
//! accepted), with Go's error text `illegal base64 data at input byte N`, which OpenBao
//! returns as is for bad plaintext, input and context fields.

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

/// What Go accepts without its slow path: the standard alphabet, canonical padding,
/// any trailing bits.
const FAST: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Go's `CorruptInputError`: the offset of the first byte that cannot be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorruptInput(pub usize);

impl std::fmt::Display for CorruptInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "illegal base64 data at input byte {}", self.0)
    }
}

/// Encodes `data` in standard base64 with padding (Go's `StdEncoding`).
pub fn encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

fn value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

fn skip_newlines(src: &[u8], mut si: usize) -> usize {
    while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
        si += 1;
    }
    si
}

/// Decodes standard base64 exactly as Go's `StdEncoding.DecodeString` accepts it,
/// failing with the offset Go reports. Well-formed input takes the `base64` crate's
/// decoder (what it accepts, Go accepts); anything else is read quantum by quantum, as
/// Go's `decodeQuantum`, for Go's answer (line breaks skipped, or the error's offset).
pub fn decode(s: &str) -> Result<Vec<u8>, CorruptInput> {
    FAST.decode(s).or_else(|_| decode_like_go(s))
}

fn decode_like_go(s: &str) -> Result<Vec<u8>, CorruptInput> {
    let src = s.as_bytes();
    let mut out = Vec::with_capacity(src.len() / 4 * 3 + 3);
    let mut si = 0;
    while si < src.len() {
        let mut quad = [0u8; 4];
        let mut len = 4;
        let mut j = 0;
        let mut trailing = None;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(CorruptInput(si - j));
            }
            let c = src[si];
            si += 1;
            if let Some(v) = value(c) {
                quad[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(CorruptInput(si - 1));
            }
            // Padding: only after two or three symbols.
            match j {
                0 | 1 => return Err(CorruptInput(si - 1)),
                2 => {
                    si = skip_newlines(src, si);
                    if si == src.len() {
                        return Err(CorruptInput(src.len()));
                    }
                    if src[si] != b'=' {
                        return Err(CorruptInput(si - 1));
                    }
                    si += 1;
                }
                _ => {}
            }
            si = skip_newlines(src, si);
            if si < src.len() {
                trailing = Some(CorruptInput(si));
            }
            len = j;
            break;
        }
        let v = (u32::from(quad[0]) << 18)
            | (u32::from(quad[1]) << 12)
            | (u32::from(quad[2]) << 6)
            | u32::from(quad[3]);
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..len - 1]);
        if let Some(e) = trailing {
            return Err(e);
        }
        if len < 4 {
            return Ok(out);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offsets OpenBao 2.7 answered for these plaintexts (`transit/encrypt`).
    #[test]
    fn errors_match_go() {
        for (input, at) in [
            ("aGVsbG8", 4),
            ("aGVsbG8==", 8),
            ("a", 0),
            ("aGVsbA=a", 6),
            ("aGVs!G8=", 4),
            ("=", 0),
            ("YQ==YQ==", 4),
            ("!!", 0),
        ] {
            assert_eq!(decode(input), Err(CorruptInput(at)), "{input}");
        }
        assert_eq!(
            CorruptInput(4).to_string(),
            "illegal base64 data at input byte 4"
        );
    }

    #[test]
    fn accepts_what_go_accepts() {
        assert_eq!(decode("").unwrap(), b"");
        assert_eq!(decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode("aGVsbG8=\n").unwrap(), b"hello");
        assert_eq!(decode("aGVs\r\nbG8=").unwrap(), b"hello");
        assert_eq!(decode("aG==").unwrap(), b"h");
        // Non-zero trailing bits: Go's StdEncoding is not strict.
        assert_eq!(decode("aGVsbG9=").unwrap(), b"hello");
        assert_eq!(
            decode(&encode(&[0, 1, 2, 250, 255])).unwrap(),
            [0, 1, 2, 250, 255]
        );
    }

    proptest::proptest! {
        #[test]
        fn round_trips_and_never_panics(data: Vec<u8>, junk: String) {
            proptest::prop_assert_eq!(decode(&encode(&data)).unwrap(), data);
            let _ = decode(&junk);
        }

        /// The fast path answers as Go's quantum-by-quantum reading does.
        #[test]
        fn fast_path_agrees_with_go(text in "[A-Za-z0-9+/=\\n!]{0,24}") {
            let slow = decode_like_go(&text);
            if let Ok(fast) = FAST.decode(&text) {
                proptest::prop_assert_eq!(Ok(fast), slow);
            }
        }
    }
}
