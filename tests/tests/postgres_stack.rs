//! The local stack's PostgreSQL (localstack/up), as the database secrets engine will use
//! it: the superuser from `SIGIL_POSTGRES_URL` creates a login role with a password and
//! a `VALID UNTIL`, the role logs in with that password over TCP (SCRAM) and is refused
//! with another, and an expired role is refused.

use tokio_postgres::{Client, NoTls};

/// The superuser's URL from stack.env.
fn url() -> String {
    std::env::var("SIGIL_POSTGRES_URL")
        .expect("SIGIL_POSTGRES_URL (localstack/up writes it to .sigil/stack.env)")
}

async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// `url` with another user and password.
fn as_user(url: &str, user: &str, password: &str) -> String {
    let rest = url.split_once('@').expect("user@host in the URL").1;
    format!("postgres://{user}:{password}@{rest}")
}

#[tokio::test]
async fn a_role_logs_in_with_its_password_until_it_expires() {
    let admin = connect(&url()).await.expect("superuser connects");
    let user = format!("sigil_stack_{}", std::process::id());
    admin
        .batch_execute(&format!(
            "CREATE ROLE \"{user}\" LOGIN PASSWORD 'right-password' VALID UNTIL 'infinity'"
        ))
        .await
        .unwrap();
    let client = connect(&as_user(&url(), &user, "right-password"))
        .await
        .expect("the role logs in");
    let row = client
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), user);
    drop(client);

    let Err(err) = connect(&as_user(&url(), &user, "wrong-password")).await else {
        panic!("a wrong password is refused");
    };
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD),
        "{err:?}"
    );

    admin
        .batch_execute(&format!("ALTER ROLE \"{user}\" VALID UNTIL '2000-01-01'"))
        .await
        .unwrap();
    let Err(err) = connect(&as_user(&url(), &user, "right-password")).await else {
        panic!("an expired role is refused");
    };
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::INVALID_PASSWORD),
        "{err:?}"
    );
    admin
        .batch_execute(&format!("DROP ROLE \"{user}\""))
        .await
        .unwrap();
    let gone = admin
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&user])
        .await
        .unwrap();
    assert!(gone.is_none());
}
