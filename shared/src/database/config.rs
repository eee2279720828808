//! Connections (`{mount}/config/:name`, OpenBao's `path_config_connection.go` and the
//! PostgreSQL plugin's settings): the plugin, the connection URL with `{{username}}` and
//! `{{password}}`, the root `username` and `password` (sealed under the keyring with
//! associated data naming the mount and connection; never returned), `allowed_roles`,
//! `verify_connection` (default true: a write connects first and stores nothing when
//! that fails), `password_authentication`, `username_template`,
//! `root_rotation_statements` and, Sigil's, `tls_ca` (the PEM bundle that verifies the
//! server when the URL's `sslmode` is `require`, `verify-ca` or `verify-full`).
//!
//! The root password has a write-ahead slot for `rotate-root`: the new password is
//! sealed and stored as pending before the database is changed, and promoted after; a
//! connection whose current password is refused tries the pending one and promotes it
//! when it works (a crash between the two steps loses nothing). One rotation at a time:
//! the pending slot is claimed with a conditional write, and a pending password that
//! does not log in is dropped only once it is older than [`super::IN_FLIGHT_SECS`]
//! (until then its `ALTER ROLE` may still land). A connection write keeps a pending
//! password it did not replace and is conditional on what it read, so it never loses
//! one a concurrent `rotate-root` stored.

use std::future::Future;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value as Json, json};

use super::Mount;
use super::failpoints::{Failpoints, Step};
use super::port::{Connection, DatabaseApi, DbError};
use super::statements::{self, Kind};
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::keyring::{Keyring, Sealed};
use crate::store::{
    Cond, Item, ItemExt, Key, Query, Store, Update, Value, Write, new_item, query_sort_keys,
};

/// The one plugin Sigil serves.
pub const PLUGIN_POSTGRES: &str = "postgresql-database-plugin";
/// OpenBao's default root password change.
pub const DEFAULT_ROTATION: &str = "ALTER ROLE \"{{username}}\" WITH PASSWORD '{{password}}'";
/// Longest accepted `connection_url`, `tls_ca` total, in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Longest accepted `tls_ca`, in bytes.
pub const MAX_CA_LEN: usize = 65_536;

const A_PLUGIN: &str = "plugin_name";
const A_URL: &str = "connection_url";
const A_USERNAME: &str = "username";
const A_PASSWORD: &str = "password";
const A_PASSWORD_V: &str = "password_v";
const A_PENDING: &str = "pending_password";
const A_PENDING_V: &str = "pending_password_v";
const A_PENDING_AT: &str = "pending_at";
const A_ALLOWED: &str = "allowed_roles";
const A_VERIFY: &str = "verify_connection";
const A_PW_AUTH: &str = "password_authentication";
const A_TEMPLATE: &str = "username_template";
const A_ROTATION: &str = "root_rotation_statements";
const A_TLS_CA: &str = "tls_ca";

/// One connection as stored. `Debug` shows no password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// `postgresql-database-plugin`.
    pub plugin_name: String,
    /// The URL template (`postgres://{{username}}:{{password}}@host:5432/db?sslmode=...`).
    pub connection_url: String,
    /// Root user name.
    pub username: String,
    /// Root password, sealed.
    pub password: Option<Sealed>,
    /// A new root password `rotate-root` stored before changing it in the database.
    pub pending_password: Option<Sealed>,
    /// Unix seconds the pending password was stored at (0: none).
    pub pending_at: i64,
    /// Roles that may use the connection (`*` = all; globs as OpenBao).
    pub allowed_roles: Vec<String>,
    /// Whether writes connect first.
    pub verify_connection: bool,
    /// `password` (default) or `scram-sha-256`.
    pub password_authentication: String,
    /// User name template (`""`: [`super::username::DEFAULT_TEMPLATE`]).
    pub username_template: String,
    /// Statements that change the root password (`""`: [`DEFAULT_ROTATION`]).
    pub root_rotation_statements: Vec<String>,
    /// PEM CA bundle for TLS.
    pub tls_ca: String,
}

