//! `identity/lookup/entity` and `identity/lookup/group` (OpenBao's
//! `internal/vault/identity/lookup.go`): exactly one way of naming the record, by
//! `id`, `name`, `alias_id`, or `alias_name` with `alias_mount_accessor`. Nothing
//! found answers 204.

use serde_json::Value as Json;

use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::mounts::MountTable;
use crate::store::Store;

use super::aliases;
use super::entities;
use super::group_aliases;
use super::groups;

/// How a lookup names its record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum By {
    /// `id`.
    Id(String),
    /// `name`.
    Name(String),
    /// `alias_id`.
    AliasId(String),
    /// `alias_name` and `alias_mount_accessor`.
    Alias(String, String),
}

/// Parses a lookup request with OpenBao's checks and texts.
pub fn parse(body: &Body) -> Result<By, ApiError> {
    let s = |f: &str| -> Result<String, ApiError> { Ok(body.string(f)?.unwrap_or_default()) };
    let (id, name, alias_id) = (s("id")?, s("name")?, s("alias_id")?);
    let (alias_name, alias_accessor) = (s("alias_name")?, s("alias_mount_accessor")?);
    let count = [&id, &name, &alias_id, &alias_name, &alias_accessor]
        .iter()
        .filter(|v| !v.is_empty())
        .count();
    match count {
        0 => Err(ApiError::bad("query parameter not supplied")),
        1 if !alias_name.is_empty() || !alias_accessor.is_empty() => Err(ApiError::bad(
            "both 'alias_name' and 'alias_mount_accessor' needs to be set",
        )),
        1 if !id.is_empty() => Ok(By::Id(id)),
        1 if !name.is_empty() => Ok(By::Name(name)),
        1 => Ok(By::AliasId(alias_id)),
        2 if !alias_name.is_empty() && !alias_accessor.is_empty() => {
            Ok(By::Alias(alias_name, alias_accessor))
        }
        _ => Err(ApiError::bad(
            "query parameter conflict; please supply distinct set of query parameters",
        )),
    }
}

/// The entity a lookup names, as an entity read answers it (`None`: 204).
pub async fn entity(
    store: &dyn Store,
    by: &By,
    table: &MountTable,
) -> Result<Option<Json>, ApiError> {
    let id = match by {
        By::Id(id) => id.clone(),
        By::Name(name) => return entities::read(store, name, true, table).await,
        By::AliasId(aid) => match aliases::by_id(store, aid).await? {
            Some(a) => a.rec.canonical_id,
            None => return Ok(None),
        },
        By::Alias(name, accessor) => match aliases::by_factors(store, accessor, name).await? {
            Some(a) => a.rec.canonical_id,
            None => return Ok(None),
        },
    };
    entities::read(store, &id, false, table).await
}

/// The group a lookup names, as a group read answers it (`None`: 204); by alias, the
/// external group holding that group alias.
pub async fn group(
    store: &dyn Store,
    by: &By,
    table: &MountTable,
) -> Result<Option<Json>, ApiError> {
    let id = match by {
        By::Id(id) => id.clone(),
        By::Name(name) => return groups::read(store, name, true, table).await,
        By::AliasId(aid) => match group_aliases::group_of(store, |a| a.id == *aid).await? {
            Some(id) => id,
            None => return Ok(None),
        },
        By::Alias(name, accessor) => {
            let found = group_aliases::group_of(store, |a| {
                a.mount_accessor == *accessor && super::keys::same_name(&a.name, name)
            })
            .await?;
            match found {
                Some(id) => id,
                None => return Ok(None),
            }
        }
    };
    groups::read(store, &id, false, table).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: serde_json::Value) -> Result<By, String> {
        parse(&serde_json::from_value(v).unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn lookups_take_exactly_one_way_of_naming() {
        assert_eq!(p(json!({})), Err("query parameter not supplied".into()));
        assert_eq!(p(json!({"id": "x"})), Ok(By::Id("x".into())));
        assert_eq!(p(json!({"name": "n"})), Ok(By::Name("n".into())));
        assert_eq!(p(json!({"alias_id": "a"})), Ok(By::AliasId("a".into())));
        assert_eq!(
            p(json!({"alias_name": "n", "alias_mount_accessor": "m"})),
            Ok(By::Alias("n".into(), "m".into()))
        );
        assert_eq!(
            p(json!({"alias_name": "n"})),
            Err("both 'alias_name' and 'alias_mount_accessor' needs to be set".into())
        );
        assert_eq!(
            p(json!({"id": "x", "name": "n"})),
            Err("query parameter conflict; please supply distinct set of query parameters".into())
        );
        assert_eq!(
            p(json!({"id": ""})),
            Err("query parameter not supplied".into())
        );
    }
}
