//! Typed documents read straight from stored [`Value`]s, without a JSON copy in
//! between: `from_value::<T>(&value)` is what `serde_json::from_value(value.to_json())`
//! would give, for the types Sigil stores (strings, integers, booleans, lists, maps,
//! nulls; enums spelled as strings).

use serde::de::value::{Error, MapDeserializer, SeqDeserializer};
use serde::de::{DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use super::Value;

/// Deserializes `T` from `value`. The error (wrong type, out of range, unknown variant)
/// is serde's and may quote the stored value: callers report
/// [`super::StoreError::Malformed`] naming the document instead, never the error.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, Error> {
    T::deserialize(Borrowed(value))
}

/// A stored value as a serde deserializer.
#[derive(Clone, Copy)]
struct Borrowed<'a>(&'a Value);

impl<'de> IntoDeserializer<'de, Error> for Borrowed<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Borrowed<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::S(s) => visitor.visit_borrowed_str(s),
            Value::N(n) => visitor.visit_i64(*n),
            Value::B(b) => visitor.visit_borrowed_bytes(b),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::L(items) => {
                let mut seq = SeqDeserializer::new(items.iter().map(Borrowed));
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Value::M(map) => {
                let mut entries =
                    MapDeserializer::new(map.iter().map(|(k, v)| (k.as_str(), Borrowed(v))));
                let out = visitor.visit_map(&mut entries)?;
                entries.end()?;
                Ok(out)
            }
            Value::Null => visitor.visit_unit(),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::S(s) => s
                .as_str()
                .into_deserializer()
                .deserialize_enum(name, variants, visitor),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        #[default]
        Plain,
        Glob,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(default)]
    struct Doc {
        name: String,
        ttl: i64,
        small: u16,
        on: bool,
        list: Vec<String>,
        map: BTreeMap<String, serde_json::Value>,
        kind: Kind,
        maybe: Option<String>,
        absent: Option<i64>,
        pair: (i64, String),
    }

    #[test]
    fn decodes_as_serde_json_would() {
        let json = json!({
            "name": "app", "ttl": 3600, "small": 7, "on": true, "list": ["a", "b"],
            "map": {"sub": ["x", 1, null, {"k": false}]}, "kind": "glob", "maybe": null,
            "pair": [1, "one"], "unknown": {"ignored": [1]},
        });
        let stored = Value::from_json(&json);
        let direct: Doc = from_value(&stored).unwrap();
        let via_json: Doc = serde_json::from_value(json).unwrap();
        assert_eq!(direct, via_json);
        assert_eq!(direct.kind, Kind::Glob);
        assert_eq!(direct.map["sub"][3]["k"], json!(false));
    }

    #[test]
    fn wrong_types_fail() {
        for bad in [
            json!({"ttl": "hunter2"}),
            json!({"small": 70000}),
            json!({"kind": "hunter2"}),
            json!({"list": "hunter2"}),
            json!({"pair": [1, "one", "hunter2"]}),
        ] {
            assert!(
                from_value::<Doc>(&Value::from_json(&bad)).is_err(),
                "{bad} decoded"
            );
        }
    }
}
