//! `sys/mounts`, `sys/auth` and `sys/internal/ui/mounts`: listing, enabling, tuning and
//! disabling mounts (the table: [`crate::mounts`]).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::{Body, BodyExt};
use crate::mounts::store::{self as mount_store, Change};
use crate::mounts::{BackendKind, MountEntry, MountTable, Table, names};

use crate::backend::ctx::Ctx;

/// The storage prefix of a mount enabled through the API: the backend's own
/// namespace and the mount's UUID ([`MountEntry::storage`]).
fn storage_for(kind: BackendKind, uuid: &str) -> String {
    match kind {
        BackendKind::AppRole => format!("{}/{uuid}", crate::approle::Mount::DEFAULT.prefix),
        BackendKind::AwsAuth => format!("{}/{uuid}", crate::auth_aws::Mount::DEFAULT.prefix),
        BackendKind::Aws => format!("{}/{uuid}", crate::aws_engine::Mount::DEFAULT.prefix),
        _ => uuid.to_owned(),
    }
}

/// An envelope whose `data` is also copied to the top level, as Vault's older `sys/`
/// endpoints answer (clients read either).
fn both_levels(data: Map<String, Value>) -> Reply {
    let mut env = Envelope::data(Value::Object(data.clone())).mount("system");
    env.top_level = data;
    env.ok()
}

fn listing(table: &MountTable, which: Table) -> Map<String, Value> {
    table
        .of(which)
        .into_iter()
        .map(|m| (m.path.clone(), m.to_json()))
        .collect()
}

fn table_of(c: &Ctx<'_>) -> Table {
    // `sys/mounts/auth/:path/tune` is Vault's other name of `sys/auth/:path/tune`.
    if c.path.starts_with("sys/auth") || c.path.starts_with("sys/mounts/auth/") {
        Table::Auth
    } else {
        Table::Secrets
    }
}

/// `GET sys/mounts` and `GET sys/auth`: every mount of the table, keyed by path.
pub(super) async fn list(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    Ok(both_levels(listing(c.table, table_of(c))))
}

/// `GET sys/mounts/:path` and `GET sys/auth/:path`: one mount.
pub(super) async fn read(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let which = table_of(c);
    let path = names::check_path(which, c.param("path"))?;
    let m = c
        .table
        .get(which, &path)
        .ok_or_else(|| ApiError::bad(format!("no mount at {:?}", display(which, &path))))?;
    let Value::Object(data) = m.to_json() else {
        return Err(ApiError::Internal);
    };
    Ok(both_levels(data))
}

fn display(which: Table, path: &str) -> String {
    match which {
        Table::Secrets => path.to_owned(),
        Table::Auth => format!("auth/{path}"),
    }
}

/// The `type` (and options) of an enable request: Vault's names, with `kv-v2` as the
/// CLI's shorthand for `kv` with `version` 2.
fn requested_kind(
    which: Table,
    body: &Body,
) -> Result<(String, BackendKind, BTreeMap<String, String>), ApiError> {
    let raw = body
        .string("type")?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad("missing type"))?;
    let mut options = body.string_map("options")?.unwrap_or_default();
    options.retain(|k, _| k == "version");
    let type_name = match raw.as_str() {
        "kv-v2" if which == Table::Secrets => {
            options.insert("version".into(), "2".into());
            "kv".to_owned()
        }
        other => other.to_owned(),
    };
    let kind = mount_store::kind_of(which, &type_name).ok_or_else(|| {
        let served = match which {
            Table::Secrets => "kv (version 2), aws, transit and database",
            Table::Auth => "approle, jwt, oidc, kubernetes and aws",
        };
        ApiError::bad(format!(
            "unsupported {} type {:?}: Sigil serves {served}",
            match which {
                Table::Secrets => "secrets engine",
                Table::Auth => "auth method",
            },
            raw.chars().take(64).collect::<String>()
        ))
    })?;
    if kind == BackendKind::Kv {
        match options.get("version").map(String::as_str) {
            Some("2") => {}
            Some("1") | None => {
                return Err(ApiError::bad(
                    "KV version 1 is not supported: enable kv with options version=2 (the CLI's kv-v2)",
                ));
            }
            Some(_) => return Err(ApiError::bad("invalid KV version: Sigil serves version 2")),
        }
    } else {
        options.clear();
    }
    Ok((type_name, kind, options))
}

