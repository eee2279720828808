//! Mount names and identifiers: which paths a mount may take, and its accessor and UUID.
//!
//! Accessors follow Vault's shape: `<type>_<8 hex>` for secrets engines (`kv_1a2b3c4d`)
//! and `auth_<type>_<8 hex>` for auth methods (`auth_jwt_1a2b3c4d`).

use crate::crypto;
use crate::error::ApiError;

use super::table::Table;

/// Longest mount name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;

/// First segments no secrets engine may take: Vault's reserved paths
/// (`sys/`, `auth/`, `identity/`, `cubbyhole/`) and `v1` (a path under `/v1/v1/`
/// confuses clients).
pub const RESERVED_SECRETS: &[&str] = &["sys", "auth", "identity", "cubbyhole", "v1"];

/// Auth paths no auth method may take: the token store's.
pub const RESERVED_AUTH: &[&str] = &["token"];

/// Checks and normalizes a mount path given to `sys/mounts/:path` or `sys/auth/:path`:
/// surrounding `/` are dropped; the result is one segment of `[A-Za-z0-9_.-]`, at
/// most [`MAX_NAME_BYTES`], not a reserved name. Returns the path with its trailing
/// `/` (`team-a/`). Sigil's mounts are one segment deep: API Gateway routes on the
/// first segment (docs/api.md).
pub fn check_path(table: Table, raw: &str) -> Result<String, ApiError> {
    let name = raw.trim_matches('/');
    if name.is_empty() {
        return Err(ApiError::bad("missing mount path"));
    }
    if name.contains('/') {
        return Err(ApiError::bad(format!(
            "mount paths are one segment in Sigil: {:?} is nested",
            cut(name)
        )));
    }
    if name.len() > MAX_NAME_BYTES
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        || name == "."
        || name == ".."
    {
        return Err(ApiError::bad(format!(
            "invalid mount path {:?}: use at most {MAX_NAME_BYTES} letters, digits, '-', '_' or '.'",
            cut(name)
        )));
    }
    let reserved = match table {
        Table::Secrets => RESERVED_SECRETS,
        Table::Auth => RESERVED_AUTH,
    };
    if reserved.contains(&name) {
        let shown = match table {
            Table::Secrets => format!("{name}/"),
            Table::Auth => format!("auth/{name}/"),
        };
        return Err(ApiError::bad(format!("the path {shown:?} is reserved")));
    }
    Ok(format!("{name}/"))
}

fn cut(s: &str) -> String {
    s.chars().take(80).collect()
}

fn prefix(table: Table, type_name: &str) -> String {
    match table {
        Table::Secrets => format!("{type_name}_"),
        Table::Auth => format!("auth_{type_name}_"),
    }
}

/// The accessor of a mount created from the environment: derived from its table,
/// type and name, so every function and every bootstrap computes the same one.
pub fn accessor_for(table: Table, type_name: &str, name: &str) -> String {
    let digest = crypto::sha256_hex(format!("{}\0{type_name}\0{name}", table.name()).as_bytes());
    format!("{}{}", prefix(table, type_name), &digest[..8])
}

/// A random accessor for a mount enabled through the API.
pub fn random_accessor(table: Table, type_name: &str) -> Result<String, ApiError> {
    let bytes = crypto::random_bytes(4).map_err(|_| ApiError::Internal)?;
    Ok(format!(
        "{}{}",
        prefix(table, type_name),
        hex::encode(bytes)
    ))
}

/// A UUID-shaped identifier derived from an accessor (for mounts whose accessor is
/// derived).
pub fn uuid_for(accessor: &str) -> String {
    let h = crypto::sha256_hex(accessor.as_bytes());
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_are_checked() {
        assert_eq!(check_path(Table::Secrets, "team-a").unwrap(), "team-a/");
        assert_eq!(check_path(Table::Secrets, "/team-a/").unwrap(), "team-a/");
        for bad in [
            "",
            "/",
            "a/b",
            "sys",
            "auth",
            "identity",
            "cubbyhole",
            "..",
            ".",
            "a b",
            "a%2fb",
            "a\u{0}",
            "ü",
        ] {
            let e = check_path(Table::Secrets, bad).expect_err(bad);
            assert_eq!(e.status(), 400, "{bad}");
        }
        assert!(check_path(Table::Auth, "token").is_err());
        assert!(check_path(Table::Auth, "sys").is_ok());
        assert!(check_path(Table::Secrets, &"x".repeat(65)).is_err());
    }

    #[test]
    fn accessors_have_vaults_shape() {
        let a = accessor_for(Table::Auth, "jwt", "github");
        assert!(
            a.starts_with("auth_jwt_") && a.len() == "auth_jwt_".len() + 8,
            "{a}"
        );
        assert_eq!(a, accessor_for(Table::Auth, "jwt", "github"));
        assert_ne!(a, accessor_for(Table::Auth, "jwt", "gitlab"));
        let r = random_accessor(Table::Secrets, "kv").unwrap();
        assert!(r.starts_with("kv_") && r.len() == 11, "{r}");
        assert_eq!(uuid_for(&a).len(), 36);
    }
}
