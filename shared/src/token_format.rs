//! The visible shape of a token: its prefix (so secret scanners can find leaked ones),
//! and redacting tokens that appear in a request path.

/// Prefix of every Sigil token.
pub const TOKEN_PREFIX: &str = "sgl.";

/// `text` with every token-shaped word (starting with [`TOKEN_PREFIX`], up to the next
/// character that cannot be part of a token) replaced by `sgl.REDACTED`: error messages
/// that quote a request (a policy's parse error) never carry a token to the audit log.
pub fn redact_tokens_in_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(TOKEN_PREFIX) {
        out.push_str(&rest[..i]);
        out.push_str("sgl.REDACTED");
        let after = &rest[i + TOKEN_PREFIX.len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

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

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn tokens_in_messages_are_redacted() {
        assert_eq!(
            redact_tokens_in_text(r#"unknown capability "sgl.AbC-12_x" in path"#),
            r#"unknown capability "sgl.REDACTED" in path"#
        );
        assert_eq!(redact_tokens_in_text("no token here"), "no token here");
        assert_eq!(
            redact_tokens_in_text("sgl.a sgl.b"),
            "sgl.REDACTED sgl.REDACTED"
        );
    }
}
