//! The AppRole auth method (`auth/approle`), following Vault's AppRole API
//! (VAULT-NOTES.md "AppRole").
//!
//! Items:
//! - `approle/role/{name}` / `role`: the role (its role ID and parameters);
//! - `approle/role_id/{role_id}` / `role_id`: the same role, found by role ID at login;
//! - `approle/roles` / `{name}`: the role list;
//! - `approle/secret_id/{sha256(secret ID)}` / `secret_id`: a secret ID (only its hash);
//! - `approle/role/{name}` / `accessor/{accessor}`: the secret ID's accessor, scoped to
//!   its role.
//!
//! Login reads the role and the secret ID in one round trip and writes the secret ID's
//! use and the new token in one transaction: two round trips, and `num_uses` holds under
//! concurrency because the use is a conditional write.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::clock::rfc3339;
use crate::crypto;
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::store::{
    Cond, Item, ItemExt, Key, Query, SortCond, Store, StoreError, Update, Value, Write, new_item,
    query_all, query_sort_keys, schema,
};
use crate::token::{self, Limits, Minted, TokenParams};
use crate::token_fields::TokenFields;

/// One AppRole mount: the prefix its items are kept under (`approle` for the
/// environment's `auth/approle/`, `approle/{uuid}` for a mount enabled through the API;
/// [`crate::mounts::MountEntry::storage`]) and its name (its tokens' path is
/// `auth/{name}/login`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mount<'a> {
    /// The storage prefix.
    pub prefix: &'a str,
    /// The mount's name.
    pub name: &'a str,
}

impl Mount<'static> {
    /// The environment's mount, `auth/approle/`.
    pub const DEFAULT: Mount<'static> = Mount {
        prefix: "approle",
        name: "approle",
    };
}

impl Mount<'_> {
    /// The partition listing every role name of the mount (sort key: the name).
    pub fn roles_partition(&self) -> String {
        format!("{}/roles", self.prefix)
    }
}
const A_ROLE_ID: &str = "role_id";
const A_ROLE_NAME: &str = "role_name";
const A_CONFIG: &str = "config";
const A_ACCESSOR: &str = "accessor";
const A_HASH: &str = "secret_id_hash";
const A_USES: &str = "uses_left";
const A_LIMITED: &str = "limited";
const A_EXPIRE: &str = "expire_at";
const A_CREATED: &str = "created_at";
const A_META: &str = "metadata";
const A_CIDRS: &str = "cidr_list";
/// On a role item: when its deletion started (Unix seconds). A role so marked is gone
/// for every purpose but finishing the deletion ([`delete_role`]).
const A_DELETING: &str = "deleting_since";

/// The message for every login failure that could reveal which part was wrong
/// (unknown role, wrong or used-up secret ID), so they cannot be told apart.
pub const INVALID_CREDENTIALS: &str = "invalid role or secret ID";

/// An AppRole role's parameters (Vault's names and defaults).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Whether login needs a secret ID (default true).
    pub bind_secret_id: bool,
    /// Uses of each secret ID (0: unlimited).
    pub secret_id_num_uses: i64,
    /// Lifetime of each secret ID, seconds (0: no expiry).
    pub secret_id_ttl: i64,
    /// Networks secret IDs may be used from (empty: anywhere).
    pub secret_id_bound_cidrs: Vec<String>,
    /// What a login mints (stored beside the fields above, under their own names).
    #[serde(flatten)]
    pub token: TokenFields,
}

impl Default for Role {
    fn default() -> Self {
        Self {
            bind_secret_id: true,
            secret_id_num_uses: 0,
            secret_id_ttl: 0,
            secret_id_bound_cidrs: Vec::new(),
            token: TokenFields::default(),
        }
    }
}

/// Checks a role name: Vault's `\w(([\w-.@]+)?\w)?`, at most 128 bytes.
pub fn valid_name(name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| word(c) || matches!(c, '-' | '.' | '@'))
        && name.starts_with(word)
        && name.ends_with(word)
}

pub use crate::token_fields::MAX_LIST_ITEMS;

fn parse_cidrs(list: &[String], field: &str) -> Result<Vec<String>, ApiError> {
    if list.len() > MAX_LIST_ITEMS {
        return Err(ApiError::bad(format!(
            "at most {MAX_LIST_ITEMS} CIDR blocks in \"{field}\""
        )));
    }
    list.iter()
        .map(|c| {
            let net: IpNet = c
                .parse()
                .or_else(|_| c.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| ApiError::bad(format!("invalid CIDR block in \"{field}\"")))?;
            Ok(net.to_string())
        })
        .collect()
}

fn cidr_allows(cidrs: &[String], remote: Option<&str>) -> bool {
    if cidrs.is_empty() {
        return true;
    }
    let Some(ip) = remote.and_then(|r| r.parse::<IpAddr>().ok()) else {
        return false;
    };
    cidrs
        .iter()
        .filter_map(|c| c.parse::<IpNet>().ok())
        .any(|n| n.contains(&ip))
}

