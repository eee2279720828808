//! Checking a JWT: size, header, algorithm, signature (aws-lc-rs, with keys parsed
//! once per key set), then the time claims with Vault's three leeways. The claims are
//! returned for the auth method's own bindings (issuer, audience, subject, bound
//! claims).

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::keys::KeySet;

/// Largest JWT accepted, in bytes (checked before any parsing).
pub const MAX_JWT_BYTES: usize = 16 * 1024;

/// The claims of a verified token.
pub type Claims = Map<String, Value>;

/// Leeways in seconds, as Vault's JWT roles hold them: `0` means Vault's default
/// (60 s clock skew, 150 s for expiry and not-before), `-1` means none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Leeways {
    /// `clock_skew_leeway`: added to every time check.
    pub clock_skew: i64,
    /// `expiration_leeway`: added to the `exp` check.
    pub expiration: i64,
    /// `not_before_leeway`: added to the `nbf` check.
    pub not_before: i64,
}

fn effective(v: i64, default: i64) -> i64 {
    match v {
        0 => default,
        v if v < 0 => 0,
        v => v,
    }
}

impl Leeways {
    /// Seconds of clock skew allowed (Vault's default 60).
    pub fn skew(&self) -> i64 {
        effective(self.clock_skew, 60)
    }
    /// Seconds a token is accepted past `exp`, skew included (Vault's default 150 + 60).
    pub fn after_expiry(&self) -> i64 {
        self.skew() + effective(self.expiration, 150)
    }
    /// Seconds a token is accepted before `nbf`, skew included (Vault's default 150 + 60).
    pub fn before_not_before(&self) -> i64 {
        self.skew() + effective(self.not_before, 150)
    }
}

/// Why a token was refused. Messages are fixed strings (never the token or its claims).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Larger than [`MAX_JWT_BYTES`].
    #[error("token is larger than 16 KiB")]
    TooLarge,
    /// Not three base64url parts with a JSON header.
    #[error("token is malformed")]
    Malformed,
    /// `alg` is `none`, symmetric, unknown, or not in `jwt_supported_algs`.
    #[error("token is signed with an algorithm that is not allowed")]
    Algorithm,
    /// No configured key verifies the signature (unknown `kid` included).
    #[error("token signature could not be verified with any known key")]
    Signature,
    /// The claims are not a JSON object.
    #[error("token claims are malformed")]
    Claims,
    /// No `exp` claim: Sigil does not accept tokens that never expire.
    #[error("token has no \"exp\" claim")]
    NoExpiry,
    /// Expired, beyond the leeway.
    #[error("token is expired")]
    Expired,
    /// `nbf` in the future, beyond the leeway.
    #[error("token is not yet valid")]
    NotYetValid,
    /// `iat` in the future, beyond the clock skew.
    #[error("token was issued in the future")]
    IssuedInFuture,
    /// A time claim is not a NumericDate from 0 to [`MAX_NUMERIC_DATE`].
    #[error("token has a time claim that is not a number of seconds from 1970 to 9999")]
    BadTime,
    /// `iss` differs from the bound issuer.
    #[error("token issuer does not match the configured issuer")]
    Issuer,
    /// The role binds audiences and `aud` holds none of them.
    #[error("audience claim does not match any expected audience")]
    Audience,
    /// The role binds no audience but the token carries one (Vault's rule).
    #[error("audience claim found in JWT but no audiences bound to the role")]
    UnexpectedAudience,
}

pub use super::keys::{ASYMMETRIC_ALGS, parse_alg};

/// A token split into its parts, its header read (once) but nothing verified yet.
pub struct Parsed<'a> {
    /// The header's algorithm: always one of [`ASYMMETRIC_ALGS`].
    pub alg: Algorithm,
    /// The header's `kid`, if any.
    pub kid: Option<String>,
    /// `header.payload`, the signed bytes.
    message: &'a str,
    /// The payload, base64url.
    payload: &'a str,
    /// The signature, base64url.
    signature: &'a str,
}

fn b64(part: &str) -> Result<Vec<u8>, JwtError> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed)
}

/// Splits `jwt` and reads its header: refuses oversized tokens, anything but three
/// base64url parts with a JSON header, algorithms Sigil never accepts (`none`, HMAC,
/// unknown; judged first so they get their own answer), and headers with `crit`
/// extensions (RFC 7515 section 4.1.11: none is understood here).
pub fn parse(jwt: &str) -> Result<Parsed<'_>, JwtError> {
    if jwt.len() > MAX_JWT_BYTES {
        return Err(JwtError::TooLarge);
    }
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Value = serde_json::from_slice(&b64(header)?).map_err(|_| JwtError::Malformed)?;
    let alg = match header.get("alg") {
        Some(Value::String(name)) => parse_alg(name).ok_or(JwtError::Algorithm)?,
        _ => return Err(JwtError::Malformed),
    };
    if header.get("crit").is_some() {
        return Err(JwtError::Malformed);
    }
    let kid = match header.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(JwtError::Malformed),
    };
    Ok(Parsed {
        alg,
        kid,
        message: &jwt[..jwt.len() - signature.len() - 1],
        payload,
        signature,
    })
}

