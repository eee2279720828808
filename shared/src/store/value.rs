//! Attribute values and items, independent of any SDK.

use std::collections::BTreeMap;

use super::error::StoreError;
use super::key::Key;
use super::schema;

/// An attribute value (the subset of DynamoDB's types Sigil uses).
#[derive(Clone, PartialEq)]
pub enum Value {
    /// A string (`S`).
    S(String),
    /// An integer (`N`); Sigil stores only integers (seconds, counts, versions).
    N(i64),
    /// Bytes (`B`): ciphertexts, wrapped keys.
    B(Vec<u8>),
    /// A boolean (`BOOL`).
    Bool(bool),
    /// A list (`L`).
    L(Vec<Value>),
    /// A map (`M`).
    M(BTreeMap<String, Value>),
    /// Null (`NULL`).
    Null,
}

/// `Debug` never prints string or byte contents: items may hold hashes of secrets or
/// ciphertexts, and a debug line is not the place for either.
impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::S(s) => write!(f, "S(<{} chars>)", s.chars().count()),
            Value::N(n) => write!(f, "N({n})"),
            Value::B(b) => write!(f, "B(<{} bytes>)", b.len()),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::L(l) => f.debug_list().entries(l).finish(),
            Value::M(m) => f.debug_map().entries(m).finish(),
            Value::Null => write!(f, "Null"),
        }
    }
}

/// An item: attribute name to value. Always holds `pk` and `sk`.
pub type Item = BTreeMap<String, Value>;

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::S(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::S(s)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::N(n)
    }
}
impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::N(i64::from(n))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::B(b)
    }
}
impl From<Vec<String>> for Value {
    fn from(l: Vec<String>) -> Self {
        Value::L(l.into_iter().map(Value::S).collect())
    }
}

impl Value {
    /// Converts JSON into a value: objects become maps, integers `N`, other numbers
    /// their decimal string (Sigil never stores fractions it must compute with).
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::N(i),
                None => Value::S(n.to_string()),
            },
            serde_json::Value::String(s) => Value::S(s.clone()),
            serde_json::Value::Array(a) => Value::L(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => Value::M(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Converts back to JSON (bytes become an array of numbers; Sigil never stores
    /// bytes where it converts to JSON).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::S(s) => serde_json::Value::String(s.clone()),
            Value::N(n) => serde_json::Value::from(*n),
            Value::B(b) => serde_json::Value::from(b.clone()),
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::L(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect()),
            Value::M(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Null => serde_json::Value::Null,
        }
    }

    /// The string, if this is an `S`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::S(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is an `N`.
    pub fn as_n(&self) -> Option<i64> {
        match self {
            Value::N(n) => Some(*n),
            _ => None,
        }
    }
}

/// The key of an item (empty strings when `pk`/`sk` are missing).
pub(crate) fn item_key(item: &Item) -> Key {
    let part = |name: &str| {
        item.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Key::new(part(schema::PK), part(schema::SK))
}

/// Typed access to an item's attributes, with [`StoreError::Malformed`] naming the
/// attribute (never its value) when it is missing or of the wrong type.
pub trait ItemExt {
    /// A required string attribute.
    fn s(&self, name: &str) -> Result<&str, StoreError>;
    /// A required number attribute.
    fn n(&self, name: &str) -> Result<i64, StoreError>;
    /// An optional number attribute.
    fn n_opt(&self, name: &str) -> Result<Option<i64>, StoreError>;
    /// A required bytes attribute.
    fn b(&self, name: &str) -> Result<&[u8], StoreError>;
    /// An optional boolean attribute (absent is `false`).
    fn flag(&self, name: &str) -> Result<bool, StoreError>;
    /// A list-of-strings attribute (absent is empty).
    fn strings(&self, name: &str) -> Result<Vec<String>, StoreError>;
    /// A map attribute (absent is empty).
    fn map(&self, name: &str) -> Result<BTreeMap<String, Value>, StoreError>;
    /// The item's key.
    fn key(&self) -> Key;
}

fn malformed(name: &str) -> StoreError {
    StoreError::Malformed(format!("attribute `{name}` missing or of the wrong type"))
}

impl ItemExt for Item {
    fn s(&self, name: &str) -> Result<&str, StoreError> {
        self.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| malformed(name))
    }
    fn n(&self, name: &str) -> Result<i64, StoreError> {
        self.get(name)
            .and_then(Value::as_n)
            .ok_or_else(|| malformed(name))
    }
    fn n_opt(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::N(n)) => Ok(Some(*n)),
            Some(_) => Err(malformed(name)),
        }
    }
    fn b(&self, name: &str) -> Result<&[u8], StoreError> {
        match self.get(name) {
            Some(Value::B(b)) => Ok(b),
            _ => Err(malformed(name)),
        }
    }
    fn flag(&self, name: &str) -> Result<bool, StoreError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(malformed(name)),
        }
    }
    fn strings(&self, name: &str) -> Result<Vec<String>, StoreError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::L(l)) => l
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| malformed(name)))
                .collect(),
            Some(_) => Err(malformed(name)),
        }
    }
    fn map(&self, name: &str) -> Result<BTreeMap<String, Value>, StoreError> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(Value::M(m)) => Ok(m.clone()),
            Some(_) => Err(malformed(name)),
        }
    }
    fn key(&self) -> Key {
        item_key(self)
    }
}