impl Role {
    /// Applies the parameters present in `body` (Vault updates only what is given;
    /// legacy `policies` and `period` are accepted as aliases). 400 for invalid values.
    pub fn apply(&mut self, body: &Body) -> Result<(), ApiError> {
        if let Some(v) = body.boolean("bind_secret_id")? {
            self.bind_secret_id = v;
        }
        if let Some(v) = body.uint("secret_id_num_uses")? {
            self.secret_id_num_uses = v;
        }
        if let Some(v) = body.duration("secret_id_ttl")? {
            self.secret_id_ttl = v;
        }
        if let Some(v) = body.list("secret_id_bound_cidrs")? {
            self.secret_id_bound_cidrs = parse_cidrs(&v, "secret_id_bound_cidrs")?;
        }
        self.token.apply(body)?;
        if !self.bind_secret_id && self.secret_id_bound_cidrs.is_empty() {
            return Err(ApiError::bad(
                "at least one constraint should be enabled on the role: set \"bind_secret_id\" or \"secret_id_bound_cidrs\"",
            ));
        }

        Ok(())
    }

    /// The role as Vault's read returns it.
    pub fn to_json(&self) -> Json {
        let mut out = json!({
            "bind_secret_id": self.bind_secret_id,
            "local_secret_ids": false,
            "secret_id_bound_cidrs": self.secret_id_bound_cidrs,
            "secret_id_num_uses": self.secret_id_num_uses,
            "secret_id_ttl": self.secret_id_ttl,
        });
        if let Json::Object(m) = &mut out {
            self.token.write_json(m);
        }
        out
    }

    fn to_value(&self) -> Value {
        Value::from_json(&serde_json::to_value(self).unwrap_or(Json::Null))
    }

    fn from_value(v: Option<&Value>) -> Result<Self, StoreError> {
        crate::store::decode::from_value(v.unwrap_or(&Value::Null))
            .map_err(|_| StoreError::Malformed("approle role".into()))
    }

    /// The token a login mints: the role's token fields, with the secret ID's
    /// metadata and `role_name` as its metadata (as Vault).
    fn token_params(
        &self,
        m: Mount<'_>,
        name: &str,
        secret_meta: BTreeMap<String, String>,
    ) -> TokenParams {
        let mut meta = secret_meta;
        meta.insert("role_name".to_owned(), name.to_owned());
        self.token
            .params("approle", meta, &format!("auth/{}/login", m.name))
    }
}

fn role_key(m: Mount<'_>, name: &str) -> Key {
    Key::new(format!("{}/role/{name}", m.prefix), "role")
}
fn role_id_key(m: Mount<'_>, role_id: &str) -> Key {
    Key::new(format!("{}/role_id/{role_id}", m.prefix), "role_id")
}
fn list_key(m: Mount<'_>, name: &str) -> Key {
    Key::new(m.roles_partition(), name)
}
fn secret_key(m: Mount<'_>, hash: &str) -> Key {
    Key::new(format!("{}/secret_id/{hash}", m.prefix), "secret_id")
}
fn accessor_key(m: Mount<'_>, name: &str, accessor: &str) -> Key {
    Key::new(
        format!("{}/role/{name}", m.prefix),
        format!("accessor/{accessor}"),
    )
}

/// A stored role with its name and role ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRole {
    /// Role name.
    pub name: String,
    /// Role ID.
    pub role_id: String,
    /// Parameters.
    pub role: Role,
}

fn role_items(m: Mount<'_>, r: &StoredRole) -> (Item, Item, Item) {
    let mut by_name = new_item(&role_key(m, &r.name));
    by_name.insert(A_ROLE_ID.into(), r.role_id.clone().into());
    by_name.insert(A_CONFIG.into(), r.role.to_value());
    let mut by_id = new_item(&role_id_key(m, &r.role_id));
    by_id.insert(A_ROLE_NAME.into(), r.name.clone().into());
    by_id.insert(A_CONFIG.into(), r.role.to_value());
    let listed = new_item(&list_key(m, &r.name));
    (by_name, by_id, listed)
}

/// The name of the role whose role ID is `role_id` (one `GetItem`); `None` when no
/// role has it (or it is malformed).
pub async fn role_name_for_id(
    store: &dyn Store,
    m: Mount<'_>,
    role_id: &str,
) -> Result<Option<String>, ApiError> {
    if role_id.is_empty() || role_id.len() > 256 || role_id.contains('/') {
        return Ok(None);
    }
    match store.get(&role_id_key(m, role_id)).await? {
        Some(item) => Ok(Some(item.s(A_ROLE_NAME)?.to_owned())),
        None => Ok(None),
    }
}

/// Reads a role by name; `None` when there is none, or its deletion has started.
pub async fn read_role(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
) -> Result<Option<StoredRole>, ApiError> {
    Ok(stored_role(store, m, name)
        .await?
        .and_then(|(r, deleting)| (!deleting).then_some(r)))
}

/// A role by name, and whether its deletion has started.
async fn stored_role(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
) -> Result<Option<(StoredRole, bool)>, ApiError> {
    let Some(item) = store.get(&role_key(m, name)).await? else {
        return Ok(None);
    };
    let role = StoredRole {
        name: name.to_owned(),
        role_id: item.s(A_ROLE_ID)?.to_owned(),
        role: Role::from_value(item.get(A_CONFIG))?,
    };
    Ok(Some((role, item.contains_key(A_DELETING))))
}

