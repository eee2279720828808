//! The identity store's paths, `identity/` (rules: [`crate::identity`]). Every route is
//! served by the admin function and goes through the normal policy checks; as in
//! Vault, writes need `update` (no existence check) and reads `read`.

use serde_json::{Value as Json, json};

use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::identity::aliases::{self, AliasInput};
use crate::identity::entities::{self, EntityInput, Upserted};
use crate::identity::group_aliases::{self, GroupAliasInput};
use crate::identity::groups::{self, GroupInput};
use crate::identity::lookup;
use crate::op;

use super::ctx::Ctx;
use super::reply::keys_reply;
use super::spec::PathSpec;

/// The identity store's paths (OpenBao's `entityPaths`, `aliasPaths`, `groupPaths`,
/// `groupAliasPaths`, `lookupPaths`), all on the admin function.
pub static PATHS: &[PathSpec] = &[
    PathSpec::new("entity", &[op!(Update, Admin, entity_create)]),
    PathSpec::new("entity/id", &[op!(List, Admin, entity_list_ids)]),
    PathSpec::new(
        "entity/id/{id}",
        &[
            op!(Read, Admin, entity_read_id),
            op!(Update, Admin, entity_update_id),
            op!(Delete, Admin, entity_delete_id),
        ],
    ),
    PathSpec::new("entity/name", &[op!(List, Admin, entity_list_names)]),
    PathSpec::new(
        "entity/name/{*name}",
        &[
            op!(Read, Admin, entity_read_name),
            op!(Update, Admin, entity_update_name),
            op!(Delete, Admin, entity_delete_name),
        ],
    ),
    PathSpec::new("entity-alias", &[op!(Update, Admin, alias_create)]),
    PathSpec::new("entity-alias/id", &[op!(List, Admin, alias_list)]),
    PathSpec::new(
        "entity-alias/id/{id}",
        &[
            op!(Read, Admin, alias_read),
            op!(Update, Admin, alias_update),
            op!(Delete, Admin, alias_delete),
        ],
    ),
    PathSpec::new("group", &[op!(Update, Admin, group_create)]),
    PathSpec::new("group/id", &[op!(List, Admin, group_list_ids)]),
    PathSpec::new(
        "group/id/{id}",
        &[
            op!(Read, Admin, group_read_id),
            op!(Update, Admin, group_update_id),
            op!(Delete, Admin, group_delete_id),
        ],
    ),
    PathSpec::new("group/name", &[op!(List, Admin, group_list_names)]),
    PathSpec::new(
        "group/name/{*name}",
        &[
            op!(Read, Admin, group_read_name),
            op!(Update, Admin, group_update_name),
            op!(Delete, Admin, group_delete_name),
        ],
    ),
    PathSpec::new("group-alias", &[op!(Update, Admin, group_alias_create)]),
    PathSpec::new("group-alias/id", &[op!(List, Admin, group_alias_list)]),
    PathSpec::new(
        "group-alias/id/{id}",
        &[
            op!(Read, Admin, group_alias_read),
            op!(Update, Admin, group_alias_update),
            op!(Delete, Admin, group_alias_delete),
        ],
    ),
    PathSpec::new("lookup/entity", &[op!(Update, Admin, lookup_entity)]),
    PathSpec::new("lookup/group", &[op!(Update, Admin, lookup_group)]),
];

/// A record read: its data, or 404 (Vault answers a read of nothing with 404).
fn read_reply(found: Option<Json>) -> Result<Reply, ApiError> {
    let data = found.ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(data).mount("identity").ok())
}

/// A write's answer: its data, or 204 when Vault answers none.
fn write_reply(data: Option<Json>) -> Reply {
    match data {
        Some(d) => Envelope::data(d).mount("identity").ok(),
        None => Reply::NoContent,
    }
}

/// A lookup's answer: the record, or 204 when nothing matches (Vault's lookups are
/// update operations, which answer nothing with 204).
fn lookup_reply(found: Option<Json>) -> Reply {
    write_reply(found)
}

/// A LIST answer by ID: `keys` with `key_info`, or 404 when there are no keys.
fn list_reply((keys, info): (Vec<String>, Json)) -> Result<Reply, ApiError> {
    if keys.is_empty() {
        return Err(ApiError::NotFound);
    }
    Ok(Envelope::data(json!({ "keys": keys, "key_info": info }))
        .mount("identity")
        .ok())
}

/// A LIST answer by name: `keys` only, as OpenBao answers them, or 404 when none.
fn names_reply((keys, _): (Vec<String>, Json)) -> Result<Reply, ApiError> {
    keys_reply(keys)
}

/// The path's `name` parameter without the `/` a LIST-shaped path may end in.
fn path_name<'a>(c: &'a Ctx<'a>) -> &'a str {
    c.param("name")
}

async fn entity_write(c: &Ctx<'_>, input: EntityInput) -> Result<Reply, ApiError> {
    Ok(match entities::upsert(c.store(), &input, c.now).await? {
        Upserted::Created(data) => write_reply(Some(data)),
        Upserted::Updated => Reply::NoContent,
    })
}

