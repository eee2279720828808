//! The PostgreSQL adapter of the database port ([`crate::database::port::DatabaseApi`])
//! over tokio-postgres: one connection per call (a Lambda invocation keeps none), a
//! 5 s connect timeout, a 10 s `statement_timeout` and a 20 s bound on the whole
//! call, statements in one transaction.
//!
//! TLS: `sslmode=require`, `verify-ca` and `verify-full` connect over rustls (aws-lc-rs)
//! and verify the server's certificate chain and host name against the connection's
//! `tls_ca` only (all three as libpq's `verify-full`); `disable`, `allow` and `prefer`
//! connect over plain TCP (`prefer` with a `tls_ca`: TLS when the server offers it).
//! Errors carry the SQLSTATE and the server's message with quoted parts removed (a
//! message can quote a statement's text, which may hold a password).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::ExposeSecret;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, NoTls, Socket};

use crate::database::port::{Connection, DatabaseApi, DbError};

/// Connect timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// `statement_timeout` of each session, milliseconds.
pub const STATEMENT_TIMEOUT_MS: u32 = 10_000;
/// Bound on one whole call (connect and statements).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// The adapter. Holds nothing between calls.
#[derive(Clone, Copy, Debug, Default)]
pub struct Postgres;

/// `message` without its quoted parts.
fn unquoted(message: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '"' || c == '\'' => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    out.chars().take(200).collect()
}

fn map_err(e: &tokio_postgres::Error) -> DbError {
    match e.as_db_error() {
        Some(d) => {
            let code = d.code().code();
            let text = format!("{code} {}", unquoted(d.message()));
            if code.starts_with("28") {
                DbError::Auth(text)
            } else if code.starts_with("08") || code.starts_with("57") || code.starts_with("53") {
                DbError::Unavailable(text)
            } else {
                DbError::Statement(text)
            }
        }
        None if e.is_closed() => DbError::Unavailable("the connection closed".into()),
        None => match tls_refusal(e) {
            Some(why) => DbError::Config(format!(
                "the server's TLS certificate was refused ({why}): tls_ca must hold the CA that signed it, and the URL's host must be a name or address it is issued for"
            )),
            None => DbError::Unavailable(unquoted(&with_causes(e))),
        },
    }
}

