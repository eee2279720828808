//! Parsing and checking the identity store's request fields, with OpenBao's rules and
//! texts (`internal/vault/identity/store_util.go`, `store_structs.go`).

use std::collections::BTreeMap;

use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};

/// Most metadata pairs a record may hold (OpenBao's `metaMaxKeyPairs`).
pub const META_MAX_PAIRS: usize = 64;
/// Longest metadata key, bytes (`metaKeyMaxLength`).
pub const META_KEY_MAX: usize = 128;
/// Longest metadata value, bytes (`metaValueMaxLength`).
pub const META_VALUE_MAX: usize = 512;
/// The key prefix reserved for Vault's own use (`metaKeyReservedPrefix`).
const META_RESERVED: &str = "vault-";

fn meta_pair(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("key cannot be blank".into());
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"=/+_-".contains(&b))
    {
        return Err("key contains invalid characters".into());
    }
    if key.len() > META_KEY_MAX {
        return Err(format!(
            "key is too long (limit: {META_KEY_MAX} characters)"
        ));
    }
    if key.starts_with(META_RESERVED) {
        return Err(format!(
            "key prefix \"{META_RESERVED}\" is reserved for internal use"
        ));
    }
    if value.len() > META_VALUE_MAX {
        return Err(format!(
            "value is too long (limit: {META_VALUE_MAX} characters)"
        ));
    }
    Ok(())
}

/// Checks metadata as OpenBao's `validateMetadata`; the error names the pair (cut
/// short by [`ApiError::body`] when huge).
pub fn check_metadata(meta: &BTreeMap<String, String>) -> Result<(), String> {
    if meta.len() > META_MAX_PAIRS {
        return Err(format!(
            "metadata cannot contain more than {META_MAX_PAIRS} key/value pairs"
        ));
    }
    for (k, v) in meta {
        meta_pair(k, v).map_err(|e| format!("failed to load metadata pair ({k:?}, {v:?}): {e}"))?;
    }
    Ok(())
}

/// The `field` metadata map of a request (`None` when absent), checked: 400
/// `invalid <what> metadata: ...` as OpenBao's sanitizing (which answers it with 500).
pub fn metadata(
    body: &Body,
    field: &str,
    what: &str,
) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let m = match body.get(field) {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(v) => crate::http::params::parse_kv_pairs(v)
            .map_err(|e| ApiError::bad(format!("failed to parse {field}: {e}")))?,
    };
    check_metadata(&m).map_err(|e| ApiError::bad(format!("invalid {what} metadata: {e}")))?;
    Ok(Some(m))
}

/// The `policies` of a request (`None` when absent): lowercased, duplicates removed
/// (OpenBao's `strutil.RemoveDuplicates(.., true)`, which also sorts), `root` refused
/// with `policies cannot contain root`.
pub fn policies(body: &Body) -> Result<Option<Vec<String>>, ApiError> {
    let Some(list) = body.list("policies")? else {
        return Ok(None);
    };
    let p = dedup(list.into_iter().map(|p| super::keys::fold(&p)).collect());
    if p.iter().any(|p| p == "root") {
        return Err(ApiError::bad("policies cannot contain root"));
    }
    Ok(Some(p))
}

/// Sorted, without duplicates or empty strings (OpenBao's `RemoveDuplicates`).
pub fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.retain(|s| !s.is_empty());
    v.sort();
    v.dedup();
    v
}

/// A list of IDs (`member_entity_ids`, `member_group_ids`): `None` when absent;
/// duplicates removed, order kept (OpenBao's `RemoveDuplicates(.., false)` sorts; the
/// order is not part of the contract).
pub fn ids(body: &Body, field: &str) -> Result<Option<Vec<String>>, ApiError> {
    Ok(body.list(field)?.map(dedup))
}

/// A generated name, `<kind>_<8 hex>` (OpenBao's `generateName`).
pub fn generated_name(kind: &str) -> Result<String, ApiError> {
    let b = crate::crypto::random_bytes(4).map_err(|_| ApiError::Internal)?;
    Ok(format!("{kind}_{}", hex::encode(b)))
}

/// A new UUID for a record.
pub fn new_id() -> Result<String, ApiError> {
    crate::crypto::random_uuid().map_err(|_| ApiError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: serde_json::Value) -> Body {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn metadata_follows_openbao_rules() {
        let ok = |v| metadata(&body(json!({ "metadata": v })), "metadata", "entity");
        assert_eq!(
            ok(json!({"team": "ci", "a/b=c+d_e-f": ""}))
                .unwrap()
                .unwrap()
                .len(),
            2
        );
        let err = |v| ok(v).unwrap_err().to_string();
        assert_eq!(
            err(json!({"bad key": "x"})),
            "invalid entity metadata: failed to load metadata pair (\"bad key\", \"x\"): key contains invalid characters"
        );
        assert!(err(json!({"vault-x": "1"})).ends_with("is reserved for internal use"));
        assert!(err(json!({"k": "v".repeat(513)})).contains("value is too long (limit: 512"));
        assert!(err(json!({"k".repeat(129): "v"})).contains("key is too long (limit: 128"));
        assert!(err(json!({"ü": "v"})).contains("key contains invalid characters"));
        let many: serde_json::Map<_, _> = (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert_eq!(
            err(serde_json::Value::Object(many)),
            "invalid entity metadata: metadata cannot contain more than 64 key/value pairs"
        );
        // Vault's TypeKVPairs: numbers weakly read as strings, `k=v` strings and lists
        // of them (the CLI's `metadata=team=ci`).
        assert_eq!(ok(json!({"k": 1})).unwrap().unwrap()["k"], "1");
        assert_eq!(
            ok(json!("team=platform")).unwrap().unwrap()["team"],
            "platform"
        );
        let list = ok(json!(["a=1", "b=x=y"])).unwrap().unwrap();
        assert_eq!((list["a"].as_str(), list["b"].as_str()), ("1", "x=y"));
        assert!(err(json!("novalue")).starts_with("failed to parse metadata: invalid key pair"));
        assert!(err(json!({"k": {"nested": 1}})).starts_with("failed to parse metadata: "));
        assert!(err(json!(5)).starts_with("failed to parse metadata: "));
    }

    #[test]
    fn policies_are_lowercased_deduplicated_and_never_root() {
        let p = |v| policies(&body(json!({ "policies": v })));
        assert_eq!(
            p(json!("B, a,b")).unwrap().unwrap(),
            vec!["a".to_owned(), "b".to_owned()]
        );
        assert_eq!(
            p(json!(["ROOT"])).unwrap_err().to_string(),
            "policies cannot contain root"
        );
        assert_eq!(policies(&Body::new()).unwrap(), None);
    }

    #[test]
    fn generated_names_have_vaults_shape() {
        let n = generated_name("entity").unwrap();
        assert!(n.starts_with("entity_") && n.len() == 15, "{n}");
    }
}