/// The lease TTLs of a `config` object (enable) or a tune body: seconds, each at most
/// the system max TTL, the default at most the max.
fn ttls(c: &Ctx<'_>, body: &Body, old: (i64, i64)) -> Result<(i64, i64), ApiError> {
    // Vault: `""` leaves a TTL as it is (the CLI sends it for flags not given);
    // `"system"` means the system's (stored as 0).
    let ttl = |name: &str, old: i64| -> Result<i64, ApiError> {
        match body.get(name) {
            Some(Value::String(s)) if s.trim().is_empty() => Ok(old),
            Some(Value::String(s)) if s.trim() == "system" => Ok(0),
            _ => Ok(body.duration(name)?.unwrap_or(old)),
        }
    };
    let default = ttl("default_lease_ttl", old.0)?;
    let max = ttl("max_lease_ttl", old.1)?;
    // A mount-wide token type is not served (each role's `token_type` chooses batch
    // tokens); tuning Sigil does not serve is refused rather than ignored.
    if let Some(t) = body.string("token_type")?
        && !matches!(t.as_str(), "" | "default-service" | "service" | "default")
    {
        return Err(ApiError::bad(format!(
            "token_type {:?} is not supported on a mount: set token_type on the auth method's roles",
            t.chars().take(32).collect::<String>()
        )));
    }
    let system_max = c.svc.config.max_ttl;
    if default < 0 || max < 0 {
        return Err(ApiError::bad("lease TTLs cannot be negative"));
    }
    if default > system_max || max > system_max {
        return Err(ApiError::bad(format!(
            "lease TTLs cannot exceed the system max TTL ({system_max}s)"
        )));
    }
    if max > 0 && default > max {
        return Err(ApiError::bad(
            "default_lease_ttl cannot be greater than max_lease_ttl",
        ));
    }
    Ok((default, max))
}

fn description(body: &Body) -> Result<Option<String>, ApiError> {
    let d = body.string("description")?;
    if let Some(d) = &d
        && (d.len() > 1024 || d.chars().any(char::is_control))
    {
        return Err(ApiError::bad(
            "description: at most 1024 bytes, no control characters",
        ));
    }
    Ok(d)
}

/// `POST sys/mounts/:path` and `POST sys/auth/:path`: enables a mount. 400 for an
/// unknown type, a reserved, nested or taken path; nothing is written then.
pub(super) async fn enable(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let which = table_of(c);
    let path = names::check_path(which, c.param("path"))?;
    let (type_name, kind, options) = requested_kind(which, c.body)?;
    let config: Body = match c.body.get("config") {
        None | Some(Value::Null) => Body::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(ApiError::bad("config must be an object")),
    };
    let (default_lease_ttl, max_lease_ttl) = ttls(c, &config, (0, 0))?;
    let (table, stored) = c.svc.mounts.reload(c.store(), c.now).await?;
    if let Some(taken) = table.get(which, &path) {
        return Err(ApiError::bad(format!(
            "path is already in use at {}",
            taken.full_path()
        )));
    }
    let cleanups = mount_store::pending_cleanups(c.store()).await?;
    if cleanups
        .iter()
        .any(|p| p.entry.table == which && p.entry.path == path)
    {
        return Err(ApiError::bad(format!(
            "the mount previously at {:?} is still being removed; retry once the sweeper has deleted its items",
            display(which, &path)
        )));
    }
    let accessor = names::random_accessor(which, &type_name)?;
    let uuid = crate::crypto::random_uuid().map_err(|_| ApiError::Internal)?;
    let entry = MountEntry {
        path,
        table: which,
        type_name,
        kind,
        storage: storage_for(kind, &uuid),
        accessor,
        uuid,
        description: description(c.body)?.unwrap_or_default(),
        options,
        default_lease_ttl,
        max_lease_ttl,
        builtin: false,
    };
    mount_store::apply(c.store(), &table, stored, Change::Enable(entry), c.now).await?;
    c.svc.mounts.reload(c.store(), c.now).await?;
    Ok(Reply::NoContent)
}

/// `DELETE sys/mounts/:path` and `DELETE sys/auth/:path`: disables a mount. From the
/// answer on, no request is served from it; its items (and, for an auth method, the
/// tokens it issued) are deleted by the sweeper in bounded steps. 204 also when nothing
/// is mounted there, as Vault.
pub(super) async fn disable(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let which = table_of(c);
    let path = names::check_path(which, c.param("path"))?;
    let (table, stored) = c.svc.mounts.reload(c.store(), c.now).await?;
    match table.get(which, &path) {
        None => return Ok(Reply::NoContent),
        Some(m) if m.builtin => {
            return Err(ApiError::bad(format!(
                "cannot disable {:?}: it is built in",
                m.full_path()
            )));
        }
        Some(_) => {}
    }
    mount_store::apply(
        c.store(),
        &table,
        stored,
        Change::Disable(which, path),
        c.now,
    )
    .await?;
    c.svc.mounts.reload(c.store(), c.now).await?;
    Ok(Reply::NoContent)
}

