//! Vault's request parameter conventions: TTLs as integer seconds or duration strings,
//! lists as JSON lists or comma-separated strings, booleans as JSON booleans (or their
//! string forms). Unknown parameters are ignored, as Vault does.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// A request body: a JSON object (an empty body is an empty object).
pub type Body = Map<String, Value>;

/// Longest duration accepted anywhere, in seconds (100 years): keeps every computed
/// time far from overflow and within what RFC 3339 can print.
pub const MAX_DURATION_SECS: i64 = 100 * 365 * 86_400;

/// Parses a `TypeKVPairs` field as Vault's `framework` reads it: an object (numbers
/// and booleans weakly turned into strings: `1`, `"1"`/`"0"`), or a `"k=v"` string or
/// a list of them (what `bao write ... metadata=team=ci` sends); `""` is no pairs.
pub fn parse_kv_pairs(v: &Value) -> Result<std::collections::BTreeMap<String, String>, String> {
    let pair = |p: &str| -> Result<(String, String), String> {
        match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(format!("invalid key pair {p:?}")),
        }
    };
    let scalar = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
            _ => None,
        }
    };
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                scalar(v)
                    .map(|v| (k.clone(), v))
                    .ok_or_else(|| format!("the value of {k:?} is not a string"))
            })
            .collect(),
        Value::String(s) if s.is_empty() => Ok(std::collections::BTreeMap::new()),
        Value::String(s) => pair(s).map(|p| std::collections::BTreeMap::from([p])),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                scalar(i)
                    .ok_or_else(|| "a list item is not a string".to_owned())
                    .and_then(|s| pair(&s))
            })
            .collect(),
        _ => Err("expected an object of strings or a list of \"key=value\" strings".into()),
    }
}

/// Parses a duration as Vault does: an integer (seconds), or a string of number-unit
/// pairs with units `s`, `m`, `h`, `d` (e.g. `90s`, `15m`, `1h30m`, `7d`), or a bare
/// integer string. Returns seconds. Negative durations and durations over
/// [`MAX_DURATION_SECS`] are rejected; messages never repeat the input.
pub fn parse_duration(v: &Value) -> Result<i64, String> {
    let secs = match v {
        Value::Number(n) => n
            .as_i64()
            .filter(|s| *s >= 0)
            .ok_or_else(|| "must be a non-negative integer number of seconds".to_owned())?,
        Value::String(s) if s.len() > 64 => return Err("is not a valid duration".to_owned()),
        Value::String(s) => parse_duration_str(s)?,
        _ => return Err("must be a duration (integer seconds or a string like \"1h\")".to_owned()),
    };
    if secs > MAX_DURATION_SECS {
        return Err(format!(
            "must be at most {MAX_DURATION_SECS} seconds (100 years)"
        ));
    }
    Ok(secs)
}

fn parse_duration_str(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    if let Ok(n) = s.parse::<i64>() {
        return if n >= 0 {
            Ok(n)
        } else {
            Err("must not be negative".to_owned())
        };
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err("is not a valid duration (units: s, m, h, d)".to_owned()),
        };
        let n: i64 = num
            .parse()
            .map_err(|_| "is not a valid duration".to_owned())?;
        total = n
            .checked_mul(unit)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(|| "is too large".to_owned())?;
        num.clear();
    }
    if !num.is_empty() {
        return Err("is not a valid duration: a number lacks its unit".to_owned());
    }
    Ok(total)
}

/// Rewrites list parameter `name` to the JSON list the handler will use: a
/// comma-separated string is split, every string item trimmed (and lowercased when
/// `lowercase`). Policies' parameter constraints are checked against this form, so
/// they judge exactly the values that take effect.
pub fn normalize_list(body: &mut Body, name: &str, lowercase: bool) {
    let fix = |s: &str| {
        let t = s.trim();
        if lowercase {
            t.to_lowercase()
        } else {
            t.to_owned()
        }
    };
    let new = match body.get(name) {
        Some(Value::String(s)) => Value::Array(
            s.split(',')
                .map(fix)
                .filter(|p| !p.is_empty())
                .map(Value::String)
                .collect(),
        ),
        Some(Value::Array(a)) => Value::Array(
            a.iter()
                .map(|v| match v {
                    Value::String(s) => Value::String(fix(s)),
                    other => other.clone(),
                })
                .collect(),
        ),
        _ => return,
    };
    body.insert(name.to_owned(), new);
}

/// Replaces a legacy alias by its current name (`policies` by `token_policies`): the
/// current name wins when both are given; the alias is dropped either way.
pub fn resolve_alias(body: &mut Body, alias: &str, name: &str) {
    if let Some(v) = body.remove(alias) {
        body.entry(name.to_owned()).or_insert(v);
    }
}

fn field_err(name: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad(format!("invalid value for \"{name}\": {why}"))
}

