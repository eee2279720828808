//! The `sigil` command against the running functions: policy, AppRole, KV and token
//! commands as a user types them (Vault-style single-dash flags included).

use std::process::{Command, Output, Stdio};

use sigil_tests::{sigil_addr, unique};

fn sigil(token: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/debug/sigil");
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("SIGIL_ADDR", sigil_addr())
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
    String::from_utf8(o.stdout.clone()).unwrap()
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
