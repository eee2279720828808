//! The database port: the calls the database engine makes to a database, shaped as
//! OpenBao's database plugin interface (`NewUser`, `UpdateUser`, `DeleteUser`; sdk
//! `database/dbplugin/v5`), with statements already rendered ([`super::statements`]).
//! The PostgreSQL adapter is [`crate::adapters::postgres::Postgres`]; [`FakeDatabase`] is
//! the in-memory fake (unit tests, benchmarks, the simulator), whose errors can be
//! injected.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

/// Database failures, by what the engine does about them. Messages carry the
/// database's SQLSTATE code and a short reason, never a statement's text (it may hold a
/// password) or a connection URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// The database could not be reached or did not answer in time: retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database refused the login (wrong root credentials).
    #[error("database refused the login: {0}")]
    Auth(String),
    /// A statement failed; the SQLSTATE and the server's message without its detail.
    #[error("statement failed: {0}")]
    Statement(String),
    /// The connection settings are unusable (bad URL, TLS settings).
    #[error("invalid connection settings: {0}")]
    Config(String),
}

impl DbError {
    /// The same error with its text passed through `f` (redaction).
    pub fn map_text(self, f: impl Fn(&str) -> String) -> DbError {
        match self {
            DbError::Unavailable(t) => DbError::Unavailable(f(&t)),
            DbError::Auth(t) => DbError::Auth(f(&t)),
            DbError::Statement(t) => DbError::Statement(f(&t)),
            DbError::Config(t) => DbError::Config(f(&t)),
        }
    }
}

/// What to connect with: the connection URL with `{{username}}` and `{{password}}`
/// filled (a secret: it holds the root password), and the PEM CA bundle that verifies
/// the server when the URL's `sslmode` asks for TLS. `Debug` never prints the URL.
pub struct Connection {
    /// A libpq URL (`postgres://user:password@host:port/db?sslmode=...`).
    pub url: SecretString,
    /// PEM certificates to verify the server with (`sslmode=require`, `verify-ca`,
    /// `verify-full`); empty: the TLS connection is refused (no system roots are
    /// trusted for databases).
    pub tls_ca: String,
    /// The connection's name (`database/config/:name`), for the fake and for logs.
    pub name: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("name", &self.name)
            .field("url", &"redacted")
            .finish()
    }
}

/// The database calls of the engine. Each call opens its own connection (a Lambda
/// invocation keeps none) with short connect and statement timeouts, and runs its
/// statements in one transaction, as OpenBao's PostgreSQL plugin does.
#[async_trait]
pub trait DatabaseApi: Send + Sync {
    /// Connects and closes (`verify_connection`).
    async fn verify(&self, conn: &Connection) -> Result<(), DbError>;
    /// Runs a role's creation statements for `username`, in one transaction.
    async fn new_user(
        &self,
        conn: &Connection,
        username: &str,
        statements: &[String],
    ) -> Result<(), DbError>;
    /// Runs renew or password statements for `username`, in one transaction.
    async fn update_user(
        &self,
        conn: &Connection,
        username: &str,
        statements: &[String],
    ) -> Result<(), DbError>;
    /// Removes `username`: the role's revocation statements in one transaction, or
    /// with `None` OpenBao's default (end its sessions, revoke its privileges in the
    /// schemas it has grants in, `REASSIGN OWNED`, `DROP OWNED`, `DROP ROLE IF
    /// EXISTS`). A user that does not exist is removed already.
    async fn delete_user(
        &self,
        conn: &Connection,
        username: &str,
        statements: Option<&[String]>,
    ) -> Result<(), DbError>;
}

/// A user of the fake database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FakeUser {
    /// The statements that created it (rendered).
    pub created_by: Vec<String>,
    /// The statements of its last update.
    pub updated_by: Vec<String>,
    /// The password it logs in with (set by [`FakeDatabase::add_user`] and by an
    /// update whose statement sets `PASSWORD '...'`); `None`: it cannot log in.
    pub password: Option<String>,
}

/// The password a rendered `... PASSWORD '<new>'` statement sets.
fn password_in(statements: &[String]) -> Option<String> {
    statements.iter().find_map(|s| {
        let rest = s.split_once("PASSWORD '")?.1;
        Some(rest.split_once('\'')?.0.to_owned())
    })
}

