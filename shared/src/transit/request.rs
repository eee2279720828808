//! Reading transit requests: fields as Vault's `framework` types them (strings,
//! integers that may be negative, booleans) and `batch_input` lists, with Vault's
//! texts where it has them. Vault answers 500 for a malformed `batch_input`; Sigil
//! answers 400 with the same words (docs/transit.md, "Differences").

use serde_json::{Map, Value as Json};

use super::error::{Result, TransitError};
use crate::http::params::{Body, BodyExt};

/// Most items one `batch_input` may hold (Vault has no limit but its request size).
pub const MAX_BATCH_ITEMS: usize = 1000;

/// Go's `%T` of a JSON value as Vault decodes it.
fn go_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "<nil>",
        Json::Bool(_) => "bool",
        Json::Number(_) => "json.Number",
        Json::String(_) => "string",
        Json::Array(_) => "[]interface {}",
        Json::Object(_) => "map[string]interface {}",
    }
}

/// A string field (`TypeString`: numbers and booleans convert); `None` when absent.
pub fn string(body: &Body, name: &str) -> Result<Option<String>> {
    match body.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Bool(b)) => Ok(Some(b.to_string())),
        _ => body
            .string(name)
            .map_err(|e| TransitError::invalid(e.to_string())),
    }
}

/// A string field, `""` when absent.
pub fn text(body: &Body, name: &str) -> Result<String> {
    Ok(string(body, name)?.unwrap_or_default())
}

/// An integer field (`TypeInt`: negative allowed, numeric strings accepted).
pub fn int(body: &Body, name: &str) -> Result<Option<i64>> {
    let bad = || TransitError::invalid(format!("invalid value for \"{name}\": must be an integer"));
    match body.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
        Some(Json::String(s)) if s.trim().is_empty() => Ok(Some(0)),
        Some(Json::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// A boolean field; `false` when absent.
pub fn flag(body: &Body, name: &str) -> Result<bool> {
    Ok(body
        .boolean(name)
        .map_err(|e| TransitError::invalid(e.to_string()))?
        .unwrap_or(false))
}

/// A duration field in seconds (`TypeDurationSecond`); 0 when absent.
pub fn seconds(body: &Body, name: &str) -> Result<i64> {
    Ok(body
        .duration(name)
        .map_err(|e| TransitError::invalid(e.to_string()))?
        .unwrap_or(0))
}

/// The items of `batch_input`, or `None` when the request has none (a single
/// operation). Refuses a non-list, a non-object item, an empty list (Vault's
/// `missing batch input to process`) and more than [`MAX_BATCH_ITEMS`].
pub fn batch(body: &Body) -> Result<Option<Vec<Map<String, Json>>>> {
    let items = match body.get("batch_input") {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::Array(a)) => a,
        Some(other) => {
            return Err(TransitError::invalid(format!(
                "failed to parse batch input: source data must be an array or slice, got {}",
                go_type(other)
            )));
        }
    };
    if items.is_empty() {
        return Err(TransitError::invalid("missing batch input to process"));
    }
    if items.len() > MAX_BATCH_ITEMS {
        return Err(TransitError::invalid(format!(
            "batch_input has {} items; at most {MAX_BATCH_ITEMS} are accepted",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Json::Object(m) => Ok(m.clone()),
            other => Err(TransitError::invalid(format!(
                "failed to parse batch input: [{i}] expected a map, got '{}'",
                go_type(other)
            ))),
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// A string field of batch item `i` (`None` when absent or null), with Vault's text
/// for another type.
pub fn item_string(item: &Map<String, Json>, i: usize, name: &str) -> Result<Option<String>> {
    match item.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(TransitError::invalid(format!(
            "failed to parse batch input: '[{i}].{name}' expected type 'string', got unconvertible type '{}'",
            go_type(other)
        ))),
    }
}

/// An integer field of batch item `i` (`0` when absent).
pub fn item_int(item: &Map<String, Json>, i: usize, name: &str) -> Result<i64> {
    match item.get(name) {
        None | Some(Json::Null) => Ok(0),
        Some(Json::Number(n)) => n.as_i64().ok_or_else(|| {
            TransitError::invalid(format!(
                "failed to parse batch input: error decoding '[{i}].{name}'"
            ))
        }),
        Some(Json::String(s)) => s.parse().map_err(|_| {
            TransitError::invalid(format!(
                "failed to parse batch input: error decoding '[{i}].{name}'"
            ))
        }),
        Some(other) => Err(TransitError::invalid(format!(
            "failed to parse batch input: '[{i}].{name}' expected type 'int', got unconvertible type '{}'",
            go_type(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Json) -> Body {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn batch_input_is_checked() {
        assert_eq!(batch(&body(json!({}))).unwrap(), None);
        assert_eq!(
            batch(&body(json!({"batch_input": "x"})))
                .unwrap_err()
                .to_string(),
            "failed to parse batch input: source data must be an array or slice, got string"
        );
        assert_eq!(
            batch(&body(json!({"batch_input": []})))
                .unwrap_err()
                .to_string(),
            "missing batch input to process"
        );
        assert_eq!(
            batch(&body(json!({"batch_input": [1]})))
                .unwrap_err()
                .to_string(),
            "failed to parse batch input: [0] expected a map, got 'json.Number'"
        );
        let big = vec![json!({}); MAX_BATCH_ITEMS + 1];
        assert!(batch(&body(json!({ "batch_input": big }))).is_err());
        let item = body(json!({"plaintext": 5, "key_version": "2"}));
        assert_eq!(
            item_string(&item, 0, "plaintext").unwrap_err().to_string(),
            "failed to parse batch input: '[0].plaintext' expected type 'string', got unconvertible type 'json.Number'"
        );
        assert_eq!(item_int(&item, 0, "key_version").unwrap(), 2);
        assert_eq!(int(&body(json!({"v": -3})), "v").unwrap(), Some(-3));
    }
}
