//! The visible shape of a token: its prefix (so secret scanners can find leaked ones),
//! and redacting tokens that appear in a request path.

/// Prefix of every Sigil token.
pub const TOKEN_PREFIX: &str = "sgl.";

/// `path` with every segment that starts with [`TOKEN_PREFIX`] replaced by
/// `sgl.REDACTED`. Vault's old `auth/token/lookup/:token` and `revoke/:token` forms put a
/// token in the URL; Sigil routes neither, and the path of a request goes into the 404
/// message and the audit line, so a token there must not.
pub fn redact_tokens_in_path(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains(TOKEN_PREFIX) {
        return std::borrow::Cow::Borrowed(path);
    }
    let redacted: Vec<&str> = path
        .split('/')
        .map(|seg| {
            if seg.starts_with(TOKEN_PREFIX) {
                "sgl.REDACTED"
            } else {
                seg
            }
        })
        .collect();
    std::borrow::Cow::Owned(redacted.join("/"))
}
