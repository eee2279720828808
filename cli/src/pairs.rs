//! `KEY=VALUE` arguments of `write`, `kv put` and `login`, turned into a JSON object
//! the way Vault's CLI does it.
//!
//! - `key=value` sets a string; only the first `=` splits, so values may hold `=`.
//! - `key=@path` reads the file's content (as is, trailing newline included);
//!   `key=\@text` is the literal `@text`.
//! - A key given twice becomes a list of its values (`policies=a policies=b`).
//! - `-` as the only argument reads a JSON object from stdin.

use std::io::Read;

use serde_json::{Map, Value};

use crate::error::CliError;

/// Parses `args` into a JSON object, reading stdin through `stdin` when `args` is `["-"]`.
pub fn parse_pairs(
    args: &[String],
    stdin: impl FnOnce() -> std::io::Result<String>,
) -> Result<Map<String, Value>, CliError> {
    if let [only] = args
        && only == "-"
    {
        let text = stdin().map_err(|e| CliError::usage(format!("reading stdin: {e}")))?;
        return match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(CliError::usage("stdin must hold a JSON object")),
            Err(e) => Err(CliError::usage(format!("stdin is not valid JSON: {e}"))),
        };
    }
    let mut out = Map::new();
    for arg in args {
        let (key, value) = split_pair(arg)?;
        let value = Value::String(resolve_value(key, value)?);
        match out.get_mut(key) {
            None => {
                out.insert(key.to_owned(), value);
            }
            Some(Value::Array(list)) => list.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
        }
    }
    Ok(out)
}

/// Reads all of stdin (the default source for `-`).
pub fn read_stdin() -> std::io::Result<String> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s)?;
    Ok(s)
}

/// Splits `key=value` at the first `=`.
pub fn split_pair(arg: &str) -> Result<(&str, &str), CliError> {
    match arg.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k, v)),
        Some(_) => Err(CliError::usage(format!(
            "invalid key/value pair {arg:?}: the key is empty"
        ))),
        None if arg == "-" => Err(CliError::usage(
            "\"-\" (read JSON from stdin) must be the only data argument",
        )),
        // Only the key is shown: the argument may be a secret typed without its key.
        None => Err(CliError::usage(format!(
            "invalid key/value pair: expected KEY=VALUE, got an argument without \"=\" ({} characters)",
            arg.chars().count()
        ))),
    }
}

fn resolve_value(key: &str, value: &str) -> Result<String, CliError> {
    if let Some(path) = value.strip_prefix('@') {
        return std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("reading file {path:?} for key {key:?}: {e}")));
    }
    if let Some(literal) = value.strip_prefix('\\')
        && literal.starts_with('@')
    {
        return Ok(literal.to_owned());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_stdin() -> std::io::Result<String> {
        panic!("stdin must not be read")
    }

    fn parse(args: &[&str]) -> Result<Map<String, Value>, CliError> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse_pairs(&args, no_stdin)
    }

    #[test]
    fn plain_pairs_and_equals_in_values() {
        let m = parse(&["user=admin", "dsn=host=db port=5432", "empty=", "lit=\\@x"]).unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"user": "admin", "dsn": "host=db port=5432", "empty": "", "lit": "@x"})
        );
    }

    #[test]
    fn repeated_keys_become_a_list() {
        let m = parse(&["p=a", "p=b", "p=c"]).unwrap();
        assert_eq!(Value::Object(m), json!({"p": ["a", "b", "c"]}));
    }

    #[test]
    fn missing_equals_is_a_clear_error_without_the_value() {
        let e = parse(&["a=1", "hunter2"]).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("expected KEY=VALUE"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(e.exit_code(), 1);
        assert!(
            parse(&["=v"])
                .unwrap_err()
                .to_string()
                .contains("key is empty")
        );
        assert!(
            parse(&["a=1", "-"])
                .unwrap_err()
                .to_string()
                .contains("only data argument")
        );
    }

    #[test]
    fn file_values() {
        let path = std::env::temp_dir().join(format!("sigil-cli-pairs-{}", std::process::id()));
        std::fs::write(&path, "line1\nline2\n").unwrap();
        let arg = format!("cert=@{}", path.display());
        let m = parse(&[&arg]).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(m["cert"], json!("line1\nline2\n"));
        let e = parse(&["cert=@/nonexistent/sigil/file"]).unwrap_err();
        assert!(e.to_string().contains("reading file"));
    }

    #[test]
    fn stdin_json_object() {
        let args = vec!["-".to_owned()];
        let m = parse_pairs(&args, || Ok(r#"{"a": 1, "b": {"c": true}}"#.to_owned())).unwrap();
        assert_eq!(Value::Object(m), json!({"a": 1, "b": {"c": true}}));
        assert!(parse_pairs(&args, || Ok("[1]".to_owned())).is_err());
        assert!(parse_pairs(&args, || Ok("nope".to_owned())).is_err());
    }
}