/// Creates or updates a role from `body`. A new role gets a random role ID unless
/// `role_id` is given. Written in one transaction guarded by the role ID read, so
/// concurrent updates cannot leave the two copies apart.
pub async fn write_role(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    body: &Body,
    now: i64,
) -> Result<(), ApiError> {
    if !valid_name(name) {
        return Err(ApiError::bad("invalid role name"));
    }
    let existing = match stored_role(store, m, name).await? {
        // A deletion that did not finish is finished first: the new role must not
        // inherit the old one's secret IDs.
        Some((_, true)) => {
            delete_role(store, m, name, now).await?;
            None
        }
        other => other.map(|(r, _)| r),
    };
    let mut role = existing
        .as_ref()
        .map(|r| r.role.clone())
        .unwrap_or_default();
    role.apply(body)?;
    let stored = match &existing {
        Some(e) => StoredRole { role, ..e.clone() },
        None => StoredRole {
            name: name.to_owned(),
            role_id: match body.string("role_id")? {
                Some(id) => checked_role_id(&id)?,
                None => crypto::random_uuid().map_err(|_| ApiError::Internal)?,
            },
            role,
        },
    };
    let (by_name, by_id, listed) = role_items(m, &stored);
    let name_cond = match &existing {
        Some(e) => Cond::Eq(A_ROLE_ID, Value::S(e.role_id.clone())),
        None => Cond::NotExists,
    };
    let id_cond = match &existing {
        Some(_) => Cond::Eq(A_ROLE_NAME, Value::S(name.to_owned())),
        None => Cond::NotExists,
    };
    store
        .transact(vec![
            Write::Put {
                item: by_name,
                cond: Some(name_cond),
            },
            Write::Put {
                item: by_id,
                cond: Some(id_cond),
            },
            Write::Put {
                item: listed,
                cond: None,
            },
        ])
        .await
        .map_err(|e| {
            if e.is_condition() {
                ApiError::bad("role or role ID changed concurrently, or the role ID is in use")
            } else {
                e.into()
            }
        })
}

fn checked_role_id(id: &str) -> Result<String, ApiError> {
    let id = id.trim();
    if id.is_empty() || id.len() > 256 || id.chars().any(|c| c.is_control() || c == '/') {
        return Err(ApiError::bad("invalid role_id"));
    }
    Ok(id.to_owned())
}

/// Sets a role's role ID (`POST role/:name/role-id`).
pub async fn set_role_id(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    new_id: &str,
) -> Result<(), ApiError> {
    let new_id = checked_role_id(new_id)?;
    let mut r = read_role(store, m, name).await?.ok_or(ApiError::NotFound)?;
    if r.role_id == new_id {
        return Ok(());
    }
    let old = std::mem::replace(&mut r.role_id, new_id);
    let (by_name, by_id, _) = role_items(m, &r);
    store
        .transact(vec![
            Write::Put {
                item: by_name,
                cond: Some(Cond::Eq(A_ROLE_ID, Value::S(old.clone()))),
            },
            Write::Delete {
                key: role_id_key(m, &old),
                cond: None,
            },
            Write::Put {
                item: by_id,
                cond: Some(Cond::NotExists),
            },
        ])
        .await
        .map_err(|e| {
            if e.is_condition() {
                ApiError::bad("role ID is in use or the role changed concurrently")
            } else {
                e.into()
            }
        })
}

/// Lists role names.
pub async fn list_roles(store: &dyn Store, m: Mount<'_>) -> Result<Vec<String>, ApiError> {
    Ok(query_sort_keys(store, Query::partition(m.roles_partition())).await?)
}

async fn accessor_items(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
) -> Result<Vec<Item>, ApiError> {
    let mut q = Query::partition(role_key(m, name).pk);
    q.sort = SortCond::Prefix("accessor/".into());
    Ok(query_all(store, q).await?)
}

/// The keys of up to `limit` of a role's secret IDs: for each, the secret ID item and
/// its accessor item (for deleting a disabled mount in bounded steps).
pub async fn accessor_page(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    limit: usize,
) -> Result<Vec<Key>, ApiError> {
    let mut q = Query::partition(role_key(m, name).pk);
    q.sort = SortCond::Prefix("accessor/".into());
    q.limit = Some(u32::try_from(limit.clamp(1, 100)).unwrap_or(100));
    let mut keys = Vec::new();
    for acc in store.query(&q).await?.items {
        keys.push(secret_key(m, acc.s(A_HASH)?));
        keys.push(acc.key());
    }
    Ok(keys)
}

/// Deletes a role, its role ID and all its secret IDs. Idempotent. Marks first: one
/// transaction marks the role item ([`A_DELETING`]) and deletes its role ID (no login
/// from then on); from that write no secret ID can be generated for
/// it ([`generate_secret_id`]'s transaction checks the mark), so listing its secret IDs
/// afterwards finds every one. The role item and its listing entry go last: a deletion
/// that fails part-way is finished by the next delete or write of the role (or the
/// mount's cleanup).
pub async fn delete_role(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    now: i64,
) -> Result<(), ApiError> {
    let Some((r, deleting)) = stored_role(store, m, name).await? else {
        return Ok(());
    };
    if !deleting {
        store
            .transact(vec![
                Write::Update {
                    key: role_key(m, name),
                    updates: vec![Update::Set(A_DELETING, Value::N(now))],
                    cond: Some(Cond::Eq(A_ROLE_ID, Value::S(r.role_id.clone()))),
                },
                Write::Delete {
                    key: role_id_key(m, &r.role_id),
                    cond: None,
                },
            ])
            .await
            .map_err(|e| {
                if e.is_condition() {
                    ApiError::bad("role changed concurrently; retry")
                } else {
                    e.into()
                }
            })?;
    }
    let mut keys = Vec::new();
    for acc in accessor_items(store, m, name).await? {
        keys.push(secret_key(m, acc.s(A_HASH)?));
        keys.push(acc.key());
    }
    crate::store::delete_keys(store, &keys).await?;
    store
        .transact(vec![
            Write::Delete {
                key: list_key(m, name),
                cond: None,
            },
            Write::Delete {
                key: role_key(m, name),
                cond: None,
            },
        ])
        .await?;
    Ok(())
}