impl std::fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("plugin_name", &self.plugin_name)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "sealed"))
            .finish_non_exhaustive()
    }
}

fn key(m: Mount<'_>, name: &str) -> Key {
    Key::new(m.config_partition(), name)
}

fn aad<'a>(m: Mount<'a>, name: &'a str) -> [&'a str; 4] {
    ["database", m.prefix, name, "root-password"]
}

/// A statement list parameter (OpenBao's TypeStringSlice: a JSON list, or one string
/// as one element, never split at commas, which statements contain).
pub fn statement_list(body: &Body, name: &str) -> Result<Option<Vec<String>>, ApiError> {
    match body.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) if s.is_empty() => Ok(Some(Vec::new())),
        Some(Json::String(s)) => Ok(Some(vec![s.clone()])),
        Some(Json::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::bad(format!("\"{name}\" must be a list of strings")))
            })
            .filter(|s| !matches!(s, Ok(s) if s.trim().is_empty()))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ApiError::bad(format!(
            "\"{name}\" must be a list of strings"
        ))),
    }
}

/// The sealed value in attributes `a` (ciphertext) and `v` (key version), if present.
pub fn sealed_of(
    item: &Item,
    a: &'static str,
    v: &'static str,
) -> Result<Option<Sealed>, ApiError> {
    if !item.contains_key(a) {
        return Ok(None);
    }
    Ok(Some(Sealed {
        key_version: u32::try_from(item.n(v)?).map_err(|_| ApiError::Internal)?,
        ciphertext: item.b(a)?.to_vec(),
    }))
}

/// Reads a connection.
pub async fn read(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
) -> Result<Option<ConnectionConfig>, ApiError> {
    let Some(item) = store.get(&key(m, name)).await? else {
        return Ok(None);
    };
    let s = |a: &str| item.get(a).and_then(Value::as_str).unwrap_or("").to_owned();
    let list = |a: &str| item.strings(a).unwrap_or_default();
    Ok(Some(ConnectionConfig {
        plugin_name: s(A_PLUGIN),
        connection_url: s(A_URL),
        username: s(A_USERNAME),
        password: sealed_of(&item, A_PASSWORD, A_PASSWORD_V)?,
        pending_password: sealed_of(&item, A_PENDING, A_PENDING_V)?,
        pending_at: item.n(A_PENDING_AT).unwrap_or(0),
        allowed_roles: list(A_ALLOWED),
        verify_connection: item.flag(A_VERIFY).unwrap_or(true),
        password_authentication: s(A_PW_AUTH),
        username_template: s(A_TEMPLATE),
        root_rotation_statements: list(A_ROTATION),
        tls_ca: s(A_TLS_CA),
    }))
}

fn to_item(m: Mount<'_>, name: &str, c: &ConnectionConfig) -> Item {
    let mut item = new_item(&key(m, name));
    item.insert(A_PLUGIN.into(), c.plugin_name.as_str().into());
    item.insert(A_URL.into(), c.connection_url.as_str().into());
    item.insert(A_USERNAME.into(), c.username.as_str().into());
    if let Some(p) = &c.password {
        item.insert(A_PASSWORD.into(), Value::B(p.ciphertext.clone()));
        item.insert(A_PASSWORD_V.into(), p.key_version.into());
    }
    if let Some(p) = &c.pending_password {
        item.insert(A_PENDING.into(), Value::B(p.ciphertext.clone()));
        item.insert(A_PENDING_V.into(), p.key_version.into());
        item.insert(A_PENDING_AT.into(), Value::N(c.pending_at));
    }
    item.insert(A_ALLOWED.into(), c.allowed_roles.clone().into());
    item.insert(A_VERIFY.into(), c.verify_connection.into());
    item.insert(A_PW_AUTH.into(), c.password_authentication.as_str().into());
    item.insert(A_TEMPLATE.into(), c.username_template.as_str().into());
    item.insert(A_ROTATION.into(), c.root_rotation_statements.clone().into());
    item.insert(A_TLS_CA.into(), c.tls_ca.as_str().into());
    item
}