/// Verifies a parsed token against `keys`, allowing only `algs`, then checks the time
/// claims at `now` (Unix seconds) with `leeways`: `exp` is required (beyond Vault,
/// which accepts a token with only `iat` or `nbf`); `nbf` and `iat` are checked when
/// present. Returns the claims. The signature is checked with the keys parsed when
/// the set was built (aws-lc-rs), each only under the algorithms it may verify.
pub fn verify(
    token: &Parsed<'_>,
    keys: &KeySet,
    algs: &[Algorithm],
    leeways: Leeways,
    now: i64,
) -> Result<Claims, JwtError> {
    let alg = token.alg;
    if !algs.contains(&alg) {
        return Err(JwtError::Algorithm);
    }
    let signature = b64(token.signature)?;
    let verified = keys
        .candidates(token.kid.as_deref(), alg)
        .any(|k| k.verifies(alg, token.message.as_bytes(), &signature));
    if !verified {
        return Err(JwtError::Signature);
    }
    let claims: Claims =
        serde_json::from_slice(&b64(token.payload)?).map_err(|_| JwtError::Claims)?;
    check_times(&claims, leeways, now)?;
    Ok(claims)
}

/// Latest NumericDate accepted in `exp`, `nbf` and `iat`: 9999-12-31T23:59:59Z.
/// Anything later (`1e308`, `u64::MAX`) is not a date but a way to say "never".
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// A NumericDate claim (RFC 7519 section 2): a JSON number of seconds since the epoch,
/// fractions truncated, from 0 to [`MAX_NUMERIC_DATE`]. Anything else is refused.
fn time_claim(claims: &Claims, name: &str) -> Result<Option<i64>, JwtError> {
    let secs = match claims.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => i,
            None => match n.as_f64() {
                Some(f) if f.is_finite() && (0.0..=MAX_NUMERIC_DATE as f64).contains(&f) => {
                    f.trunc() as i64
                }
                _ => return Err(JwtError::BadTime),
            },
        },
        Some(_) => return Err(JwtError::BadTime),
    };
    if (0..=MAX_NUMERIC_DATE).contains(&secs) {
        Ok(Some(secs))
    } else {
        Err(JwtError::BadTime)
    }
}

/// Vault's time rules (hashicorp/cap `jwt.Validator`), with `exp` required.
fn check_times(claims: &Claims, leeways: Leeways, now: i64) -> Result<(), JwtError> {
    let exp = time_claim(claims, "exp")?.ok_or(JwtError::NoExpiry)?;
    if now.saturating_sub(leeways.after_expiry()) > exp {
        return Err(JwtError::Expired);
    }
    if let Some(nbf) = time_claim(claims, "nbf")?
        && now.saturating_add(leeways.before_not_before()) < nbf
    {
        return Err(JwtError::NotYetValid);
    }
    if let Some(iat) = time_claim(claims, "iat")?
        && now.saturating_add(leeways.skew()) < iat
    {
        return Err(JwtError::IssuedInFuture);
    }
    Ok(())
}

/// Checks `iss` against the expected issuer (none expected: any or no issuer).
pub fn check_issuer(claims: &Claims, expected: Option<&str>) -> Result<(), JwtError> {
    match expected {
        None | Some("") => Ok(()),
        Some(want) => match claims.get("iss") {
            Some(Value::String(iss)) if iss == want => Ok(()),
            _ => Err(JwtError::Issuer),
        },
    }
}

/// The token's audiences (`None`: no `aud` claim). RFC 7519 allows a string or a list
/// of strings; any other shape (a number, a list holding a non-string) is
/// [`JwtError::Claims`], as Vault's JWT library refuses to parse it.
pub fn audiences(claims: &Claims) -> Result<Option<Vec<&str>>, JwtError> {
    match claims.get("aud") {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s.as_str()])),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().ok_or(JwtError::Claims))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(JwtError::Claims),
    }
}

