//! The `sigil` command as a user types it (Vault-style single-dash flags included):
//! against the running functions at `SIGIL_ADDR` (policy, AppRole, KV, token, AWS and
//! lease commands), and against a fixture's functions served in-process on a free
//! port (KV metadata and delete, token renew, lease revoke, connection errors).

use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use serde_json::{Value, json};
use sigil_tests::{Fixture, sigil_addr, unique};

fn sigil(token: &str, args: &[&str], stdin: Option<&str>) -> Output {
    sigil_at(&sigil_addr(), token, args, stdin)
}

fn sigil_at(addr: &str, token: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/debug/sigil");
    sigil_tests::seen(token);
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("SIGIL_ADDR", addr)
        .env("SIGIL_TOKEN", token)
        .env_remove("VAULT_TOKEN")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .expect("target/debug/sigil (built by `make test`)");
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout.clone()).unwrap();
    record_secrets(&out);
    out
}

/// Records the secrets a command printed (JSON, or Vault's `key  value` table) for the
/// log check in `make test` (see [`sigil_tests::seen`]).
fn record_secrets(out: &str) {
    if let Ok(v) = serde_json::from_str::<Value>(out) {
        sigil_tests::seen_json(&v);
        return;
    }
    for line in out.lines() {
        let mut words = line.split_whitespace();
        if let (Some(k), Some(v)) = (words.next(), words.next())
            && sigil_tests::SENSITIVE_FIELDS.contains(&k)
        {
            sigil_tests::seen(v);
        }
    }
}

#[test]
fn policy_approle_kv_and_token_commands() {
    let admin = std::env::var("SIGIL_TOKEN").expect("SIGIL_TOKEN: run under `make test`");
    let name = unique("cli");
    let policy = format!("path \"secret/data/{name}/*\" {{ capabilities = [\"read\"] }}\n");
    ok(&sigil(
        &admin,
        &["policy", "write", &name, "-"],
        Some(&policy),
    ));
    assert_eq!(
        ok(&sigil(&admin, &["policy", "read", &name], None)).trim(),
        policy.trim()
    );
    assert!(ok(&sigil(&admin, &["policy", "list", "-format=json"], None)).contains(&name));
    ok(&sigil(
        &admin,
        &[
            "write",
            &format!("auth/approle/role/{name}"),
            &format!("token_policies={name}"),
            "token_ttl=5m",
        ],
        None,
    ));
    let role_id = ok(&sigil(
        &admin,
        &[
            "read",
            "-field=role_id",
            &format!("auth/approle/role/{name}/role-id"),
        ],
        None,
    ));
    let secret_id = ok(&sigil(
        &admin,
        &[
            "write",
            "-f",
            "-field=secret_id",
            &format!("auth/approle/role/{name}/secret-id"),
        ],
        None,
    ));
    ok(&sigil(
        &admin,
        &[
            "kv",
            "put",
            &format!("secret/{name}/db"),
            "password=from-the-cli",
        ],
        None,
    ));

    let token = ok(&sigil(
        "",
        &[
            "login",
            "approle",
            &format!("-role-id={}", role_id.trim()),
            &format!("-secret-id={}", secret_id.trim()),
            "-field=token",
        ],
        None,
    ));
    let token = token.trim();
    assert!(token.starts_with("sgl."));
    let got = ok(&sigil(
        token,
        &["kv", "get", "-field=password", &format!("secret/{name}/db")],
        None,
    ));
    assert_eq!(got.trim(), "from-the-cli");
    let caps = ok(&sigil(
        token,
        &[
            "token",
            "capabilities",
            &format!("secret/data/{name}/db"),
            "secret/data/other",
        ],
        None,
    ));
    assert!(
        caps.contains(&format!("secret/data/{name}/db: read")),
        "{caps}"
    );
    assert!(caps.contains("secret/data/other: deny"), "{caps}");

    let denied = sigil(
        token,
        &["kv", "put", &format!("secret/{name}/db"), "password=x"],
        None,
    );
    assert_eq!(denied.status.code(), Some(2));
    let err = String::from_utf8_lossy(&denied.stderr);
    assert!(
        err.contains("Code: 403") && err.contains("permission denied"),
        "{err}"
    );
    assert!(!err.contains(token), "the token never appears in errors");

    ok(&sigil(token, &["token", "revoke", "-self"], None));
    let after = sigil(token, &["token", "lookup"], None);
    assert_eq!(after.status.code(), Some(2));
    ok(&sigil(&admin, &["policy", "delete", &name], None));
}

#[test]
fn aws_and_lease_commands() {
    let admin = std::env::var("SIGIL_TOKEN").expect("SIGIL_TOKEN: run under `make test`");
    let role = unique("cli-aws");
    let doc = r#"policy_document={"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#;
    ok(&sigil(
        &admin,
        &[
            "write",
            &format!("aws/roles/{role}"),
            "credential_type=iam_user",
            doc,
        ],
        None,
    ));
    let out = ok(&sigil(
        &admin,
        &["aws", "creds", &role, "-format=json"],
        None,
    ));
    let resp: serde_json::Value = serde_json::from_str(&out).unwrap();
    let lease_id = resp["lease_id"].as_str().unwrap().to_owned();
    assert!(
        resp["data"]["access_key"]
            .as_str()
            .is_some_and(|k| !k.is_empty())
    );
    let listed = ok(&sigil(
        &admin,
        &[
            "lease",
            "list",
            "-format=json",
            &format!("aws/creds/{role}"),
        ],
        None,
    ));
    let suffix = lease_id.rsplit('/').next().unwrap();
    assert!(listed.contains(suffix), "{listed}");
    ok(&sigil(
        &admin,
        &["lease", "renew", "-increment=1m", &lease_id],
        None,
    ));
    ok(&sigil(
        &admin,
        &["lease", "revoke-prefix", &format!("aws/creds/{role}")],
        None,
    ));
    let after = sigil(
        &admin,
        &["lease", "list", &format!("aws/creds/{role}")],
        None,
    );
    assert_eq!(
        after.status.code(),
        Some(2),
        "no leases left under the prefix"
    );
    let irrevocable = ok(&sigil(
        &admin,
        &["lease", "list", "-irrevocable", "-format=json"],
        None,
    ));
    assert!(irrevocable.contains("lease_count"), "{irrevocable}");
}