impl ConnectionConfig {
    /// OpenBao's read: `connection_details` without the password (and Sigil keeps no
    /// password in the URL to redact); like OpenBao 2.x, no `verify_connection`.
    pub fn to_json(&self) -> Json {
        let mut details = serde_json::Map::new();
        details.insert("connection_url".into(), self.connection_url.clone().into());
        details.insert("username".into(), self.username.clone().into());
        if !self.password_authentication.is_empty() {
            details.insert(
                "password_authentication".into(),
                self.password_authentication.clone().into(),
            );
        }
        if !self.username_template.is_empty() {
            details.insert(
                "username_template".into(),
                self.username_template.clone().into(),
            );
        }
        if !self.tls_ca.is_empty() {
            details.insert("tls_ca".into(), self.tls_ca.clone().into());
        }
        json!({
            "plugin_name": self.plugin_name,
            "plugin_version": "",
            "connection_details": details,
            "allowed_roles": self.allowed_roles,
            "root_credentials_rotate_statements": self.root_rotation_statements,
            "password_policy": "",
        })
    }

    /// Whether role `role` may use this connection (OpenBao: `*`, or a name or glob
    /// in `allowed_roles`).
    pub fn allows(&self, role: &str) -> bool {
        self.allowed_roles.iter().any(|a| glob(a, role))
    }

    /// Whether passwords go to the database as SCRAM verifiers.
    pub fn scram(&self) -> bool {
        self.password_authentication == "scram-sha-256"
    }

    /// A password as the statements get it: itself, or its SCRAM-SHA-256 verifier.
    pub fn statement_password(&self, password: &str) -> Result<SecretString, ApiError> {
        if self.scram() {
            Ok(SecretString::from(
                super::scram::hash(password).map_err(|_| ApiError::Internal)?,
            ))
        } else {
            Ok(SecretString::from(password.to_owned()))
        }
    }
}