/// A secret ID just generated: shown once.
pub struct NewSecretId {
    /// The secret ID. Never stored, never logged.
    pub secret_id: SecretString,
    /// Its accessor.
    pub accessor: String,
    /// Its TTL, seconds (0: none).
    pub ttl: i64,
    /// Its uses (0: unlimited).
    pub num_uses: i64,
}

/// Generates a secret ID for a role (`POST role/:name/secret-id`). `ttl` and `num_uses`
/// may narrow the role's limits but never exceed them; `metadata` (strings) is copied
/// to lookups; `cidr_list` narrows where it may be used.
pub async fn generate_secret_id(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    body: &Body,
    now: i64,
) -> Result<NewSecretId, ApiError> {
    let r = read_role(store, m, name)
        .await?
        .ok_or_else(|| ApiError::bad(format!("role {name:?} does not exist")))?;
    let role = &r.role;
    let ttl = match body.duration("ttl")? {
        None | Some(0) => role.secret_id_ttl,
        Some(t) if role.secret_id_ttl > 0 && t > role.secret_id_ttl => {
            return Err(ApiError::bad(
                "\"ttl\" cannot be longer than the role's \"secret_id_ttl\"",
            ));
        }
        Some(t) => t,
    };
    let num_uses = match body.uint("num_uses")? {
        None => role.secret_id_num_uses,
        Some(0) if role.secret_id_num_uses > 0 => {
            return Err(ApiError::bad(
                "\"num_uses\" cannot be unlimited when the role limits \"secret_id_num_uses\"",
            ));
        }
        Some(n) if role.secret_id_num_uses > 0 && n > role.secret_id_num_uses => {
            return Err(ApiError::bad(
                "\"num_uses\" cannot be higher than the role's \"secret_id_num_uses\"",
            ));
        }
        Some(n) => n,
    };
    let metadata = body.string_map("metadata")?.unwrap_or_default();
    if metadata.len() > 64 || metadata.iter().any(|(k, v)| k.len() > 128 || v.len() > 512) {
        return Err(ApiError::bad(
            "\"metadata\" is too large (at most 64 keys, 128-byte keys, 512-byte values)",
        ));
    }
    let cidrs = parse_cidrs(&body.list("cidr_list")?.unwrap_or_default(), "cidr_list")?;
    if !role.secret_id_bound_cidrs.is_empty() {
        for c in &cidrs {
            let net: IpNet = c.parse().map_err(|_| ApiError::Internal)?;
            let inside = role
                .secret_id_bound_cidrs
                .iter()
                .filter_map(|b| b.parse::<IpNet>().ok())
                .any(|b| b.contains(&net));
            if !inside {
                return Err(ApiError::bad(format!(
                    "CIDR {c:?} is not within the role's \"secret_id_bound_cidrs\""
                )));
            }
        }
    }
    let secret_id = crypto::random_uuid().map_err(|_| ApiError::Internal)?;
    let accessor = crypto::random_uuid().map_err(|_| ApiError::Internal)?;
    let hash = crypto::sha256_hex(secret_id.as_bytes());
    let expire_at = if ttl > 0 { now.saturating_add(ttl) } else { 0 };
    let skey = secret_key(m, &hash);
    let mut item = new_item(&skey);
    item.insert(A_ROLE_NAME.into(), name.into());
    item.insert(A_ACCESSOR.into(), accessor.clone().into());
    item.insert(A_USES.into(), num_uses.into());
    item.insert(A_LIMITED.into(), (num_uses > 0).into());
    item.insert(A_EXPIRE.into(), expire_at.into());
    item.insert(A_CREATED.into(), now.into());
    item.insert(
        A_META.into(),
        Value::M(
            metadata
                .into_iter()
                .map(|(k, v)| (k, Value::S(v)))
                .collect(),
        ),
    );
    item.insert(A_CIDRS.into(), cidrs.into());
    let mut acc = new_item(&accessor_key(m, name, &accessor));
    acc.insert(A_HASH.into(), hash.into());
    acc.insert(A_EXPIRE.into(), expire_at.into());
    if expire_at > 0 {
        for (k, v) in schema::expiry_attrs(&skey.pk, expire_at) {
            item.insert(k.into(), v);
        }
        acc.insert(
            schema::TTL.into(),
            expire_at.saturating_add(schema::TTL_GRACE_SECS).into(),
        );
    }
    store
        .transact(vec![
            Write::Check {
                key: role_key(m, name),
                cond: Cond::And(vec![
                    Cond::Eq(A_ROLE_ID, Value::S(r.role_id.clone())),
                    Cond::AttrAbsent(A_DELETING),
                ]),
            },
            Write::Put {
                item,
                cond: Some(Cond::NotExists),
            },
            Write::Put {
                item: acc,
                cond: Some(Cond::NotExists),
            },
        ])
        .await
        .map_err(|e| {
            if e.is_condition() {
                ApiError::bad("role changed concurrently; retry")
            } else {
                e.into()
            }
        })?;
    Ok(NewSecretId {
        secret_id: SecretString::from(secret_id),
        accessor,
        ttl,
        num_uses,
    })
}