/// The error's text followed by its causes' (tokio-postgres prints only its own:
/// `error performing TLS handshake`).
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// rustls's reason when the handshake failed because the server's certificate was
/// not accepted (a chain `tls_ca` did not sign, a host name it is not issued for, an
/// expired certificate): tokio-rustls wraps rustls's error in an `io::Error`.
fn tls_refusal(e: &tokio_postgres::Error) -> Option<String> {
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let tls = c.downcast_ref::<rustls::Error>().or_else(|| {
            c.downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(
            err @ (rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::UnsupportedNameType),
        ) = tls
        {
            return Some(err.to_string());
        }
        cause = c.source();
    }
    None
}

/// rustls, verifying against `tls_ca` only.
fn tls_config(tls_ca: &str) -> Result<Arc<rustls::ClientConfig>, DbError> {
    let mut roots = rustls::RootCertStore::empty();
    for p in pem::parse_many(tls_ca).map_err(|_| DbError::Config("tls_ca is not PEM".into()))? {
        if p.tag() == "CERTIFICATE" {
            roots
                .add(rustls::pki_types::CertificateDer::from(p.into_contents()))
                .map_err(|_| DbError::Config("a tls_ca certificate is invalid".into()))?;
        }
    }
    if roots.is_empty() {
        return Err(DbError::Config(
            "sslmode asks for TLS but the connection has no tls_ca".into(),
        ));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| DbError::Config("TLS settings".into()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// Makes rustls connections for tokio-postgres.
#[derive(Clone)]
struct MakeRustls(Arc<rustls::ClientConfig>);

struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
    domain: rustls::pki_types::ServerName<'static>,
}

/// A TLS session over a socket.
struct RustlsStream(Box<tokio_rustls::client::TlsStream<Socket>>);

impl MakeTlsConnect<Socket> for MakeRustls {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = std::io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, std::io::Error> {
        let domain = rustls::pki_types::ServerName::try_from(domain.to_owned())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        Ok(RustlsConnect {
            config: self.0.clone(),
            domain,
        })
    }
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = std::io::Result<RustlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let s = tokio_rustls::TlsConnector::from(self.config)
                .connect(self.domain, stream)
                .await?;
            Ok(RustlsStream(Box::new(s)))
        })
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl tokio_postgres::tls::TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

/// A client whose connection task ends when it is dropped.
struct Session {
    client: Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn connect(conn: &Connection) -> Result<Session, DbError> {
    // sslmode is read here (tokio-postgres knows only disable/prefer/require).
    let mut url = url::Url::parse(conn.url.expose_secret())
        .map_err(|_| DbError::Config("connection_url is not a URL".into()))?;
    if url.query_pairs().filter(|(k, _)| k == "sslmode").count() > 1 {
        return Err(DbError::Config("sslmode is given twice".into()));
    }
    let mode = url
        .query_pairs()
        .find(|(k, _)| k == "sslmode")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| "prefer".into());
    let rest: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "sslmode")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(rest);
    let text = url.as_str().trim_end_matches('?').to_owned();
    let mut cfg: tokio_postgres::Config = text
        .parse()
        .map_err(|_| DbError::Config("connection_url is not a PostgreSQL URL".into()))?;
    cfg.connect_timeout(CONNECT_TIMEOUT);
    // Statement rendering escapes values for standard strings (a quote doubled, a
    // backslash literal: database::statements); a server configured otherwise would
    // read `\'` in a value as an escaped quote, so the session fixes the setting.
    cfg.options(format!(
        "-c statement_timeout={STATEMENT_TIMEOUT_MS} -c standard_conforming_strings=on"
    ));
    cfg.application_name("sigil");
    let tls = match mode.as_str() {
        "require" | "verify-ca" | "verify-full" => {
            cfg.ssl_mode(SslMode::Require);
            Some(tls_config(&conn.tls_ca)?)
        }
        "prefer" if !conn.tls_ca.is_empty() => {
            cfg.ssl_mode(SslMode::Prefer);
            Some(tls_config(&conn.tls_ca)?)
        }
        _ => {
            cfg.ssl_mode(SslMode::Disable);
            None
        }
    };
    let session = match tls {
        Some(t) => {
            let (client, connection) = cfg.connect(MakeRustls(t)).await.map_err(|e| map_err(&e))?;
            let task = tokio::spawn(async move {
                let _ = connection.await;
            });
            Session { client, task }
        }
        None => {
            let (client, connection) = cfg.connect(NoTls).await.map_err(|e| map_err(&e))?;
            let task = tokio::spawn(async move {
                let _ = connection.await;
            });
            Session { client, task }
        }
    };
    Ok(session)
}

async fn in_transaction(s: &mut Session, statements: &[String]) -> Result<(), DbError> {
    let tx = s.client.transaction().await.map_err(|e| map_err(&e))?;
    for q in statements {
        tx.batch_execute(q).await.map_err(|e| map_err(&e))?;
    }
    tx.commit().await.map_err(|e| map_err(&e))
}

/// Connects and runs `statements` in one transaction, bounded by [`CALL_TIMEOUT`].
async fn run(conn: &Connection, statements: &[String]) -> Result<(), DbError> {
    bounded(conn, statements, async {
        let mut s = connect(conn).await?;
        in_transaction(&mut s, statements).await
    })
    .await
}

/// Runs `f` bounded by [`CALL_TIMEOUT`]; its error never holds the connection's
/// password or a password the statements set, even where a server (or something
/// posing as one) repeats it unquoted ([`redact`]).
async fn bounded<T>(
    conn: &Connection,
    statements: &[String],
    f: impl std::future::Future<Output = Result<T, DbError>>,
) -> Result<T, DbError> {
    tokio::time::timeout(CALL_TIMEOUT, f)
        .await
        .unwrap_or_else(|_| Err(DbError::Unavailable("the database call timed out".into())))
        .map_err(|e| redact(e, conn, statements))
}

/// `e` with every secret of the call replaced by `[redacted]`: the URL's password (as
/// written and percent-decoded), and each quoted literal of 8 characters or more in
/// the statements (where `{{password}}` lands).
fn redact(e: DbError, conn: &Connection, statements: &[String]) -> DbError {
    let mut secrets: Vec<String> = Vec::new();
    if let Ok(u) = url::Url::parse(conn.url.expose_secret())
        && let Some(p) = u.password()
    {
        secrets.push(p.to_owned());
        if let Ok(d) = percent_encoding::percent_decode_str(p).decode_utf8() {
            secrets.push(d.into_owned());
        }
    }
    for q in statements {
        secrets.extend(
            q.split('\'')
                .skip(1)
                .step_by(2)
                .filter(|l| l.chars().count() >= 8)
                .map(str::to_owned),
        );
    }
    secrets.retain(|s| !s.is_empty());
    // Longest first, so a secret holding another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    e.map_text(|t| {
        secrets
            .iter()
            .fold(t.to_owned(), |t, s| t.replace(s.as_str(), "[redacted]"))
    })
}