/// OpenBao's `allowed_roles` match (`strutil.StrListContainsGlob`, the go-glob rule):
/// `*` anywhere stands for any run of characters, everything else is literal.
fn glob(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == value;
    };
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    for m in middle {
        match rest.find(m) {
            Some(at) => rest = &rest[at + m.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
#[test]
fn allowed_roles_globs_follow_openbao() {
    for (p, v, want) in [
        ("*", "anything", true),
        ("ro", "ro", true),
        ("ro", "rw", false),
        ("app-*", "app-ro", true),
        ("app-*", "ap", false),
        ("a*b", "ab", true),
        ("a*b", "a-mid-b", true),
        ("a*b", "a-mid-c", false),
        ("*x", "x", true),
        ("*x", "zx", true),
        ("*x", "xz", false),
        ("a*b*c", "abc", true),
        ("a*b*c", "acb", false),
        ("ab*ba", "aba", false),
    ] {
        assert_eq!(glob(p, v), want, "{p} {v}");
    }
}

/// Checks a connection URL template: `postgres://` or `postgresql://`, a host, no
/// password other than `{{password}}`, an `sslmode` PostgreSQL knows. The message
/// names the problem, never the value.
pub fn check_url(url: &str) -> Result<(), ApiError> {
    let bad = |why: &str| Err(ApiError::bad(format!("invalid \"connection_url\": {why}")));
    if url.len() > MAX_URL_LEN {
        return bad("longer than 2048 bytes");
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad("control characters and whitespace are not accepted");
    }
    let filled = url
        .replace("{{username}}", "u")
        .replace("{{password}}", "p");
    if filled.contains("{{") {
        return bad("only {{username}} and {{password}} may be templated");
    }
    let Ok(parsed) = url::Url::parse(&filled) else {
        return bad("not a postgres:// URL");
    };
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return bad("the scheme must be postgres:// or postgresql://");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return bad("no host");
    }
    if parsed.password().is_some_and(|p| p != "p") {
        return bad(
            "put the password in \"password\" (sealed, never returned) and {{password}} in the URL",
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (k, v) in parsed.query_pairs() {
        // libpq takes a repeated parameter's last value, tokio-postgres and pgx its
        // first: `sslmode=disable&sslmode=verify-full` would mean plain text to one.
        if !seen.insert(k.clone()) {
            return bad("a query parameter is given twice");
        }
        if k == "sslmode"
            && !matches!(
                v.as_ref(),
                "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full"
            )
        {
            return bad("unknown sslmode");
        }
        if k == "password" {
            return bad("put the password in \"password\", not in the URL's query");
        }
    }
    Ok(())
}

/// Writes a connection (create, or update merging the given fields as OpenBao does).
/// With `verify_connection` (default true) it connects first with the new settings;
/// nothing is stored when that fails.
pub async fn write(
    store: &dyn Store,
    keyring: &Keyring,
    db: &dyn DatabaseApi,
    m: Mount<'_>,
    name: &str,
    body: &Body,
) -> Result<(), ApiError> {
    if !crate::approle::valid_name(name) {
        return Err(ApiError::bad("invalid connection name"));
    }
    let old = read(store, m, name).await?;
    let mut c = old.clone().unwrap_or(ConnectionConfig {
        verify_connection: true,
        allowed_roles: Vec::new(),
        ..ConnectionConfig::default()
    });
    if let Some(p) = body.string("plugin_name")? {
        c.plugin_name = p;
    }
    if c.plugin_name.is_empty() {
        return Err(ApiError::bad("empty plugin name"));
    }
    if c.plugin_name != PLUGIN_POSTGRES {
        return Err(ApiError::bad(format!(
            "error creating database object: unsupported plugin_name {:?}: Sigil serves {PLUGIN_POSTGRES}",
            c.plugin_name.chars().take(64).collect::<String>()
        )));
    }
    if let Some(v) = body.string("plugin_version")?
        && !v.is_empty()
    {
        return Err(ApiError::bad(
            "plugin_version is not supported: Sigil's PostgreSQL plugin is built in",
        ));
    }
    if let Some(v) = body.boolean("verify_connection")? {
        c.verify_connection = v;
    }
    if let Some(v) = body.list("allowed_roles")? {
        c.allowed_roles = v;
    }
    if let Some(v) = statement_list(body, "root_rotation_statements")? {
        statements::check(Kind::Rotation, &v)?;
        c.root_rotation_statements = v;
    }
    if let Some(v) = body.string("connection_url")? {
        c.connection_url = v;
    }
    if c.connection_url.is_empty() {
        return Err(ApiError::bad(
            "error creating database object: connection_url cannot be empty",
        ));
    }
    check_url(&c.connection_url)?;
    if let Some(v) = body.string("username")? {
        c.username = v;
    }
    if c.username.len() > 63 || c.username.chars().any(char::is_control) {
        return Err(ApiError::bad("invalid \"username\""));
    }
    if let Some(v) = body.string("password_authentication")? {
        if !matches!(v.as_str(), "" | "password" | "scram-sha-256") {
            return Err(ApiError::bad(format!(
                "'{}' is not a valid password authentication type",
                v.chars().take(32).collect::<String>()
            )));
        }
        c.password_authentication = v;
    }
    if let Some(v) = body.string("username_template")? {
        if !v.is_empty() {
            let probe = super::username::Input {
                display_name: "token",
                role_name: "role",
                now: 0,
            };
            super::username::generate(&v, &probe)?;
        }
        c.username_template = v;
    }
    if let Some(v) = body.string("tls_ca")? {
        if v.len() > MAX_CA_LEN {
            return Err(ApiError::bad("\"tls_ca\" is larger than 64 KiB"));
        }
        if !v.is_empty() && pem::parse_many(&v).map_or(true, |p| p.is_empty()) {
            return Err(ApiError::bad("\"tls_ca\" holds no PEM certificate"));
        }
        c.tls_ca = v;
    }
    let new_password = body.string("password")?.map(SecretString::from);
    if let Some(p) = &new_password {
        c.password = Some(
            keyring
                .seal(&aad(m, name), p.expose_secret().as_bytes())
                .await?,
        );
    }
    // A pending root password stays (a `rotate-root` under way may still set it; the
    // next connection settles it) unless it belongs to another user.
    if old.as_ref().is_some_and(|o| o.username != c.username) {
        c.pending_password = None;
        c.pending_at = 0;
    }
    if c.verify_connection {
        let password = match &new_password {
            Some(p) => Some(p.clone()),
            None => open(keyring, m, name, c.password.as_ref()).await?,
        };
        let conn = connection(&c, name, password.as_ref());
        db.verify(&conn).await.map_err(|e| {
            ApiError::bad(format!(
                "error creating database object: error verifying connection: {e}"
            ))
        })?;
    }
    // Conditional on the passwords read: a rotation stored meanwhile is never lost.
    let cond = match &old {
        None => Cond::NotExists,
        Some(o) => Cond::And(vec![
            same_sealed(A_PASSWORD, o.password.as_ref()),
            same_sealed(A_PENDING, o.pending_password.as_ref()),
        ]),
    };
    store
        .write(Write::Put {
            item: to_item(m, name, &c),
            cond: Some(cond),
        })
        .await
        .map_err(|e| {
            if e.is_condition() {
                ApiError::bad("the connection changed while it was written: try again")
            } else {
                e.into()
            }
        })?;
    Ok(())
}

/// The condition that attribute `a` holds `sealed`'s ciphertext (absent for `None`).
fn same_sealed(a: &'static str, sealed: Option<&Sealed>) -> Cond {
    match sealed {
        Some(s) => Cond::Eq(a, Value::B(s.ciphertext.clone())),
        None => Cond::AttrAbsent(a),
    }
}

async fn open(
    keyring: &Keyring,
    m: Mount<'_>,
    name: &str,
    sealed: Option<&Sealed>,
) -> Result<Option<SecretString>, ApiError> {
    open_password(keyring, &aad(m, name), sealed).await
}

/// Opens a sealed password (UTF-8) under associated data `aad`; `None` for none.
pub async fn open_password(
    keyring: &Keyring,
    aad: &[&str],
    sealed: Option<&Sealed>,
) -> Result<Option<SecretString>, ApiError> {
    let Some(s) = sealed else { return Ok(None) };
    let p = keyring.open(aad, s).await?;
    Ok(Some(SecretString::from(
        String::from_utf8(p.expose().to_vec()).map_err(|_| ApiError::Integrity)?,
    )))
}

/// The connection to make with `password` (the URL's placeholders filled, escaped for
/// a URL's user-info).
pub fn connection(c: &ConnectionConfig, name: &str, password: Option<&SecretString>) -> Connection {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    // Everything but RFC 3986's unreserved characters.
    const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let enc = |s: &str| utf8_percent_encode(s, USERINFO).to_string();
    let url = c
        .connection_url
        .replace("{{username}}", &enc(&c.username))
        .replace(
            "{{password}}",
            &enc(password.map_or("", |p| p.expose_secret())),
        );
    Connection {
        url: SecretString::from(url),
        tls_ca: c.tls_ca.clone(),
        name: name.to_owned(),
    }
}

/// Deletes a connection (idempotent).
pub async fn delete(store: &dyn Store, m: Mount<'_>, name: &str) -> Result<(), ApiError> {
    Ok(crate::store::delete_key(store, key(m, name)).await?)
}

/// Connection names.
pub async fn list(store: &dyn Store, m: Mount<'_>) -> Result<Vec<String>, ApiError> {
    Ok(query_sort_keys(store, Query::partition(m.config_partition())).await?)
}

/// Runs `op` with the root connection: with the current password, and when the
/// database refuses it and a rotation left a pending password, with that one, which
/// is then promoted to current (its rotation had reached the database).
pub async fn with_root<T, F, Fut>(
    store: &dyn Store,
    keyring: &Keyring,
    m: Mount<'_>,
    name: &str,
    c: &ConnectionConfig,
    op: F,
) -> Result<T, DbCallError>
where
    F: Fn(Connection) -> Fut,
    Fut: Future<Output = Result<T, DbError>>,
{
    let current = open(keyring, m, name, c.password.as_ref()).await?;
    match op(connection(c, name, current.as_ref())).await {
        Err(DbError::Auth(e)) if c.pending_password.is_some() => {
            let pending = open(keyring, m, name, c.pending_password.as_ref()).await?;
            let r = op(connection(c, name, pending.as_ref())).await?;
            promote(store, m, name, c).await?;
            tracing::info!(connection = name, first = %e, "a pending root password worked and is now current");
            Ok(r)
        }
        other => Ok(other?),
    }
}

/// A database call through [`with_root`]: the database's error, or Sigil's.
#[derive(Debug, thiserror::Error)]
pub enum DbCallError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Storage or the keyring failed.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl DbCallError {
    /// Whether the database refused the call outright, so nothing it was asked to do
    /// happened: its statements failed inside their transaction (rolled back), it
    /// refused the login, or the settings never let it connect. An unreachable
    /// database, a lost answer, or storage failing after the call prove nothing.
    pub fn changed_nothing(&self) -> bool {
        matches!(
            self,
            DbCallError::Db(DbError::Statement(_) | DbError::Auth(_) | DbError::Config(_))
        )
    }
}

impl From<crate::keyring::KeyringError> for DbCallError {
    fn from(e: crate::keyring::KeyringError) -> Self {
        DbCallError::Api(e.into())
    }
}

/// Makes the pending root password current (conditional on it being the one read).
async fn promote(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    c: &ConnectionConfig,
) -> Result<(), ApiError> {
    match &c.pending_password {
        Some(p) => clear_pending(store, m, name, p, true).await,
        None => Ok(()),
    }
}

/// Removes the pending root password `p` (conditional on it still being pending),
/// making it the current one first when `current`.
async fn clear_pending(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    p: &Sealed,
    current: bool,
) -> Result<(), ApiError> {
    let mut updates = vec![
        Update::Remove(A_PENDING),
        Update::Remove(A_PENDING_V),
        Update::Remove(A_PENDING_AT),
    ];
    if current {
        updates.extend([
            Update::Set(A_PASSWORD, Value::B(p.ciphertext.clone())),
            Update::Set(A_PASSWORD_V, p.key_version.into()),
        ]);
    }
    store
        .write(Write::Update {
            key: key(m, name),
            updates,
            cond: Some(Cond::Eq(A_PENDING, Value::B(p.ciphertext.clone()))),
        })
        .await
        .or_else(|e| if e.is_condition() { Ok(()) } else { Err(e) })?;
    Ok(())
}

/// `rotate-root/:name`: a new random root password, stored sealed as pending, set in
/// the database through the root rotation statements, then made current. Afterwards only
/// Sigil knows it. One at a time: a rotation left pending is settled first (promoted
/// when it works, dropped once older than [`super::IN_FLIGHT_SECS`], otherwise this one
/// is refused as under way), and the pending slot is claimed conditionally. `now`: unix
/// seconds. `failpoints` may stop it after [`Step::RootPendingStored`] or
/// [`Step::RootAltered`] as if the process died.
pub async fn rotate_root(
    store: &dyn Store,
    keyring: &Keyring,
    db: &dyn DatabaseApi,
    m: Mount<'_>,
    name: &str,
    failpoints: &dyn Failpoints,
    now: i64,
) -> Result<(), ApiError> {
    let mut c = read(store, m, name)
        .await?
        .ok_or_else(|| ApiError::bad("no configuration found for database"))?;
    if c.username.is_empty() || c.password.is_none() {
        return Err(ApiError::bad(
            "unable to rotate root credentials: no username or password in the configuration",
        ));
    }
    // A pending password left by an interrupted rotation may be the database's now:
    // settle that first, so the rotation connects with what works.
    if c.pending_password.is_some() {
        let settled = with_root(store, keyring, m, name, &c, |conn| async move {
            db.verify(&conn).await
        })
        .await;
        if let Err(e) = settled {
            return Err(db_call_error(e, "unable to rotate root credentials"));
        }
        c = read(store, m, name)
            .await?
            .ok_or_else(|| ApiError::bad("no configuration found for database"))?;
        // The current password works: a pending one still here never reached the
        // database, or is on its way.
        if let Some(p) = &c.pending_password {
            if now < c.pending_at.saturating_add(super::IN_FLIGHT_SECS) {
                return Err(root_under_way());
            }
            clear_pending(store, m, name, p, false).await?;
            c.pending_password = None;
        }
    }
    let new = super::username::random_alnum(24).map_err(|_| ApiError::Internal)?;
    let sealed = keyring.seal(&aad(m, name), new.as_bytes()).await?;
    store
        .write(Write::Update {
            key: key(m, name),
            updates: vec![
                Update::Set(A_PENDING, Value::B(sealed.ciphertext.clone())),
                Update::Set(A_PENDING_V, sealed.key_version.into()),
                Update::Set(A_PENDING_AT, Value::N(now)),
            ],
            cond: Some(Cond::And(vec![
                Cond::Exists,
                same_sealed(A_PASSWORD, c.password.as_ref()),
                Cond::AttrAbsent(A_PENDING),
            ])),
        })
        .await
        .map_err(|e| {
            if e.is_condition() {
                root_under_way()
            } else {
                e.into()
            }
        })?;
    if failpoints.crash_after(Step::RootPendingStored) {
        return Err(super::failpoints::crashed());
    }
    let stmts = if c.root_rotation_statements.is_empty() {
        vec![DEFAULT_ROTATION.to_owned()]
    } else {
        c.root_rotation_statements.clone()
    };
    let pw = c.statement_password(&new)?;
    let queries = statements::render(
        Kind::Rotation,
        &stmts,
        &statements::Values {
            username: &c.username,
            password: pw.expose_secret(),
            expiration: "",
        },
    )?;
    let current = open(keyring, m, name, c.password.as_ref()).await?;
    if let Err(e) = db
        .update_user(
            &connection(&c, name, current.as_ref()),
            &c.username,
            &queries,
        )
        .await
    {
        if !matches!(e, DbError::Unavailable(_)) {
            // Refused in its transaction: nothing changed; the slot is free again.
            clear_pending(store, m, name, &sealed, false).await?;
        }
        return Err(ApiError::bad(format!(
            "unable to rotate root credentials: {e}"
        )));
    }
    if failpoints.crash_after(Step::RootAltered) {
        return Err(super::failpoints::crashed());
    }
    c.pending_password = Some(sealed);
    promote(store, m, name, &c).await
}

/// The refusal of a `rotate-root` while another may be under way.
fn root_under_way() -> ApiError {
    ApiError::bad(
        "a root credential rotation of this connection is under way: try again in a few minutes",
    )
}

/// The client's error for a failed database call: 503 when the database is
/// unreachable, 400 with the database's reason otherwise (as OpenBao answers).
pub fn db_call_error(e: DbCallError, context: &str) -> ApiError {
    match e {
        DbCallError::Api(a) => a,
        DbCallError::Db(DbError::Unavailable(why)) => {
            tracing::warn!(error = %why, "database unavailable");
            ApiError::Unavailable
        }
        DbCallError::Db(d) => ApiError::bad(format!("{context}: {d}")),
    }
}