/// Lists a role's secret ID accessors.
pub async fn list_accessors(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
) -> Result<Vec<String>, ApiError> {
    Ok(accessor_items(store, m, name)
        .await?
        .iter()
        .filter_map(|i| i.key().sk.strip_prefix("accessor/").map(str::to_owned))
        .collect())
}

async fn secret_by_hash(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    hash: &str,
) -> Result<Option<Item>, ApiError> {
    Ok(store
        .get(&secret_key(m, hash))
        .await?
        .filter(|i| i.s(A_ROLE_NAME).ok() == Some(name)))
}

async fn hash_of_accessor(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    accessor: &str,
) -> Result<Option<String>, ApiError> {
    if accessor.is_empty() || accessor.len() > 128 || accessor.contains('/') {
        return Ok(None);
    }
    Ok(store
        .get(&accessor_key(m, name, accessor))
        .await?
        .map(|i| i.s(A_HASH).map(str::to_owned))
        .transpose()?)
}

/// Finds a secret ID of role `name` by the secret itself or by its accessor; `None` when
/// it does not exist or belongs to another role.
pub async fn find_secret(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    secret: Option<&str>,
    accessor: Option<&str>,
) -> Result<Option<Item>, ApiError> {
    let hash = match (secret, accessor) {
        (Some(s), _) => Some(crypto::sha256_hex(s.as_bytes())),
        (None, Some(a)) => hash_of_accessor(store, m, name, a).await?,
        (None, None) => return Err(ApiError::bad("missing secret_id")),
    };
    match hash {
        Some(h) => secret_by_hash(store, m, name, &h).await,
        None => Ok(None),
    }
}

/// The lookup view of a secret ID (never the secret ID itself).
pub fn secret_json(item: &Item) -> Result<Json, ApiError> {
    let created = item.n(A_CREATED)?;
    let expire = item.n(A_EXPIRE)?;
    let meta: BTreeMap<String, Json> = item
        .map(A_META)?
        .iter()
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    Ok(json!({
        "cidr_list": item.strings(A_CIDRS)?,
        "creation_time": rfc3339(created),
        "expiration_time": if expire > 0 { rfc3339(expire) } else { "0001-01-01T00:00:00Z".to_owned() },
        "last_updated_time": rfc3339(created),
        "metadata": meta,
        "secret_id_accessor": item.s(A_ACCESSOR)?,
        "secret_id_num_uses": item.n(A_USES)?,
        "secret_id_ttl": if expire > 0 { expire - created } else { 0 },
        "token_bound_cidrs": [],
    }))
}

/// Deletes a secret ID (and its accessor). Idempotent.
pub async fn destroy_secret(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    item: &Item,
) -> Result<(), ApiError> {
    store
        .transact(vec![
            Write::Delete {
                key: item.key(),
                cond: None,
            },
            Write::Delete {
                key: accessor_key(m, name, item.s(A_ACCESSOR)?),
                cond: None,
            },
        ])
        .await?;
    Ok(())
}

