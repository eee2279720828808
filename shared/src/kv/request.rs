//! The KV v2 engine's typed requests, parsed from a request body by Vault's field
//! conventions. The engine ([`super::Kv`]) takes these, never the raw body.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};

/// Most `custom_metadata` keys.
pub const MAX_CUSTOM_KEYS: usize = 64;
/// Longest `custom_metadata` key, bytes.
pub const MAX_CUSTOM_KEY_BYTES: usize = 128;
/// Longest `custom_metadata` value, bytes.
pub const MAX_CUSTOM_VALUE_BYTES: usize = 512;

/// A new version (`POST data/:path`), or a merge patch of the newest one (`PATCH
/// data/:path`): `{"data": {...}, "options": {"cas": N}}`. `Debug` shows the number of
/// fields, never their values.
#[derive(Clone, PartialEq)]
pub struct WriteRequest {
    /// The secret's data (for a patch: the merge patch).
    pub data: Map<String, Json>,
    /// `options.cas`: write only if the current version is this (0: only if the
    /// secret does not exist).
    pub cas: Option<i64>,
}

impl std::fmt::Debug for WriteRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteRequest")
            .field("fields", &self.data.len())
            .field("cas", &self.cas)
            .finish()
    }
}

impl WriteRequest {
    /// Parses `data` (an object, required: 400 `no data provided`) and `options.cas`.
    pub fn from_body(body: &Body) -> Result<Self, ApiError> {
        let data = match body.get("data") {
            Some(Json::Object(o)) => o.clone(),
            Some(_) => return Err(ApiError::bad("\"data\" must be an object")),
            None => return Err(ApiError::bad("no data provided")),
        };
        let cas = match body.get("options") {
            None | Some(Json::Null) => None,
            Some(Json::Object(o)) => {
                let opts: Body = o.clone();
                opts.uint("cas")?
            }
            Some(_) => return Err(ApiError::bad("\"options\" must be an object")),
        };
        Ok(Self { data, cas })
    }
}

/// The versions a delete, undelete or destroy names: `versions`, a list of numbers (or
/// numeric strings) or a comma-separated string; at least one, each positive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versions(pub Vec<i64>);

impl Versions {
    /// Parses `versions`: 400 `no versions provided` when absent or empty, 400 when one
    /// is not a positive number.
    pub fn from_body(body: &Body) -> Result<Self, ApiError> {
        let bad = || ApiError::bad("\"versions\" must be a list of version numbers");
        let positive = |s: &str| s.trim().parse().ok().filter(|x: &i64| *x > 0);
        let list: Vec<i64> = match body.get("versions") {
            Some(Json::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Json::Number(n) => n.as_i64().filter(|x| *x > 0).ok_or_else(bad),
                    Json::String(s) => positive(s).ok_or_else(bad),
                    _ => Err(bad()),
                })
                .collect::<Result<_, _>>()?,
            Some(Json::String(s)) => s
                .split(',')
                .map(|p| positive(p).ok_or_else(bad))
                .collect::<Result<_, _>>()?,
            _ => return Err(ApiError::bad("no versions provided")),
        };
        if list.is_empty() {
            return Err(ApiError::bad("no versions provided"));
        }
        Ok(Self(list))
    }
}

/// `POST metadata/:path`: the settings given (absent: unchanged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetadataUpdate {
    /// `max_versions` (0: the mount's).
    pub max_versions: Option<i64>,
    /// `cas_required`.
    pub cas_required: Option<bool>,
    /// `custom_metadata`: replaces the stored map.
    pub custom_metadata: Option<BTreeMap<String, String>>,
}

/// 400 for a `delete_version_after` other than none or zero: Sigil does not delete
/// versions on a timer yet (metadata and mount config alike).
fn refuse_delete_version_after(body: &Body) -> Result<(), ApiError> {
    if body
        .get("delete_version_after")
        .is_some_and(|v| !matches!(v, Json::Null) && v != "0s" && v != "0" && v != "" && v != 0)
    {
        return Err(ApiError::bad(
            "\"delete_version_after\" is not supported by Sigil yet",
        ));
    }
    Ok(())
}

impl MetadataUpdate {
    /// Parses the settings: 400 for `custom_metadata` past its limits
    /// ([`MAX_CUSTOM_KEYS`] keys, [`MAX_CUSTOM_KEY_BYTES`]-byte keys,
    /// [`MAX_CUSTOM_VALUE_BYTES`]-byte values) and for a non-zero
    /// `delete_version_after` (not supported).
    pub fn from_body(body: &Body) -> Result<Self, ApiError> {
        let custom = body.string_map("custom_metadata")?;
        if custom.as_ref().is_some_and(|c| {
            c.len() > MAX_CUSTOM_KEYS
                || c.iter().any(|(k, v)| {
                    k.len() > MAX_CUSTOM_KEY_BYTES || v.len() > MAX_CUSTOM_VALUE_BYTES
                })
        }) {
            return Err(ApiError::bad(
                "custom_metadata is too large (at most 64 keys, 128-byte keys, 512-byte values)",
            ));
        }
        refuse_delete_version_after(body)?;
        Ok(Self {
            max_versions: max_versions(body)?,
            cas_required: body.boolean("cas_required")?,
            custom_metadata: custom,
        })
    }
}

/// Most versions a secret may keep. Each kept version's state lives in the secret's
/// metadata item (about 70 bytes each), which must stay within DynamoDB's 400 KB item
/// limit with room for custom metadata: past about 5,500 versions every write would
/// fail. Vault has no limit; Sigil refuses more with 400.
pub const MAX_VERSIONS_LIMIT: i64 = 1000;

/// `max_versions`: 400 past [`MAX_VERSIONS_LIMIT`].
fn max_versions(body: &Body) -> Result<Option<i64>, ApiError> {
    let max = body.uint("max_versions")?;
    if max.is_some_and(|m| m > MAX_VERSIONS_LIMIT) {
        return Err(ApiError::bad(format!(
            "max_versions must be at most {MAX_VERSIONS_LIMIT}"
        )));
    }
    Ok(max)
}

/// `POST config`: the mount's settings given (absent: unchanged).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConfigUpdate {
    /// `max_versions` (0: Vault's default, 10).
    pub max_versions: Option<i64>,
    /// `cas_required`.
    pub cas_required: Option<bool>,
}

impl ConfigUpdate {
    /// Parses `max_versions` and `cas_required`; 400 for a non-zero
    /// `delete_version_after` (not supported).
    pub fn from_body(body: &Body) -> Result<Self, ApiError> {
        refuse_delete_version_after(body)?;
        Ok(Self {
            max_versions: max_versions(body)?,
            cas_required: body.boolean("cas_required")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Json) -> Body {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn delete_version_after_is_refused_on_metadata_and_config() {
        for b in [
            serde_json::json!({"delete_version_after": "xyz"}),
            serde_json::json!({"delete_version_after": "1h"}),
        ] {
            assert_eq!(
                ConfigUpdate::from_body(&body(b.clone()))
                    .unwrap_err()
                    .status(),
                400
            );
            assert_eq!(
                MetadataUpdate::from_body(&body(b)).unwrap_err().status(),
                400
            );
        }
        for b in [
            serde_json::json!({"delete_version_after": "0s"}),
            serde_json::json!({"delete_version_after": 0}),
            serde_json::json!({"max_versions": 3}),
        ] {
            assert!(ConfigUpdate::from_body(&body(b)).is_ok());
        }
    }
}