/// Typed reads of a request body's fields.
pub trait BodyExt {
    /// A duration field in seconds, or `None` when absent or null.
    fn duration(&self, name: &str) -> Result<Option<i64>, ApiError>;
    /// A string field.
    fn string(&self, name: &str) -> Result<Option<String>, ApiError>;
    /// A list field: a JSON list of strings or a comma-separated string.
    fn list(&self, name: &str) -> Result<Option<Vec<String>>, ApiError>;
    /// A boolean field (JSON boolean, or "true"/"false").
    fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError>;
    /// A non-negative integer field (JSON number or numeric string).
    fn uint(&self, name: &str) -> Result<Option<i64>, ApiError>;
    /// A map of string to string (JSON object with string values).
    fn string_map(
        &self,
        name: &str,
    ) -> Result<Option<std::collections::BTreeMap<String, String>>, ApiError>;
}

impl BodyExt for Body {
    fn duration(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => parse_duration(v).map(Some).map_err(|e| field_err(name, e)),
        }
    }

    fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(field_err(name, "must be a string")),
        }
    }

    fn list(&self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.trim().to_owned()),
                    _ => Err(field_err(name, "must be a list of strings")),
                })
                .filter(|r| r.as_ref().map_or(true, |s| !s.is_empty()))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(field_err(
                name,
                "must be a list or a comma-separated string",
            )),
        }
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "1" => Ok(Some(true)),
            Some(Value::String(s)) if s == "false" || s == "0" => Ok(Some(false)),
            Some(_) => Err(field_err(name, "must be a boolean")),
        }
    }

    fn uint(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .filter(|x| *x >= 0)
                .map(Some)
                .ok_or_else(|| field_err(name, "must be a non-negative integer")),
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|x| *x >= 0)
                .map(Some)
                .ok_or_else(|| field_err(name, "must be a non-negative integer")),
            Some(_) => Err(field_err(name, "must be a non-negative integer")),
        }
    }

    fn string_map(
        &self,
        name: &str,
    ) -> Result<Option<std::collections::BTreeMap<String, String>>, ApiError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => o
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(field_err(name, "values must be strings")),
                })
                .collect::<Result<_, _>>()
                .map(Some),
            // Vault's CLI sends metadata as a JSON string of an object.
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => match serde_json::from_str::<Body>(s) {
                Ok(m) => {
                    let mut wrapped = Body::new();
                    wrapped.insert(name.to_owned(), Value::Object(m));
                    wrapped.string_map(name)
                }
                Err(_) => Err(field_err(name, "must be an object of strings")),
            },
            Some(_) => Err(field_err(name, "must be an object of strings")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        assert_eq!(parse_duration(&json!(90)), Ok(90));
        assert_eq!(parse_duration(&json!("90")), Ok(90));
        assert_eq!(parse_duration(&json!("90s")), Ok(90));
        assert_eq!(parse_duration(&json!("15m")), Ok(900));
        assert_eq!(parse_duration(&json!("1h30m")), Ok(5400));
        assert_eq!(parse_duration(&json!("2d")), Ok(172_800));
        assert_eq!(parse_duration(&json!("")), Ok(0));
        assert!(parse_duration(&json!(-1)).is_err());
        assert!(parse_duration(&json!("-5")).is_err());
        assert!(parse_duration(&json!("5x")).is_err());
        assert!(parse_duration(&json!("5")).is_ok());
        assert!(parse_duration(&json!("m")).is_err());
        assert!(parse_duration(&json!("99999999999999999999h")).is_err());
        assert!(parse_duration(&json!(true)).is_err());
        assert!(parse_duration(&json!(i64::MAX)).is_err());
        assert!(parse_duration(&json!("106751991167300d")).is_err());
        assert_eq!(
            parse_duration(&json!(MAX_DURATION_SECS)),
            Ok(MAX_DURATION_SECS)
        );
        let e = parse_duration(&json!("x".repeat(50))).unwrap_err();
        assert!(!e.contains("xxxx"), "{e}");
    }

    #[test]
    fn lists_and_booleans() {
        let b: Body = serde_json::from_value(json!({
            "a": "x, y,,z", "b": ["p", "q"], "c": true, "d": "false", "e": 3, "f": [1]
        }))
        .unwrap();
        assert_eq!(b.list("a").unwrap().unwrap(), vec!["x", "y", "z"]);
        assert_eq!(b.list("b").unwrap().unwrap(), vec!["p", "q"]);
        assert_eq!(b.boolean("c").unwrap(), Some(true));
        assert_eq!(b.boolean("d").unwrap(), Some(false));
        assert!(b.boolean("e").is_err());
        assert!(b.list("f").is_err());
        assert_eq!(b.uint("e").unwrap(), Some(3));
        assert_eq!(b.list("missing").unwrap(), None);
    }
}
