//! Checking a JWT: size, header, algorithm, signature (through `jsonwebtoken`), then
//! the time claims with Vault's three leeways. The claims are returned for the
//! auth method's own bindings (issuer, audience, subject, bound claims).

use jsonwebtoken::{Algorithm, Validation};
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
    /// A time claim is not a number.
    #[error("token has a time claim that is not a number")]
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

/// The `kid` a token's header names (for choosing keys before verifying). Refuses
/// oversized tokens, malformed headers and algorithms Sigil never accepts.
pub fn header_kid(jwt: &str) -> Result<Option<String>, JwtError> {
    if jwt.len() > MAX_JWT_BYTES {
        return Err(JwtError::TooLarge);
    }
    raw_alg(jwt)?;
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| JwtError::Malformed)?;
    Ok(header.kid)
}

/// Verifies `jwt` against `keys`, allowing only `algs` (asymmetric), then checks the
/// time claims at `now` (Unix seconds) with `leeways`: `exp` is required (beyond
/// Vault, which accepts a token with only `iat` or `nbf`); `nbf` and `iat` are
/// checked when present. Returns the claims.
pub fn verify(
    jwt: &str,
    keys: &KeySet,
    algs: &[Algorithm],
    leeways: Leeways,
    now: i64,
) -> Result<Claims, JwtError> {
    if jwt.len() > MAX_JWT_BYTES {
        return Err(JwtError::TooLarge);
    }
    // The algorithm is judged first, from the raw header, so that `alg: none` or an
    // HMAC algorithm gets its own clear answer.
    let alg = raw_alg(jwt)?;
    if !algs.contains(&alg) {
        return Err(JwtError::Algorithm);
    }
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| JwtError::Malformed)?;
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let mut claims = None;
    for k in keys.candidates(header.kid.as_deref(), alg) {
        if k.key.family() != alg.family() {
            continue;
        }
        match jsonwebtoken::decode::<Value>(jwt, &k.key, &validation) {
            Ok(data) => {
                claims = Some(data.claims);
                break;
            }
            Err(e) => match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature
                | jsonwebtoken::errors::ErrorKind::InvalidAlgorithm
                | jsonwebtoken::errors::ErrorKind::InvalidKeyFormat
                | jsonwebtoken::errors::ErrorKind::InvalidEcdsaKey
                | jsonwebtoken::errors::ErrorKind::InvalidRsaKey(_) => continue,
                _ => return Err(JwtError::Malformed),
            },
        }
    }
    let Some(Value::Object(claims)) = claims else {
        return Err(if claims.is_some() {
            JwtError::Claims
        } else {
            JwtError::Signature
        });
    };
    check_times(&claims, leeways, now)?;
    Ok(claims)
}

/// The header's `alg`, which must name one of [`ASYMMETRIC_ALGS`].
fn raw_alg(jwt: &str) -> Result<Algorithm, JwtError> {
    use base64::Engine as _;
    let first = jwt.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(first.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed)?;
    let header: Value = serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
    match header.get("alg") {
        Some(Value::String(name)) => parse_alg(name).ok_or(JwtError::Algorithm),
        _ => Err(JwtError::Malformed),
    }
}

fn time_claim(claims: &Claims, name: &str) -> Result<Option<i64>, JwtError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or(JwtError::BadTime),
        Some(_) => Err(JwtError::BadTime),
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

/// The token's audiences: `aud` as a string or a list of strings (other shapes count
/// as none that can match).
pub fn audiences(claims: &Claims) -> Option<Vec<&str>> {
    match claims.get("aud")? {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(a) => Some(a.iter().filter_map(Value::as_str).collect()),
        _ => Some(Vec::new()),
    }
}

/// Vault's audience rule: with bound audiences, any one in `aud` suffices; with none
/// bound, a token that carries `aud` is refused.
pub fn check_audience(claims: &Claims, bound: &[String]) -> Result<(), JwtError> {
    match (audiences(claims), bound.is_empty()) {
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
        assert_eq!(
            verify(
                &big,
                &KeySet::default(),
                ASYMMETRIC_ALGS,
                Leeways::default(),
                0
            ),
            Err(JwtError::TooLarge)
        );
    }
}
