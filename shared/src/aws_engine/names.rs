//! IAM user names for dynamic credentials: at most 64 characters of IAM's alphabet
//! (`[A-Za-z0-9+=,.@_-]`), always ending in a random suffix however long the role and
//! display names are (VAULT-NOTES.md, "AWS secrets engine").

use crate::crypto;

/// IAM's limit on user names.
pub const MAX_USER_NAME: usize = 64;
/// Length of the random suffix (base32-like lowercase letters and digits).
pub const SUFFIX_LEN: usize = 16;

fn iam_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `sigil-{display}-{role}-{suffix}`, the front truncated so the whole is at most 64
/// characters; the suffix is always whole.
pub fn user_name(display_name: &str, role: &str) -> Result<String, crypto::CryptoError> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let suffix: String = crypto::random_bytes(SUFFIX_LEN)?
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    let mut front = iam_safe(&format!("sigil-{display_name}-{role}"));
    front.truncate(MAX_USER_NAME - SUFFIX_LEN - 1);
    Ok(format!("{front}-{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_keep_their_suffix_and_fit() {
        let role = "r".repeat(100);
        let display = "d/é ".repeat(25);
        let a = user_name(&display, &role).unwrap();
        let b = user_name(&display, &role).unwrap();
        assert!(a.len() <= MAX_USER_NAME, "{a}");
        assert_ne!(a, b, "random suffix");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)),
            "{a}"
        );
        assert_eq!(a.rsplit('-').next().unwrap().len(), SUFFIX_LEN);
        let short = user_name("approle", "deploy").unwrap();
        assert!(short.starts_with("sigil-approle-deploy-"), "{short}");
    }
}