fn tune_json(c: &Ctx<'_>, m: &MountEntry) -> Map<String, Value> {
    let or_system = |v: i64, system: i64| if v > 0 { v } else { system };
    let mut data = Map::new();
    data.insert(
        "default_lease_ttl".into(),
        json!(or_system(m.default_lease_ttl, c.svc.config.default_ttl)),
    );
    data.insert(
        "max_lease_ttl".into(),
        json!(or_system(m.max_lease_ttl, c.svc.config.max_ttl)),
    );
    data.insert("force_no_cache".into(), json!(false));
    data.insert("description".into(), json!(m.description));
    if !m.options.is_empty() {
        data.insert("options".into(), json!(m.options));
    }
    if m.table == Table::Auth {
        data.insert("token_type".into(), json!("default-service"));
    }
    data
}

fn tuned_mount<'t>(c: &Ctx<'_>, table: &'t MountTable) -> Result<&'t MountEntry, ApiError> {
    let which = table_of(c);
    let path = names::check_path(which, c.param("path"))?;
    table
        .get(which, &path)
        .map(AsRef::as_ref)
        .ok_or_else(|| ApiError::bad(format!("no mount at {:?}", display(which, &path))))
}

/// `GET sys/mounts/:path/tune`: the mount's lease TTLs (the system's where unset),
/// description and options.
pub(super) async fn read_tune(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let m = tuned_mount(c, c.table)?;
    Ok(both_levels(tune_json(c, m)))
}

/// `POST sys/mounts/:path/tune`: changes the lease TTLs or the description.
pub(super) async fn write_tune(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (table, stored) = c.svc.mounts.reload(c.store(), c.now).await?;
    let m = tuned_mount(c, &table)?;
    if m.builtin {
        return Err(ApiError::bad(format!(
            "cannot tune {:?}: it is built in",
            m.full_path()
        )));
    }
    let mut new = m.clone();
    (new.default_lease_ttl, new.max_lease_ttl) =
        ttls(c, c.body, (m.default_lease_ttl, m.max_lease_ttl))?;
    if let Some(d) = description(c.body)? {
        new.description = d;
    }
    if let Some(v) = c
        .body
        .string_map("options")?
        .and_then(|o| o.get("version").cloned())
        && m.kind == BackendKind::Kv
        && v != "2"
    {
        return Err(ApiError::bad("Sigil's KV mounts are version 2"));
    }
    mount_store::apply(c.store(), &table, stored, Change::Tune(new), c.now).await?;
    c.svc.mounts.reload(c.store(), c.now).await?;
    Ok(Reply::NoContent)
}

/// Whether the caller's policies grant anything at or under `prefix` (Vault's
/// `hasMountAccess`: the UI and CLI preflight show a mount to whoever may use it).
async fn may_use(c: &Ctx<'_>, prefix: &str) -> Result<bool, ApiError> {
    let caller = c.caller()?;
    let acl = c.token_acl(&caller.entry).await?;
    Ok(acl.grants_under(prefix))
}

/// `GET sys/internal/ui/mounts`: the mounts the caller may use, by table.
pub(super) async fn ui_list(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let mut secret = Map::new();
    let mut auth = Map::new();
    for m in &c.table.entries {
        if !may_use(c, &m.full_path()).await? {
            continue;
        }
        let target = match m.table {
            Table::Secrets => &mut secret,
            Table::Auth => &mut auth,
        };
        target.insert(m.path.clone(), m.to_json());
    }
    Ok(Envelope::data(json!({ "secret": secret, "auth": auth }))
        .mount("system")
        .ok())
}

/// `GET sys/internal/ui/mounts/:path`: the mount serving `path`, with its `path`, as
/// the Vault CLI's KV preflight reads it (`options.version`). 403 when the caller's
/// policies grant nothing under the mount, or when no mount serves the path (as Vault,
/// so a caller cannot probe for mounts).
pub(super) async fn ui_mount(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let path = c.param("path").trim_end_matches('/');
    let refused = || ApiError::PermissionDenied;
    let Some((m, _)) = c.table.find(path) else {
        return Err(refused());
    };
    if !may_use(c, &m.full_path()).await? {
        return Err(refused());
    }
    let Value::Object(mut data) = m.to_json() else {
        return Err(ApiError::Internal);
    };
    data.insert("path".into(), json!(m.path));
    Ok(Envelope::data(Value::Object(data)).mount("system").ok())
}