/// Logs in with a role ID and secret ID: returns the new token. Every credential
/// failure is 400 [`INVALID_CREDENTIALS`]; a secret ID used from outside its CIDRs is
/// 400 too, after the credentials check; 404 when the mount was disabled since the
/// function read its table (`at`'s guard, [`crate::mounts::guard`]: nothing is
/// written). The token acts for the entity of the alias named by the role ID
/// ([`crate::identity::login`]; 403 when that entity is disabled).
#[allow(clippy::too_many_arguments)]
pub async fn login(
    store: &dyn Store,
    m: Mount<'_>,
    role_id: &str,
    secret_id: Option<&SecretString>,
    remote_addr: Option<&str>,
    limits: Limits,
    at: &crate::identity::login::LoginAt,
    now: i64,
) -> Result<Minted, ApiError> {
    let invalid = || ApiError::bad(INVALID_CREDENTIALS);
    if role_id.is_empty() || role_id.len() > 256 || role_id.contains('/') {
        return Err(invalid());
    }
    let secret_hash = secret_id
        .map(|s| s.expose_secret())
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .map(|s| crypto::sha256_hex(s.as_bytes()));
    // The alias is named by the role ID, known before the first read: its factor
    // index item is read in the same batch ([`crate::identity::login`]).
    let factor = crate::identity::login::factor_key(&at.alias(role_id, BTreeMap::new()));
    let mut keys = vec![role_id_key(m, role_id), factor];
    if let Some(h) = &secret_hash {
        keys.push(secret_key(m, h));
    }
    let mut found = store.get_many(&keys).await?;
    let mut factor = found.get_mut(1).map(Option::take);
    let role_item = found
        .first_mut()
        .and_then(Option::take)
        .ok_or_else(invalid)?;
    let name = role_item.s(A_ROLE_NAME)?.to_owned();
    let role = Role::from_value(role_item.get(A_CONFIG))?;
    let mut secret = found.get_mut(2).and_then(Option::take);
    for attempt in 0..12u32 {
        let mut writes = Vec::new();
        if role.bind_secret_id {
            let item = secret.as_ref().ok_or_else(invalid)?;
            if item.s(A_ROLE_NAME)? != name {
                return Err(invalid());
            }
            let expire = item.n(A_EXPIRE)?;
            if expire > 0 && expire <= now {
                return Err(invalid());
            }
            let limited = item.flag(A_LIMITED)?;
            let uses = item.n(A_USES)?;
            if limited && uses < 1 {
                return Err(invalid());
            }
            if !cidr_allows(&item.strings(A_CIDRS)?, remote_addr)
                || !cidr_allows(&role.secret_id_bound_cidrs, remote_addr)
            {
                // Same answer as a wrong secret ID: a stolen secret ID cannot be probed
                // from outside its networks (Vault names the CIDR check here).
                tracing::info!("login refused: source address outside the secret ID's CIDRs");
                return Err(invalid());
            }
            if limited && uses == 1 {
                writes.push(Write::Delete {
                    key: item.key(),
                    cond: Some(Cond::Eq(A_USES, Value::N(1))),
                });
                writes.push(Write::Delete {
                    key: accessor_key(m, &name, item.s(A_ACCESSOR)?),
                    cond: None,
                });
            } else if limited {
                writes.push(Write::Update {
                    key: item.key(),
                    updates: vec![Update::Add(A_USES, -1)],
                    cond: Some(Cond::Ge(A_USES, 2)),
                });
            } else {
                writes.push(Write::Check {
                    key: item.key(),
                    cond: Cond::Exists,
                });
            }
        } else if !cidr_allows(&role.secret_id_bound_cidrs, remote_addr) {
            tracing::info!("login refused: source address outside the role's CIDRs");
            return Err(invalid());
        }
        let secret_meta: BTreeMap<String, String> = match (&secret, role.bind_secret_id) {
            (Some(item), true) => item
                .map(A_META)?
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                .collect(),
            _ => BTreeMap::new(),
        };
        let mut params = role.token_params(m, &name, secret_meta);
        // The alias: the role ID, with the token's metadata (the secret ID's and
        // `role_name`), as OpenBao's AppRole login names it.
        let alias = at.alias(role_id, params.meta.clone());
        let identity = at
            .aliases
            .resolve(store, &alias, attempt > 0, factor.take(), now)
            .await?;
        params.entity_id = identity.entity_id.clone();
        let minted = token::mint(&params, limits.clone(), now)?;
        writes.extend(minted.writes());
        writes.extend(identity.writes.iter().cloned());
        if writes.iter().all(|w| matches!(w, Write::Check { .. })) {
            // A batch token from a secret ID without a use limit, for a known
            // identity: nothing changes, so nothing is written (the secret ID was
            // read above).
            return Ok(minted);
        }
        match store
            .transact(crate::mounts::guard::behind(&at.guard, writes))
            .await
        {
            Ok(()) => {
                at.aliases.committed(&identity);
                return Ok(minted);
            }
            Err(e) if crate::mounts::guard::failed(&e) => {
                return Err(crate::mounts::guard::login_error(e, &minted.entry.path));
            }
            Err(e) if e.is_condition() || e.is_retryable() => {
                // Another login used the secret ID meanwhile, a concurrent first login
                // created the identity, or the transactions collided: read again and
                // retry.
                at.aliases.forget(&alias);
                crate::backoff::pause(attempt).await;
                if let Some(h) = &secret_hash {
                    secret = store.get(&secret_key(m, h)).await?;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Unavailable)
}

/// Deletes an expired secret ID found by the sweeper (only if still expired).
pub async fn sweep_secret(store: &dyn Store, key: &Key, now: i64) -> Result<bool, StoreError> {
    let Some(item) = store.get(key).await? else {
        return Ok(false);
    };
    let expire = item.n(A_EXPIRE)?;
    if expire == 0 || expire > now {
        return Ok(false);
    }
    let name = item.s(A_ROLE_NAME)?;
    // `{prefix}/secret_id/{hash}`: the mount's prefix is the key's.
    let prefix = key
        .pk
        .rsplit_once("/secret_id/")
        .map_or(Mount::DEFAULT.prefix, |(p, _)| p);
    let m = Mount { prefix, name: "" };
    store
        .transact(vec![
            Write::Delete {
                key: key.clone(),
                cond: Some(Cond::Le(A_EXPIRE, now)),
            },
            Write::Delete {
                key: accessor_key(m, name, item.s(A_ACCESSOR)?),
                cond: None,
            },
        ])
        .await
        .map(|()| true)
        .or_else(|e| if e.is_condition() { Ok(false) } else { Err(e) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Mount<'static> = Mount::DEFAULT;
    use crate::store::memory::MemoryStore;
    use serde_json::json;

    const LIMITS: Limits = Limits {
        default_ttl: 3600,
        max_ttl: 7200,
        batch: None,
    };

    fn body(v: Json) -> Body {
        serde_json::from_value(v).unwrap()
    }

    #[tokio::test]
    async fn a_secret_ids_metadata_becomes_its_tokens() {
        let store = MemoryStore::new();
        write_role(&store, M, "web", &body(json!({"token_policies": "web"})), 0)
            .await
            .unwrap();
        let r = read_role(&store, M, "web").await.unwrap().unwrap();
        let s = generate_secret_id(
            &store,
            M,
            "web",
            &body(json!({"metadata": {"team": "ci", "role_name": "spoofed"}})),
            0,
        )
        .await
        .unwrap();
        let m = login(
            &store,
            M,
            &r.role_id,
            Some(&s.secret_id),
            None,
            LIMITS,
            &crate::identity::login::LoginAt::unstored("auth_approle_0"),
            1,
        )
        .await
        .unwrap();
        assert_eq!(m.entry.meta.get("team").map(String::as_str), Some("ci"));
        assert_eq!(
            m.entry.meta.get("role_name").map(String::as_str),
            Some("web"),
            "the role's name wins over the secret ID's metadata"
        );
    }

    #[test]
    fn names() {
        for ok in ["a", "web-app", "a.b@c", "x_1"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a/b", "a b", &"x".repeat(129)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn login_consumes_uses_exactly() {
        let store = MemoryStore::new();
        write_role(
            &store,
            M,
            "web",
            &body(json!({"token_policies": "app", "secret_id_num_uses": 2, "token_ttl": "10m"})),
            0,
        )
        .await
        .unwrap();
        let r = read_role(&store, M, "web").await.unwrap().unwrap();
        let s = generate_secret_id(&store, M, "web", &Body::new(), 0)
            .await
            .unwrap();
        assert_eq!(s.num_uses, 2);
        let before = store.calls();
        let m = login(
            &store,
            M,
            &r.role_id,
            Some(&s.secret_id),
            None,
            LIMITS,
            &crate::identity::login::LoginAt::unstored("auth_approle_0"),
            1,
        )
        .await
        .unwrap();
        assert_eq!(store.calls() - before, 2, "two round trips");
        assert_eq!(m.entry.policies, vec!["app", "default"]);
        assert_eq!(m.entry.expire_at, 601);
        login(
            &store,
            M,
            &r.role_id,
            Some(&s.secret_id),
            None,
            LIMITS,
            &crate::identity::login::LoginAt::unstored("auth_approle_0"),
            1,
        )
        .await
        .unwrap();
        let e = login(
            &store,
            M,
            &r.role_id,
            Some(&s.secret_id),
            None,
            LIMITS,
            &crate::identity::login::LoginAt::unstored("auth_approle_0"),
            1,
        )
        .await
        .unwrap_err();
        assert_eq!(e, ApiError::bad(INVALID_CREDENTIALS));
        assert!(
            list_accessors(&store, M, "web").await.unwrap().is_empty(),
            "used-up secret ID deleted"
        );
    }

    #[tokio::test]
    async fn credential_failures_are_indistinguishable() {
        let store = MemoryStore::new();
        write_role(&store, M, "a", &Body::new(), 0).await.unwrap();
        write_role(&store, M, "b", &Body::new(), 0).await.unwrap();
        let ra = read_role(&store, M, "a").await.unwrap().unwrap();
        let sb = generate_secret_id(&store, M, "b", &Body::new(), 0)
            .await
            .unwrap();
        let wrong = SecretString::from("nope".to_owned());
        for (rid, sid) in [
            (ra.role_id.as_str(), Some(&wrong)),
            ("unknown", Some(&sb.secret_id)),
            (ra.role_id.as_str(), Some(&sb.secret_id)),
            (ra.role_id.as_str(), None),
        ] {
            let e = login(
                &store,
                M,
                rid,
                sid,
                None,
                LIMITS,
                &crate::identity::login::LoginAt::unstored("auth_approle_0"),
                1,
            )
            .await
            .unwrap_err();
            assert_eq!(e, ApiError::bad(INVALID_CREDENTIALS));
        }
    }

    #[tokio::test]
    async fn secret_id_limits_and_expiry() {
        let store = MemoryStore::new();
        write_role(
            &store,
            M,
            "r",
            &body(json!({"secret_id_ttl": 60, "secret_id_num_uses": 3})),
            0,
        )
        .await
        .unwrap();
        for bad in [
            json!({"ttl": 61}),
            json!({"num_uses": 4}),
            json!({"num_uses": 0}),
            json!({"cidr_list": "nonsense"}),
        ] {
            assert!(
                generate_secret_id(&store, M, "r", &body(bad), 0)
                    .await
                    .is_err()
            );
        }
        let s = generate_secret_id(
            &store,
            M,
            "r",
            &body(json!({"ttl": 30, "metadata": {"k": "v"}})),
            0,
        )
        .await
        .unwrap();
        let r = read_role(&store, M, "r").await.unwrap().unwrap();
        assert!(
            login(
                &store,
                M,
                &r.role_id,
                Some(&s.secret_id),
                None,
                LIMITS,
                &crate::identity::login::LoginAt::unstored("auth_approle_0"),
                31
            )
            .await
            .is_err()
        );
        let item = find_secret(&store, M, "r", None, Some(&s.accessor))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(secret_json(&item).unwrap()["metadata"], json!({"k": "v"}));
        assert!(
            find_secret(&store, M, "other", None, Some(&s.accessor))
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn cidr_binding() {
        let store = MemoryStore::new();
        write_role(
            &store,
            M,
            "r",
            &body(json!({"secret_id_bound_cidrs": ["10.0.0.0/8"]})),
            0,
        )
        .await
        .unwrap();
        let r = read_role(&store, M, "r").await.unwrap().unwrap();
        let s = generate_secret_id(&store, M, "r", &Body::new(), 0)
            .await
            .unwrap();
        assert!(
            login(
                &store,
                M,
                &r.role_id,
                Some(&s.secret_id),
                Some("192.168.1.1"),
                LIMITS,
                &crate::identity::login::LoginAt::unstored("auth_approle_0"),
                1
            )
            .await
            .is_err()
        );
        assert!(
            login(
                &store,
                M,
                &r.role_id,
                Some(&s.secret_id),
                Some("10.1.2.3"),
                LIMITS,
                &crate::identity::login::LoginAt::unstored("auth_approle_0"),
                1
            )
            .await
            .is_ok()
        );
        assert!(
            generate_secret_id(
                &store,
                M,
                "r",
                &body(json!({"cidr_list": "192.168.0.0/16"})),
                0
            )
            .await
            .is_err()
        );
    }

    #[tokio::test]
    async fn role_id_change_and_delete() {
        let store = MemoryStore::new();
        write_role(&store, M, "r", &Body::new(), 0).await.unwrap();
        generate_secret_id(&store, M, "r", &Body::new(), 0)
            .await
            .unwrap();
        set_role_id(&store, M, "r", "custom-id").await.unwrap();
        assert_eq!(
            read_role(&store, M, "r").await.unwrap().unwrap().role_id,
            "custom-id"
        );
        write_role(&store, M, "r2", &Body::new(), 0).await.unwrap();
        assert!(
            set_role_id(&store, M, "r2", "custom-id").await.is_err(),
            "role IDs are unique"
        );
        assert_eq!(list_roles(&store, M).await.unwrap(), vec!["r", "r2"]);
        delete_role(&store, M, "r", 0).await.unwrap();
        delete_role(&store, M, "r2", 0).await.unwrap();
        assert!(
            store.dump().is_empty(),
            "nothing left behind: {:?}",
            store.dump()
        );
    }

    /// Finding 10 of the simulation issue: a secret ID generated while its role was
    /// being deleted (after the delete listed the role's secret IDs, before it deleted
    /// the role item) survived, and logged in to a later role of the same name given
    /// that role's role ID. The delete now marks the role first; a generate after the
    /// mark is refused, one before it is listed and deleted.
    #[tokio::test]
    async fn a_secret_id_generated_during_its_roles_delete_does_not_survive_it() {
        use crate::store::interpose::{Call, Interpose};
        use std::sync::{Arc, Mutex};

        let store = Arc::new(MemoryStore::new());
        write_role(store.as_ref(), M, "r", &Body::new(), 0)
            .await
            .unwrap();
        let generated: Arc<Mutex<Option<Result<NewSecretId, ApiError>>>> = Arc::default();
        let slot = generated.clone();
        // The delete's first query lists the role's secret IDs: a generate runs
        // right before it.
        let racing = Interpose::new(store.clone(), Call::Query, move |inner| {
            Box::pin(async move {
                let g = generate_secret_id(inner.as_ref(), M, "r", &Body::new(), 1).await;
                *slot.lock().unwrap() = Some(g);
            })
        });
        delete_role(&racing, M, "r", 1).await.unwrap();
        assert!(racing.fired());
        let g = generated.lock().unwrap().take().unwrap();
        assert_eq!(
            g.as_ref().err().map(ApiError::status),
            Some(400),
            "the role is being deleted"
        );
        assert!(store.dump().is_empty(), "{:?}", store.dump());

        // A generate that lands before the mark is listed and deleted with the role;
        // the role written again under the same name starts with no secret IDs.
        write_role(store.as_ref(), M, "r", &Body::new(), 2)
            .await
            .unwrap();
        let early = generate_secret_id(store.as_ref(), M, "r", &Body::new(), 2)
            .await
            .unwrap();
        delete_role(store.as_ref(), M, "r", 3).await.unwrap();
        write_role(store.as_ref(), M, "r", &Body::new(), 4)
            .await
            .unwrap();
        let again = read_role(store.as_ref(), M, "r").await.unwrap().unwrap();
        let e = login(
            store.as_ref(),
            M,
            &again.role_id,
            Some(&early.secret_id),
            None,
            LIMITS,
            &crate::identity::login::LoginAt::unstored("auth_approle_0"),
            5,
        )
        .await
        .unwrap_err();
        assert_eq!(e, ApiError::bad(INVALID_CREDENTIALS));
    }

    /// A delete that died after its mark: the role reads as gone, logs nothing in, and
    /// the next delete or write of the name finishes it.
    #[tokio::test]
    async fn a_half_deleted_role_is_finished_by_the_next_write() {
        let store = MemoryStore::new();
        write_role(&store, M, "r", &Body::new(), 0).await.unwrap();
        let old = read_role(&store, M, "r").await.unwrap().unwrap();
        let s = generate_secret_id(&store, M, "r", &Body::new(), 0)
            .await
            .unwrap();
        store
            .transact(vec![
                Write::Update {
                    key: role_key(M, "r"),
                    updates: vec![Update::Set(A_DELETING, Value::N(1))],
                    cond: None,
                },
                Write::Delete {
                    key: role_id_key(M, &old.role_id),
                    cond: None,
                },
            ])
            .await
            .unwrap();
        assert!(read_role(&store, M, "r").await.unwrap().is_none());
        assert!(
            generate_secret_id(&store, M, "r", &Body::new(), 2)
                .await
                .is_err()
        );
        write_role(&store, M, "r", &Body::new(), 2).await.unwrap();
        let new = read_role(&store, M, "r").await.unwrap().unwrap();
        assert_ne!(new.role_id, old.role_id);
        assert!(
            login(
                &store,
                M,
                &new.role_id,
                Some(&s.secret_id),
                None,
                LIMITS,
                &crate::identity::login::LoginAt::unstored("auth_approle_0"),
                3,
            )
            .await
            .is_err(),
            "the old secret ID went with the old role"
        );
        assert_eq!(list_accessors(&store, M, "r").await.unwrap().len(), 0);
    }
}
