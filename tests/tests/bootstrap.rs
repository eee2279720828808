//! `sigil admin init --create-table --create-key`, as the local stack runs it, is
//! idempotent: a second run on the same table and key alias creates nothing and leaves
//! the keyring (key versions, wrapped data keys) and the sweeper cursor as they were.

use std::process::Command;

use serde_json::Value;
use sigil_tests::{scan_table, sdk, unique};

fn admin_init(table: &str, alias: &str) -> Value {
    let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/debug/sigil");
    let out = Command::new(bin)
        .args([
            "admin",
            "init",
            "--create-table",
            "--create-key",
            "-format=json",
        ])
        .env("SIGIL_TABLE", table)
        .env("SIGIL_KMS_KEY_ID", alias)
        .output()
        .expect("target/debug/sigil (cargo build -p sigil-cli)");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

#[tokio::test]
async fn admin_init_twice_creates_nothing_the_second_time() {
    let sdk = sdk().await;
    let table = unique("sigil-init");
    let alias = format!("alias/{table}");

    let first = admin_init(&table, &alias);
    assert_eq!(first["table"]["created"], true, "{first}");
    assert_eq!(first["kms_key"]["created"], true, "{first}");
    assert_eq!(
        (&first["keyring"]["created"], &first["keyring"]["version"]),
        (&Value::Bool(true), &Value::from(1)),
        "{first}"
    );
    let after_first = scan_table(&sdk, &table).await;
    let keyring: Vec<_> = after_first
        .iter()
        .filter(|i| {
            i["pk"].as_s().unwrap() == sigil::keyring::KEYRING_PK
                && i["sk"].as_s().unwrap().starts_with("dek/")
        })
        .collect();
    assert_eq!(keyring.len(), 1, "one data key version: {after_first:?}");

    let second = admin_init(&table, &alias);
    assert_eq!(second["table"]["created"], false, "{second}");
    assert_eq!(second["kms_key"]["created"], false, "{second}");
    assert_eq!(
        second["kms_key"]["arn"], first["kms_key"]["arn"],
        "the alias still names the same key"
    );
    assert_eq!(
        (&second["keyring"]["created"], &second["keyring"]["version"]),
        (&Value::Bool(false), &Value::from(1)),
        "{second}"
    );
    assert_eq!(
        scan_table(&sdk, &table).await,
        after_first,
        "the second run changed no item: same key versions, same wrapped keys, same cursor"
    );
}
