//! The path of a request: decoded, checked, without `/v1/` (the logical path that
//! policies are written against).

use crate::error::ApiError;

/// Longest accepted request path, in bytes after decoding.
pub const MAX_PATH_BYTES: usize = 2048;

/// Decodes and checks the path: it must start with `/v1/`, decode as UTF-8, hold no
/// control characters, no `.` or `..` segment and no empty segment (a trailing `/` is
/// allowed: Vault's LIST paths end in one). Returns the logical path without `/v1/`.
pub fn logical_path(raw: &str) -> Result<String, ApiError> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| ApiError::bad("path is not valid UTF-8"))?;
    if decoded.len() > MAX_PATH_BYTES {
        return Err(ApiError::bad("path too long"));
    }
    if decoded.chars().any(char::is_control) {
        return Err(ApiError::bad("path contains control characters"));
    }
    let rest = decoded
        .strip_prefix("/v1/")
        .ok_or_else(|| ApiError::no_route(decoded.trim_start_matches('/')))?;
    if !clean_segments(rest) {
        return Err(ApiError::bad("path contains an empty, '.' or '..' segment"));
    }
    Ok(rest.to_owned())
}

/// Whether a logical path (no `/v1/`) has no empty, `.` or `..` segment; one trailing
/// `/` is allowed (Vault's LIST paths end in one).
pub fn clean_segments(path: &str) -> bool {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    !trimmed
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
}