/// Vault's audience rule: with bound audiences, any one in `aud` suffices; with none
/// bound, a token that carries `aud` is refused. A malformed `aud` is
/// [`JwtError::Claims`].
pub fn check_audience(claims: &Claims, bound: &[String]) -> Result<(), JwtError> {
    match (audiences(claims)?, bound.is_empty()) {
        (None, true) => Ok(()),
        (Some(_), true) => Err(JwtError::UnexpectedAudience),
        (None, false) => Err(JwtError::Audience),
        (Some(auds), false) => {
            if auds.iter().any(|a| bound.iter().any(|b| b == a)) {
                Ok(())
            } else {
                Err(JwtError::Audience)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Claims {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn leeway_defaults_follow_vault() {
        let d = Leeways::default();
        assert_eq!(
            (d.skew(), d.after_expiry(), d.before_not_before()),
            (60, 210, 210)
        );
        let off = Leeways {
            clock_skew: -1,
            expiration: -1,
            not_before: -1,
        };
        assert_eq!(
            (off.skew(), off.after_expiry(), off.before_not_before()),
            (0, 0, 0)
        );
    }

    #[test]
    fn time_claims() {
        let l = Leeways {
            clock_skew: -1,
            expiration: 30,
            not_before: -1,
        };
        let now = 1_000_000;
        assert_eq!(
            check_times(&claims(json!({"exp": now - 30})), l, now),
            Ok(())
        );
        assert_eq!(
            check_times(&claims(json!({"exp": now - 31})), l, now),
            Err(JwtError::Expired)
        );
        assert_eq!(
            check_times(&claims(json!({"exp": now + 60, "nbf": now + 1})), l, now),
            Err(JwtError::NotYetValid)
        );
        assert_eq!(
            check_times(&claims(json!({"exp": now + 60, "iat": now + 1})), l, now),
            Err(JwtError::IssuedInFuture)
        );
        assert_eq!(
            check_times(&claims(json!({"iat": now})), l, now),
            Err(JwtError::NoExpiry)
        );
        assert_eq!(
            check_times(&claims(json!({"exp": "soon"})), l, now),
            Err(JwtError::BadTime)
        );
        assert_eq!(
            check_times(&claims(json!({"exp": (now + 60) as f64 + 0.5})), l, now),
            Ok(())
        );
    }

    #[test]
    fn numeric_dates_must_be_finite_and_in_range() {
        let l = Leeways::default();
        let now = 1_700_000_000;
        for exp in [
            json!(1e308),
            json!(u64::MAX),
            json!(i64::MAX),
            json!(MAX_NUMERIC_DATE + 1),
            json!(-1),
            json!(-1e308),
            json!(253_402_300_800.5),
        ] {
            assert_eq!(
                check_times(&claims(json!({ "exp": exp })), l, now),
                Err(JwtError::BadTime),
                "{exp}"
            );
        }
        assert_eq!(
            check_times(&claims(json!({"exp": MAX_NUMERIC_DATE})), l, now),
            Ok(())
        );
        assert_eq!(
            check_times(&claims(json!({"exp": now + 60, "nbf": 1e308})), l, now),
            Err(JwtError::BadTime)
        );
        assert_eq!(
            check_times(&claims(json!({"exp": now + 60, "iat": -5})), l, now),
            Err(JwtError::BadTime)
        );
    }

    #[test]
    fn audience_rules() {
        let bound = vec!["sigil".to_owned(), "other".to_owned()];
        assert_eq!(
            check_audience(&claims(json!({"aud": ["x", "sigil"]})), &bound),
            Ok(())
        );
        assert_eq!(
            check_audience(&claims(json!({"aud": "x"})), &bound),
            Err(JwtError::Audience)
        );
        assert_eq!(
            check_audience(&claims(json!({})), &bound),
            Err(JwtError::Audience)
        );
        assert_eq!(check_audience(&claims(json!({})), &[]), Ok(()));
        assert_eq!(
            check_audience(&claims(json!({"aud": "sigil"})), &[]),
            Err(JwtError::UnexpectedAudience)
        );
        for malformed in [
            json!({"aud": ["sigil", {}]}),
            json!({"aud": ["sigil", 1]}),
            json!({"aud": 7}),
            json!({"aud": null}),
        ] {
            for b in [&bound[..], &[]] {
                assert_eq!(
                    check_audience(&claims(malformed.clone()), b),
                    Err(JwtError::Claims),
                    "{malformed}"
                );
            }
        }
    }

    #[test]
    fn hmac_and_none_are_never_supported_algorithms() {
        for name in ["HS256", "HS384", "HS512", "none", "None", ""] {
            assert_eq!(parse_alg(name), None, "{name}");
        }
        assert_eq!(parse_alg("ES256"), Some(Algorithm::ES256));
    }

    #[test]
    fn oversized_tokens_are_refused_before_parsing() {
        let big = "a".repeat(MAX_JWT_BYTES + 1);
        assert!(matches!(parse(&big), Err(JwtError::TooLarge)));
        assert!(matches!(parse("a.b"), Err(JwtError::Malformed)));
        assert!(matches!(parse("a.b.c.d"), Err(JwtError::Malformed)));
    }
}
