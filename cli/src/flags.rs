//! Vault-style single-dash long flags: `-format=json` becomes `--format=json` before clap
//! parses the command line.
//!
//! Vault's CLI (Go's `flag` package) spells long flags with one dash (`-field=role_id`,
//! `-self`, `-cas=0`); clap wants two. [`rewrite_single_dash`] rewrites every argument
//! of the form `-NAME` or `-NAME=VALUE`, where `NAME` is at least two characters long,
//! starts with a letter and holds only letters, digits, `-` and `_`, to `--NAME...`.
//! Left alone: single-character short flags (`-f`, `-h`), a lone `-` (read stdin),
//! arguments that already start with `--`, anything that does not look like a flag
//! name (`-1h`, `-@x`), the program name, and everything after a bare `--`.
//!
//! A consequence: clusters of short flags (`-fh`) are not supported; write them apart.

use std::ffi::OsString;

/// Rewrites single-dash long flags to double-dash (see the module documentation).
/// The first argument (the program name) is kept as it is.
pub fn rewrite_single_dash<I>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = OsString>,
{
    let mut out = Vec::new();
    let mut passthrough = false;
    for (i, arg) in args.into_iter().enumerate() {
        if i == 0 || passthrough {
            out.push(arg);
            continue;
        }
        if arg == "--" {
            passthrough = true;
            out.push(arg);
            continue;
        }
        match arg.to_str() {
            Some(s) if is_single_dash_long(s) => out.push(OsString::from(format!("-{s}"))),
            _ => out.push(arg),
        }
    }
    out
}

/// Whether `arg` is `-NAME` or `-NAME=...` with a flag-like `NAME` of two or more chars.
fn is_single_dash_long(arg: &str) -> bool {
    let Some(rest) = arg.strip_prefix('-') else {
        return false;
    };
    if rest.starts_with('-') {
        return false;
    }
    let name = rest.split_once('=').map_or(rest, |(n, _)| n);
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    starts_with_letter
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(args: &[&str]) -> Vec<String> {
        rewrite_single_dash(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn rewrites_vault_style_long_flags() {
        assert_eq!(
            rw(&[
                "sigil",
                "read",
                "-format=json",
                "-field=role_id",
                "auth/approle/role/x/role-id"
            ]),
            [
                "sigil",
                "read",
                "--format=json",
                "--field=role_id",
                "auth/approle/role/x/role-id"
            ]
        );
        assert_eq!(
            rw(&[
                "sigil",
                "kv",
                "get",
                "-version=2",
                "-mount=secret",
                "app/db"
            ]),
            [
                "sigil",
                "kv",
                "get",
                "--version=2",
                "--mount=secret",
                "app/db"
            ]
        );
        assert_eq!(
            rw(&["sigil", "token", "revoke", "-self"]),
            ["sigil", "token", "revoke", "--self"]
        );
        assert_eq!(
            rw(&["sigil", "login", "approle", "-role-id=r", "-secret-id", "s"]),
            [
                "sigil",
                "login",
                "approle",
                "--role-id=r",
                "--secret-id",
                "s"
            ]
        );
        assert_eq!(
            rw(&["sigil", "kv", "put", "-cas=0", "p"]),
            ["sigil", "kv", "put", "--cas=0", "p"]
        );
        assert_eq!(rw(&["sigil", "-help"]), ["sigil", "--help"]);
    }

    #[test]
    fn leaves_other_arguments_alone() {
        // Short flags, stdin marker, double-dash flags, values, negative numbers.
        assert_eq!(
            rw(&["sigil", "write", "-f", "p"]),
            ["sigil", "write", "-f", "p"]
        );
        assert_eq!(
            rw(&["sigil", "write", "p", "-"]),
            ["sigil", "write", "p", "-"]
        );
        assert_eq!(rw(&["sigil", "--format=json"]), ["sigil", "--format=json"]);
        assert_eq!(
            rw(&["sigil", "write", "p", "k=-v", "a=b"]),
            ["sigil", "write", "p", "k=-v", "a=b"]
        );
        assert_eq!(rw(&["sigil", "-1h", "-@x"]), ["sigil", "-1h", "-@x"]);
        // A value given to a flag keeps its own text, even with dashes inside.
        assert_eq!(rw(&["sigil", "-cas=-1"]), ["sigil", "--cas=-1"]);
    }

    #[test]
    fn stops_after_double_dash_and_keeps_program_name() {
        assert_eq!(
            rw(&["-prog", "write", "--", "-format=json"]),
            ["-prog", "write", "--", "-format=json"]
        );
    }
}
