//! Parameter constraints of a path rule: `required_parameters`, `allowed_parameters`,
//! `denied_parameters` (Vault's "fine-grained control"), their merge across policies
//! and their check against a request body.
//!
//! Everything here follows Vault's `vault/acl.go` (`NewACL` merge, `AllowOperation`
//! parameter checks, `valueIn*ParameterList`) and `sdk/helper/strutil`
//! (`GlobbedStringsMatch`), with the differences listed in `docs/policies.md`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Compiled parameter constraints of one (merged) path rule.
///
/// Keys of `allowed` and `denied` are lower case (the parser lowercases them, as Vault
/// does); `required` holds the names lowercased, as Vault looks them up.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ParamRules {
    required: Vec<String>,
    allowed: BTreeMap<String, Vec<Value>>,
    denied: BTreeMap<String, Vec<Value>>,
}

impl ParamRules {
    /// The constraints of a single rule.
    pub(crate) fn new(
        required: &[String],
        allowed: &BTreeMap<String, Vec<Value>>,
        denied: &BTreeMap<String, Vec<Value>>,
    ) -> Self {
        let mut rules = ParamRules::default();
        rules.merge(required, allowed, denied);
        rules
    }

    /// Whether the rule constrains nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.required.is_empty() && self.allowed.is_empty() && self.denied.is_empty()
    }

    /// Merges the constraints of an identical path from another policy (Vault's
    /// `NewACL`): a key listed with `[]` on either side becomes `[]` (any value allowed,
    /// resp. always denied); otherwise the value lists are concatenated; required names
    /// are unioned. A rule without constraints adds none, so it does not lift the other
    /// rule's constraints (Vault's behaviour).
    pub(crate) fn merge(
        &mut self,
        required: &[String],
        allowed: &BTreeMap<String, Vec<Value>>,
        denied: &BTreeMap<String, Vec<Value>>,
    ) {
        merge_values(&mut self.allowed, allowed);
        merge_values(&mut self.denied, denied);
        for name in required {
            let name = name.to_lowercase();
            if !self.required.contains(&name) {
                self.required.push(name);
            }
        }
    }

    /// Checks a request body against the constraints, in Vault's order: required
    /// parameters; an empty body passes; `denied_parameters` (`"*"` denies any
    /// parameter; denied wins over allowed); then `allowed_parameters` (when present,
    /// every key must be listed or `"*"` must be; listed values restrict the value).
    ///
    /// # Errors
    /// A short reason naming the offending parameter. Vault answers every one of these
    /// with 403 "permission denied".
    pub(crate) fn check(&self, body: &Map<String, Value>) -> Result<(), String> {
        for name in &self.required {
            if !body.contains_key(name) {
                return Err(format!("missing required parameter {name:?}"));
            }
        }
        if body.is_empty() {
            return Ok(());
        }
        if !self.denied.is_empty() {
            if self.denied.contains_key("*") {
                return Err("parameters are denied on this path".to_owned());
            }
            for (key, value) in body {
                if let Some(list) = self.denied.get(lower(key).as_ref())
                    && value_in_denied_list(value, list)
                {
                    return Err(format!("parameter {key:?} is denied"));
                }
            }
        }
        if self.allowed.is_empty() {
            return Ok(());
        }
        let allowed_all = self.allowed.contains_key("*");
        if allowed_all && self.allowed.len() == 1 {
            return Ok(());
        }
        for (key, value) in body {
            match self.allowed.get(lower(key).as_ref()) {
                None if !allowed_all => return Err(format!("parameter {key:?} is not allowed")),
                Some(list) if !value_in_allowed_list(value, list) => {
                    return Err(format!("value of parameter {key:?} is not allowed"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Validates a parameter name as written in a policy (Vault's `validateParameter`):
/// `*` is allowed only as the whole key and only where `wildcard_ok` (allowed and
/// denied lists; not required). Keys starting with `/` (Vault's JSON-pointer keys for
/// nested parameters) are not supported by Sigil.
///
/// # Errors
/// A reason naming the key.
pub(crate) fn validate_key(key: &str, wildcard_ok: bool) -> Result<(), String> {
    if key.is_empty() {
        return Err("parameter names cannot be empty".to_owned());
    }
    if key.starts_with('/') {
        return Err(format!(
            "parameter key {key:?}: JSON-pointer parameter keys are not supported"
        ));
    }
    if key.contains('*') {
        if !wildcard_ok {
            return Err(format!(
                "parameter key {key:?}: wildcard is not permitted here"
            ));
        }
        if key != "*" {
            return Err(format!(
                "parameter key {key:?}: \"*\" must be the whole key"
            ));
        }
    }
    Ok(())
}

fn merge_values(into: &mut BTreeMap<String, Vec<Value>>, from: &BTreeMap<String, Vec<Value>>) {
    for (key, values) in from {
        match into.get_mut(key) {
            None => {
                into.insert(key.clone(), values.clone());
            }
            Some(existing) if values.is_empty() || existing.is_empty() => existing.clear(),
            Some(existing) => {
                let mut merged = values.clone();
                merged.append(existing);
                *existing = merged;
            }
        }
    }
}

fn lower(key: &str) -> Cow<'_, str> {
    if key.chars().any(char::is_uppercase) {
        Cow::Owned(key.to_lowercase())
    } else {
        Cow::Borrowed(key)
    }
}

/// Vault's `valueInAllowedParameterList`: an empty list allows any value; otherwise the
/// value must match an entry, or (a list) every element must, or (a string) every
/// comma-separated, trimmed item must.
fn value_in_allowed_list(value: &Value, list: &[Value]) -> bool {
    if list.is_empty() || value_in_list(value, list) {
        return true;
    }
    match value {
        Value::Array(items) => items.iter().all(|v| value_in_list(v, list)),
        Value::String(s) => comma_items(s).all(|item| str_in_list(item, list)),
        _ => false,
    }
}

/// Vault's `valueInDeniedParameterList`: an empty list denies any value; otherwise the
/// value is denied when it matches an entry, or (a list) any element does, or (a
/// string) any comma-separated, trimmed item does.
fn value_in_denied_list(value: &Value, list: &[Value]) -> bool {
    if list.is_empty() || value_in_list(value, list) {
        return true;
    }
    match value {
        Value::Array(items) => items.iter().any(|v| value_in_list(v, list)),
        Value::String(s) => comma_items(s).any(|item| str_in_list(item, list)),
        _ => false,
    }
}

fn comma_items(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim)
}

fn str_in_list(item: &str, list: &[Value]) -> bool {
    list.iter()
        .any(|entry| matches!(entry, Value::String(p) if glob_match(p, item)))
}

/// Vault's `valueInParameterList` for a non-empty list: `null` equals only `null`; a
/// string entry matches a string value by [`glob_match`]; anything else by deep
/// equality (numbers by numeric value).
fn value_in_list(value: &Value, list: &[Value]) -> bool {
    list.iter().any(|entry| match (entry, value) {
        (Value::Null, _) | (_, Value::Null) => entry.is_null() && value.is_null(),
        (Value::String(pattern), Value::String(v)) => glob_match(pattern, v),
        (Value::String(_), _) => false,
        _ => json_eq(entry, value),
    })
}

/// Vault's `GlobbedStringsMatch`: `*x` matches a suffix, `x*` a prefix, `*x*` a
/// substring; a pattern shorter than 2 characters (so `"*"` itself) matches only
/// itself.
pub(crate) fn glob_match(pattern: &str, value: &str) -> bool {
    if pattern.len() < 2 {
        return pattern == value;
    }
    let starts = pattern.starts_with('*');
    let ends = pattern.ends_with('*');
    match (starts, ends) {
        (true, true) => value.contains(&pattern[1..pattern.len() - 1]),
        (true, false) => value.ends_with(&pattern[1..]),
        (false, true) => value.starts_with(&pattern[..pattern.len() - 1]),
        (false, false) => pattern == value,
    }
}

/// Deep equality where numbers compare by value (`1` equals `1.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(required: &[&str], allowed: Value, denied: Value) -> ParamRules {
        let required: Vec<String> = required.iter().map(|s| (*s).to_owned()).collect();
        ParamRules::new(&required, &to_map(allowed), &to_map(denied))
    }

    fn to_map(v: Value) -> BTreeMap<String, Vec<Value>> {
        serde_json::from_value(v).expect("test map")
    }

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("test body must be an object"),
        }
    }

    fn ok(r: &ParamRules, b: Value) -> bool {
        r.check(&body(b)).is_ok()
    }

    #[test]
    fn glob_matching_follows_vault() {
        assert!(glob_match("foo-*", "foo-bar"));
        assert!(!glob_match("foo-*", "bar-foo"));
        assert!(glob_match("*good3", "glob good3"));
        assert!(glob_match("*mid*", "a mid b"));
        assert!(glob_match("*", "*"));
        assert!(!glob_match("*", "anything"));
        assert!(glob_match("exact", "exact"));
    }

    #[test]
    fn required_parameters() {
        let r = rules(&["foo", "Bar"], json!({}), json!({}));
        assert!(!ok(&r, json!({"cold": ""})));
        assert!(!ok(&r, json!({"foo": ""})));
        assert!(ok(&r, json!({"foo": "", "bar": 1})));
        // Vault lowercases the required name, not the body key.
        assert!(!ok(&r, json!({"foo": "", "Bar": 1})));
        assert_eq!(
            r.check(&body(json!({}))),
            Err("missing required parameter \"foo\"".to_owned())
        );
    }

    #[test]
    fn allowed_parameters() {
        let r = rules(&[], json!({"bar": ["zip", "zap"], "foo": []}), json!({}));
        assert!(ok(&r, json!({})), "an empty body passes");
        assert!(ok(&r, json!({"foo": "anything", "bar": "zip"})));
        assert!(!ok(&r, json!({"bar": "zop"})));
        assert!(!ok(&r, json!({"other": 1})));
        assert!(
            ok(&r, json!({"BAR": "zap"})),
            "body keys are compared lower-cased"
        );
        // Lists: every element must be allowed; strings: every comma-separated item.
        assert!(ok(&r, json!({"bar": ["zip", "zap"]})));
        assert!(!ok(&r, json!({"bar": ["zip", "nope"]})));
        assert!(ok(&r, json!({"bar": "zip, zap"})));
        assert!(!ok(&r, json!({"bar": "zip,nope"})));
        assert!(
            !ok(&r, json!({"bar": ""})),
            "an empty string is a value like any other"
        );
        assert!(!ok(&r, json!({"bar": null})));
    }

    #[test]
    fn allowed_star() {
        let r = rules(&[], json!({"bar": ["zip"], "*": []}), json!({}));
        assert!(ok(&r, json!({"anything": 1, "bar": "zip"})));
        assert!(!ok(&r, json!({"anything": 1, "bar": "zap"})));
        let only_star = rules(&[], json!({"*": []}), json!({}));
        assert!(ok(&only_star, json!({"x": 1})));
    }

    #[test]
    fn allowed_value_globs_and_types() {
        let r = rules(
            &[],
            json!({"name": ["foo-*", "*-bar"], "int": [1, 2], "bool": [false], "map": [{"good": "one"}]}),
            json!({}),
        );
        assert!(ok(&r, json!({"name": "foo-1"})));
        assert!(ok(&r, json!({"name": "x-bar"})));
        assert!(!ok(&r, json!({"name": "x-baz"})));
        assert!(ok(&r, json!({"int": 1})));
        assert!(ok(&r, json!({"int": 2.0})), "numbers compare by value");
        assert!(!ok(&r, json!({"int": 3})));
        assert!(!ok(&r, json!({"int": "1"})), "a string is not a number");
        assert!(ok(&r, json!({"bool": false})));
        assert!(!ok(&r, json!({"bool": true})));
        assert!(ok(&r, json!({"map": {"good": "one"}})));
        assert!(!ok(&r, json!({"map": {"bad": "one"}})));
    }

    #[test]
    fn denied_parameters() {
        let r = rules(&[], json!({}), json!({"zap": [], "deny": ["bad*"]}));
        assert!(ok(&r, json!({"zip": 1})));
        assert!(!ok(&r, json!({"zap": 1})), "an empty list denies any value");
        assert!(!ok(&r, json!({"deny": "bad glob"})));
        assert!(ok(&r, json!({"deny": "good"})));
        assert!(ok(&r, json!({"deny": null})));
        assert!(
            !ok(&r, json!({"deny": ["good", "bad"]})),
            "any denied element denies"
        );
        assert!(
            !ok(&r, json!({"deny": "good,bad"})),
            "any denied comma item denies"
        );
        assert!(!ok(&r, json!({"DENY": "bad"})));
        let all = rules(&[], json!({}), json!({"*": []}));
        assert!(
            ok(&all, json!({})),
            "an empty body passes even with \"*\" denied"
        );
        assert!(!ok(&all, json!({"x": 1})));
    }

    #[test]
    fn denied_wins_over_allowed() {
        let r = rules(&[], json!({"steve": []}), json!({"steve": []}));
        assert!(!ok(&r, json!({"steve": ""})));
        let r = rules(&[], json!({"*": []}), json!({"*": []}));
        assert!(!ok(&r, json!({"one": ""})));
        let r = rules(&[], json!({"*": []}), json!({"foo": []}));
        assert!(ok(&r, json!({"one": ""})));
        assert!(!ok(&r, json!({"foo": ""})));
        let r = rules(&[], json!({"pear": []}), json!({"*": []}));
        assert!(!ok(&r, json!({"pear": ""})));
        let r = rules(&[], json!({"allow": ["good"]}), json!({"deny": ["bad"]}));
        assert!(!ok(&r, json!({"allow": "good", "deny": "bad"})));
        assert!(
            !ok(&r, json!({"deny": "good"})),
            "deny is not in the allowed list"
        );
    }

    #[test]
    fn merge_follows_vault() {
        // Vault's TestACL_PolicyMerge expectations.
        let mut r = rules(&["baz"], json!({}), json!({"baz": []}));
        r.merge(&[], &BTreeMap::new(), &to_map(json!({"zip": []})));
        assert_eq!(r.denied, to_map(json!({"baz": [], "zip": []})));
        assert_eq!(r.required, ["baz"]);

        let mut r = rules(&["foo"], json!({"foo": []}), json!({}));
        r.merge(
            &["bar".to_owned(), "foo".to_owned()],
            &to_map(json!({"bar": []})),
            &BTreeMap::new(),
        );
        assert_eq!(r.allowed, to_map(json!({"foo": [], "bar": []})));
        assert_eq!(r.required, ["foo", "bar"]);

        let mut r = rules(&[], json!({"test": [1, 2]}), json!({"test": [1, 2]}));
        r.merge(
            &[],
            &to_map(json!({"test": [3, 4]})),
            &to_map(json!({"test": [3, 4]})),
        );
        assert_eq!(r.allowed, to_map(json!({"test": [3, 4, 1, 2]})));
        assert_eq!(r.denied, to_map(json!({"test": [3, 4, 1, 2]})));

        let mut r = rules(&[], json!({"empty": []}), json!({"empty": [1]}));
        r.merge(
            &[],
            &to_map(json!({"empty": [1]})),
            &to_map(json!({"empty": []})),
        );
        assert_eq!(r.allowed, to_map(json!({"empty": []})));
        assert_eq!(r.denied, to_map(json!({"empty": []})));

        // A rule without constraints does not lift the other rule's constraints.
        let mut r = rules(&[], json!({"ttl": ["1h"]}), json!({}));
        r.merge(&[], &BTreeMap::new(), &BTreeMap::new());
        assert!(!ok(&r, json!({"ttl": "2h"})));
    }

    #[test]
    fn key_validation() {
        assert!(validate_key("ttl", false).is_ok());
        assert!(validate_key("*", true).is_ok());
        assert!(validate_key("*", false).is_err());
        assert!(validate_key("tt*", true).is_err());
        assert!(validate_key("/data/foo", true).is_err());
        assert!(validate_key("", true).is_err());
    }
}