/// Runs `sigil` off the runtime's threads (the fixture's server runs on them).
async fn run(addr: &str, token: &str, args: &[&str]) -> Output {
    let (addr, token) = (addr.to_owned(), token.to_owned());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sigil_at(&addr, &token, &args, None)
    })
    .await
    .unwrap()
}

fn json_out(o: &Output) -> Value {
    serde_json::from_str(&ok(o)).expect("JSON output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_metadata_and_delete_token_renew_and_lease_revoke() {
    let f = Arc::new(Fixture::new().await);
    let addr = f.clone().serve().await;
    let admin = f.admin.as_str();
    let meta_json = ["kv", "metadata", "get", "-format=json", "secret/cli/app"];

    for v in ["one", "two"] {
        ok(&run(
            &addr,
            admin,
            &["kv", "put", "secret/cli/app", &format!("v={v}")],
        )
        .await);
    }
    let meta = json_out(&run(&addr, admin, &meta_json).await);
    assert_eq!(meta["data"]["current_version"], 2, "{meta}");
    assert_eq!(meta["data"]["versions"]["2"]["deletion_time"], "", "{meta}");
    let table = ok(&run(&addr, admin, &["kv", "metadata", "get", "secret/cli/app"]).await);
    assert!(table.contains("current_version"), "{table}");

    let out = ok(&run(&addr, admin, &["kv", "delete", "secret/cli/app"]).await);
    assert!(out.contains("Success! Data deleted"), "{out}");
    let (s, b) = f
        .call("GET", "/v1/secret/data/cli/app", Some(admin), None)
        .await;
    assert_eq!(s, 404, "the newest version is soft-deleted: {b}");
    let meta = json_out(&run(&addr, admin, &meta_json).await);
    assert_ne!(meta["data"]["versions"]["2"]["deletion_time"], "", "{meta}");
    assert_eq!(meta["data"]["versions"]["1"]["deletion_time"], "", "{meta}");
    let gone = run(&addr, admin, &["kv", "get", "secret/cli/app"]).await;
    assert_eq!(gone.status.code(), Some(2));
    let missing = run(&addr, admin, &["kv", "metadata", "get", "secret/cli/none"]).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("No value found"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );

    // token renew: your own token, and another's (as the admin), with an increment.
    let (role_id, secret_id) = f
        .approle(
            "cli-renew",
            json!({"token_policies": "default", "token_ttl": "1m", "token_max_ttl": "1h"}),
        )
        .await;
    let token = f.login(&role_id, &secret_id).await;
    let renewed = json_out(
        &run(
            &addr,
            &token,
            &["token", "renew", "-increment=10m", "-format=json"],
        )
        .await,
    );
    assert_eq!(renewed["auth"]["lease_duration"], 600, "{renewed}");
    let renewed = json_out(
        &run(
            &addr,
            admin,
            &["token", "renew", "-increment=20m", "-format=json", &token],
        )
        .await,
    );
    assert_eq!(renewed["auth"]["lease_duration"], 1200, "{renewed}");
    let (_, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    let ttl = b["data"]["ttl"].as_i64().unwrap();
    assert!((1190..=1200).contains(&ttl), "{b}");

    // lease revoke: one lease, its IAM user gone.
    let role = unique("cli-lease");
    f.aws_iam_role(&role).await;
    let b = f.creds(&role, admin).await;
    let lease_id = b["lease_id"].as_str().unwrap().to_owned();
    let prefix = format!("sigil-bootstrap-{role}-");
    assert_eq!(f.iam_users(&prefix).await.len(), 1);
    let out = ok(&run(&addr, admin, &["lease", "revoke", &lease_id]).await);
    assert!(
        out.contains("All revocation operations queued successfully!"),
        "Vault's message: {out}"
    );
    assert!(
        f.iam_users(&prefix).await.is_empty(),
        "the IAM user is deleted"
    );
    let (s, _) = f
        .call(
            "PUT",
            "/v1/sys/leases/lookup",
            Some(admin),
            Some(json!({ "lease_id": lease_id })),
        )
        .await;
    assert_eq!(s, 400, "the lease is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_address_is_a_clear_error() {
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("http://127.0.0.1:{port}");
    for args in [
        &["kv", "get", "secret/app/db"][..],
        &["token", "lookup"][..],
        &["lease", "revoke", "aws/creds/x/y"][..],
    ] {
        let o = run(&addr, "sgl.not-a-real-token", args).await;
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(
            err.starts_with(&format!("Error: could not reach Sigil at {addr}/: "))
                && err.contains("Connection refused")
                && err.contains("Set SIGIL_ADDR"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("sgl.not-a-real-token"), "no token in errors");
    }
}