async fn entity_create(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    entity_write(c, EntityInput::from_body(c.body)?).await
}

async fn entity_update_id(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let input = EntityInput {
        id: Some(c.param("id").to_owned()),
        ..EntityInput::from_body(c.body)?
    };
    entity_write(c, input).await
}

async fn entity_update_name(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let input = EntityInput {
        name: Some(path_name(c).to_owned()),
        ..EntityInput::from_body(c.body)?
    };
    entity_write(c, input).await
}

async fn entity_read_id(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    read_reply(entities::read(c.store(), c.param("id"), false, c.table).await?)
}

async fn entity_read_name(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    read_reply(entities::read(c.store(), path_name(c), true, c.table).await?)
}

async fn entity_delete_id(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    entities::delete(c.store(), c.param("id"), false, c.now).await?;
    Ok(Reply::NoContent)
}

async fn entity_delete_name(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    entities::delete(c.store(), path_name(c), true, c.now).await?;
    Ok(Reply::NoContent)
}

async fn entity_list_ids(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    list_reply(entities::list(c.store(), false, c.table).await?)
}

async fn entity_list_names(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    names_reply(entities::list(c.store(), true, c.table).await?)
}

async fn alias_create(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let input = AliasInput::from_body(c.body)?;
    Ok(write_reply(
        aliases::upsert(c.store(), c.table, &input, c.now).await?,
    ))
}

async fn alias_update(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let input = AliasInput {
        id: Some(c.param("id").to_owned()),
        ..AliasInput::from_body(c.body)?
    };
    Ok(write_reply(
        aliases::upsert(c.store(), c.table, &input, c.now).await?,
    ))
}

async fn alias_read(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    read_reply(aliases::read(c.store(), c.param("id"), c.table).await?)
}

async fn alias_delete(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    aliases::delete(c.store(), c.param("id")).await?;
    Ok(Reply::NoContent)
}

async fn alias_list(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    list_reply(aliases::list(c.store(), c.table).await?)
}

async fn group_create(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    // OpenBao: a `name` given empty is refused here (absent, one is generated).
    if c.body.get("name").and_then(|v| v.as_str()) == Some("") {
        return Err(ApiError::bad("empty group name"));
    }
    let input = GroupInput::from_body(c.body)?;
    Ok(write_reply(groups::upsert(c.store(), &input, c.now).await?))
}

async fn group_update_id(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let input = GroupInput {
        id: Some(c.param("id").to_owned()),
        ..GroupInput::from_body(c.body)?
    };
    Ok(write_reply(groups::upsert(c.store(), &input, c.now).await?))
}

async fn group_update_name(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let input = GroupInput {
        id: None,
        name: Some(path_name(c).to_owned()),
        ..GroupInput::from_body(c.body)?
    };
    Ok(write_reply(groups::upsert(c.store(), &input, c.now).await?))
}

async fn group_read_id(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    read_reply(groups::read(c.store(), c.param("id"), false, c.table).await?)
}

async fn group_read_name(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    read_reply(groups::read(c.store(), path_name(c), true, c.table).await?)
}

async fn group_delete_id(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    groups::delete(c.store(), c.param("id"), false, c.now).await?;
    Ok(Reply::NoContent)
}

async fn group_delete_name(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    groups::delete(c.store(), path_name(c), true, c.now).await?;
    Ok(Reply::NoContent)
}

async fn group_list_ids(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    list_reply(groups::list(c.store(), false, c.table).await?)
}

async fn group_list_names(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    names_reply(groups::list(c.store(), true, c.table).await?)
}

async fn group_alias_write(c: &Ctx<'_>, input: GroupAliasInput) -> Result<Reply, ApiError> {
    Ok(write_reply(
        group_aliases::upsert(c.store(), c.table, &input, c.now).await?,
    ))
}

async fn group_alias_create(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    group_alias_write(c, GroupAliasInput::from_body(c.body)?).await
}

async fn group_alias_update(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let input = GroupAliasInput {
        id: Some(c.param("id").to_owned()),
        ..GroupAliasInput::from_body(c.body)?
    };
    group_alias_write(c, input).await
}

async fn group_alias_read(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    read_reply(group_aliases::read(c.store(), c.param("id"), c.table).await?)
}

async fn group_alias_delete(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    group_aliases::delete(c.store(), c.param("id"), c.now).await?;
    Ok(Reply::NoContent)
}

async fn group_alias_list(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    list_reply(group_aliases::list(c.store(), c.table).await?)
}

async fn lookup_entity(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let by = lookup::parse(c.body)?;
    Ok(lookup_reply(lookup::entity(c.store(), &by, c.table).await?))
}

async fn lookup_group(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let by = lookup::parse(c.body)?;
    Ok(lookup_reply(lookup::group(c.store(), &by, c.table).await?))
}