/// Quotes an identifier (PostgreSQL's rule: `"` doubled, in double quotes).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn role_exists(s: &Session, user: &str) -> Result<bool, DbError> {
    let row = s
        .client
        .query_one(
            "SELECT exists (SELECT 1 FROM pg_roles WHERE rolname = $1)",
            &[&user],
        )
        .await
        .map_err(|e| map_err(&e))?;
    Ok(row.get(0))
}

/// Ends the user's sessions (they would outlive a dropped role's privileges).
async fn terminate_sessions(s: &Session, user: &str) -> Result<(), DbError> {
    s.client
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()",
            &[&user],
        )
        .await
        .map_err(|e| map_err(&e))?;
    Ok(())
}

async fn default_drop(s: &mut Session, user: &str) -> Result<(), DbError> {
    let u = quote_ident(user);
    let db: String = s
        .client
        .query_one("SELECT current_database()::text", &[])
        .await
        .map_err(|e| map_err(&e))?
        .get(0);
    let schemas = s
        .client
        .query(
            "SELECT DISTINCT table_schema::text FROM information_schema.role_table_grants WHERE grantee = $1",
            &[&user],
        )
        .await
        .map_err(|e| map_err(&e))?;
    let mut stmts = Vec::new();
    for row in schemas {
        let schema = quote_ident(&row.get::<_, String>(0));
        stmts.push(format!(
            "REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA {schema} FROM {u}"
        ));
        stmts.push(format!("REVOKE USAGE ON SCHEMA {schema} FROM {u}"));
    }
    stmts.push(format!(
        "REVOKE CONNECT ON DATABASE {} FROM {u}",
        quote_ident(&db)
    ));
    stmts.push(format!("REASSIGN OWNED BY {u} TO CURRENT_USER"));
    stmts.push(format!("DROP OWNED BY {u}"));
    stmts.push(format!("DROP ROLE IF EXISTS {u}"));
    in_transaction(s, &stmts).await
}

#[async_trait]
impl DatabaseApi for Postgres {
    async fn verify(&self, conn: &Connection) -> Result<(), DbError> {
        bounded(conn, &[], async {
            let s = connect(conn).await?;
            s.client
                .batch_execute("SELECT 1")
                .await
                .map_err(|e| map_err(&e))
        })
        .await
    }

    async fn new_user(
        &self,
        conn: &Connection,
        _username: &str,
        statements: &[String],
    ) -> Result<(), DbError> {
        run(conn, statements).await
    }

    async fn update_user(
        &self,
        conn: &Connection,
        _username: &str,
        statements: &[String],
    ) -> Result<(), DbError> {
        run(conn, statements).await
    }

    async fn delete_user(
        &self,
        conn: &Connection,
        username: &str,
        statements: Option<&[String]>,
    ) -> Result<(), DbError> {
        bounded(conn, statements.unwrap_or_default(), async {
            let mut s = connect(conn).await?;
            if !role_exists(&s, username).await? {
                return Ok(());
            }
            terminate_sessions(&s, username).await?;
            match statements {
                Some(stmts) => in_transaction(&mut s, stmts).await,
                None => default_drop(&mut s, username).await,
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_parts_leave_error_messages() {
        assert_eq!(
            unquoted("syntax error at or near \"hunter2\" in 'x'"),
            "syntax error at or near \"…\" in '…'"
        );
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn errors_never_repeat_the_call_s_passwords() {
        // Found by a hostile check: a server that echoes the password it got, unquoted.
        let conn = Connection {
            url: secrecy::SecretString::from(
                "postgres://root:r%40ot-Secret1@db:5432/app".to_owned(),
            ),
            tls_ca: String::new(),
            name: "pg".into(),
        };
        let stmts = ["ALTER ROLE \"svc\" WITH PASSWORD 'Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8'".to_owned()];
        for text in [
            "28P01 evil r@ot-Secret1 message",
            "28P01 evil r%40ot-Secret1 message",
            "XX000 saw Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8 unquoted",
        ] {
            let e = redact(DbError::Auth(text.into()), &conn, &stmts).to_string();
            assert!(!e.contains("Secret1") && !e.contains("Aa1Bb2"), "{e}");
            assert!(e.contains("[redacted]"), "{e}");
        }
        // Short literals (a schema name, `'x'`) are not secrets and stay.
        let e = redact(DbError::Statement("42P01 in x".into()), &conn, &stmts);
        assert_eq!(e.to_string(), "statement failed: 42P01 in x");
    }
}
