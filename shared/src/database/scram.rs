//! `password_authentication = "scram-sha-256"`: the password is sent to PostgreSQL as
//! its SCRAM-SHA-256 verifier (RFC 5802 / RFC 7677, PostgreSQL's stored form
//! `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`), so the server, its
//! statement log and `pg_stat_activity` never see the password itself (OpenBao
//! `builtin/database/postgresql/scram`).

use aws_lc_rs::{digest, hmac, pbkdf2};
use base64::Engine;

/// PostgreSQL's default iteration count.
pub const ITERATIONS: u32 = 4096;

/// The SCRAM-SHA-256 verifier of `password` with a random 16-byte salt.
pub fn hash(password: &str) -> Result<String, crate::crypto::CryptoError> {
    let salt = crate::crypto::random_bytes(16)?;
    Ok(hash_with(password, &salt, ITERATIONS))
}

/// The verifier with a given salt and iteration count.
pub fn hash_with(password: &str, salt: &[u8], iterations: u32) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut salted = [0u8; 32];
    let n = std::num::NonZeroU32::new(iterations).unwrap_or(std::num::NonZeroU32::MIN);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        n,
        salt,
        password.as_bytes(),
        &mut salted,
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let server_key = hmac::sign(&key, b"Server Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    zeroize::Zeroize::zeroize(&mut salted);
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        b64.encode(salt),
        b64.encode(stored_key.as_ref()),
        b64.encode(server_key.as_ref())
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_a_known_postgresql_verifier() {
        // Computed independently (Python hashlib.pbkdf2_hmac / hmac) for "secret" with
        // salt b"0123456789abcdef" and 4096 iterations.
        let v = super::hash_with("secret", b"0123456789abcdef", 4096);
        assert_eq!(
            v,
            "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$bpSY5Ze9NUH+I35LC3gVq+DpBfK46iXBxvhAKqVu9pE=:VpYlBuxyzeCI1KnctrefdljpB1mk3Gp7sBI/t11+NkQ="
        );
    }
}