/// An in-memory database: users by name, the root password the login must present,
/// the statements run, and injectable errors.
#[derive(Default)]
pub struct FakeDatabase {
    users: Mutex<BTreeMap<String, FakeUser>>,
    /// When set, a connection URL must contain this password.
    root_password: Mutex<Option<String>>,
    script: Mutex<VecDeque<Option<DbError>>>,
    calls: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeDatabase {
    /// An empty database that accepts any login.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next calls answer from `script` (`None` = behave normally).
    pub fn script(&self, script: impl IntoIterator<Item = Option<DbError>>) {
        lock(&self.script).extend(script);
    }

    /// Requires logins to carry `password` (rotate-root tests).
    pub fn set_root_password(&self, password: &str) {
        *lock(&self.root_password) = Some(password.to_owned());
    }

    /// The root password logins must carry (`None`: any).
    pub fn root_password(&self) -> Option<String> {
        lock(&self.root_password).clone()
    }

    /// Names of the users that exist.
    pub fn users(&self) -> Vec<String> {
        lock(&self.users).keys().cloned().collect()
    }

    /// Adds an existing user that logs in with `password` (static-role tests).
    pub fn add_user(&self, name: &str, password: &str) {
        lock(&self.users).insert(
            name.to_owned(),
            FakeUser {
                password: Some(password.to_owned()),
                ..FakeUser::default()
            },
        );
    }

    /// A user, if it exists.
    pub fn user(&self, name: &str) -> Option<FakeUser> {
        lock(&self.users).get(name).cloned()
    }

    /// The calls made: `verify`, `new_user`, `update_user`, `delete_user`.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }

    fn enter(&self, op: &str, conn: &Connection) -> Result<(), DbError> {
        lock(&self.calls).push(op.to_owned());
        if let Some(Some(e)) = lock(&self.script).pop_front() {
            return Err(e);
        }
        // A login as one of the fake's users must carry its password.
        let url = url::Url::parse(conn.url.expose_secret())
            .map_err(|_| DbError::Config("bad URL".into()))?;
        if let Some(u) = lock(&self.users).get(url.username()) {
            let given = percent_encoding::percent_decode_str(url.password().unwrap_or(""))
                .decode_utf8_lossy()
                .into_owned();
            return if u.password.as_deref() == Some(given.as_str()) {
                Ok(())
            } else {
                Err(DbError::Auth("28P01 password authentication failed".into()))
            };
        }
        match lock(&self.root_password).as_deref() {
            Some(p) if !conn.url.expose_secret().contains(&format!(":{p}@")) => {
                Err(DbError::Auth("28P01 password authentication failed".into()))
            }
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl DatabaseApi for FakeDatabase {
    async fn verify(&self, conn: &Connection) -> Result<(), DbError> {
        self.enter("verify", conn)
    }

    async fn new_user(
        &self,
        conn: &Connection,
        username: &str,
        statements: &[String],
    ) -> Result<(), DbError> {
        self.enter("new_user", conn)?;
        let mut users = lock(&self.users);
        if users.contains_key(username) {
            return Err(DbError::Statement("42710 role already exists".into()));
        }
        users.insert(
            username.to_owned(),
            FakeUser {
                created_by: statements.to_vec(),
                updated_by: Vec::new(),
                password: password_in(statements),
            },
        );
        Ok(())
    }

    async fn update_user(
        &self,
        conn: &Connection,
        username: &str,
        statements: &[String],
    ) -> Result<(), DbError> {
        self.enter("update_user", conn)?;
        match lock(&self.users).get_mut(username) {
            Some(u) => {
                u.updated_by = statements.to_vec();
                if let Some(p) = password_in(statements) {
                    u.password = Some(p);
                }
                Ok(())
            }
            // The root user is not one of the fake's users: a password change for it
            // (`... PASSWORD '<new>'`) updates the password logins must carry. Any
            // other unknown user does not exist, as PostgreSQL answers.
            None if url::Url::parse(conn.url.expose_secret())
                .is_ok_and(|u| u.username() != username) =>
            {
                Err(DbError::Statement(format!(
                    "42704 role \"{username}\" does not exist"
                )))
            }
            None => {
                let new = password_in(statements);
                let mut root = lock(&self.root_password);
                if let (Some(r), Some(n)) = (root.as_mut(), new) {
                    *r = n;
                }
                Ok(())
            }
        }
    }

    async fn delete_user(
        &self,
        conn: &Connection,
        username: &str,
        _statements: Option<&[String]>,
    ) -> Result<(), DbError> {
        self.enter("delete_user", conn)?;
        lock(&self.users).remove(username);
        Ok(())
    }
}