/// Most bytes a DynamoDB item may hold (names and values): 400 KB.
pub const ITEM_MAX_BYTES: usize = 400 * 1024;

/// An item's size by DynamoDB's rules (bytes): each attribute's name plus its value
/// (strings and binary: their length; numbers: about one byte per two digits plus one;
/// booleans and null: 1; lists and maps: 3, plus 1 and the size of each element, plus
/// each map key's length).
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &Value) -> usize {
    match v {
        Value::S(s) => s.len(),
        Value::B(b) => b.len(),
        Value::N(n) => n.unsigned_abs().to_string().len().div_ceil(2) + 1,
        Value::Bool(_) | Value::Null => 1,
        Value::L(l) => 3 + l.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        Value::M(m) => {
            3 + m
                .iter()
                .map(|(k, x)| 1 + k.len() + value_size(x))
                .sum::<usize>()
        }
    }
}

/// Starts an item with its key.
pub fn new_item(key: &Key) -> Item {
    let mut item = Item::new();
    item.insert(schema::PK.to_owned(), Value::S(key.pk.clone()));
    item.insert(schema::SK.to_owned(), Value::S(key.sk.clone()));
    item
}

/// The three attributes that put an item on the expiry index (and schedule its
/// last-resort TTL deletion).
pub fn expiry_attrs(pk: &str, exp_at: i64) -> [(&'static str, Value); 3] {
    [
        (
            schema::EXP_BUCKET,
            Value::S(schema::expiry_bucket(pk, exp_at)),
        ),
        (schema::EXP_AT, Value::N(exp_at)),
        (
            schema::TTL,
            Value::N(exp_at.saturating_add(schema::TTL_GRACE_SECS)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_shapes_not_contents() {
        let mut item = Item::new();
        item.insert("s".into(), Value::S("sgl.SECRET".into()));
        item.insert("b".into(), Value::B(b"ciphertext".to_vec()));
        item.insert(
            "m".into(),
            Value::M(BTreeMap::from([("k".into(), Value::S("hunter2".into()))])),
        );
        let shown = format!("{item:?}");
        assert!(
            !shown.contains("SECRET")
                && !shown.contains("ciphertext")
                && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(
            shown.contains("<10 chars>") && shown.contains("<10 bytes>"),
            "{shown}"
        );
    }

    #[test]
    fn json_round_trip() {
        let j = serde_json::json!({"a": [1, "x", true, null], "b": {"c": 2}});
        assert_eq!(Value::from_json(&j).to_json(), j);
    }
}
