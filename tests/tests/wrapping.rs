//! Response wrapping against DynamoDB Local and moto, driven by OpenBao's own CLI
//! (`bao`, unchanged) over HTTP: a secret ID handed out wrapped, unwrapped once by a
//! client holding no token, used to log in; a second unwrap refused; ten concurrent
//! unwraps of one token, of which exactly one succeeds; an expired wrapping token
//! refused; and no wrapped value or wrapping token in any audit line.

use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sigil_tests::{Fixture, unique};

/// The `bao` binary: `BAO_BIN`, else the local stack's venv (localstack/requirements.txt).
fn bao_bin() -> String {
    std::env::var("BAO_BIN").unwrap_or_else(|_| {
        let cache = std::env::var("SIGIL_CACHE")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../.cache").to_owned());
        format!("{cache}/venv/bin/bao")
    })
}

/// Runs `bao` against `addr` with `token` (none: no token at all, as a receiver that
/// holds only the wrapping token), in an empty home (no token helper file).
async fn bao(addr: &str, token: Option<&str>, args: &[&str]) -> Output {
    let (addr, token) = (addr.to_owned(), token.map(str::to_owned));
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let home = std::env::temp_dir().join(unique("bao-home"));
        std::fs::create_dir_all(&home).expect("home");
        let mut cmd = Command::new(bao_bin());
        cmd.args(&args)
            .env("BAO_ADDR", &addr)
            .env("HOME", &home)
            .env_remove("BAO_TOKEN")
            .env_remove("VAULT_TOKEN")
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_WRAP_TTL")
            .env_remove("VAULT_WRAP_TTL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(t) = &token {
            cmd.env("BAO_TOKEN", t);
        }
        let out = cmd
            .output()
            .expect("the bao binary (localstack/requirements.txt)");
        let _ = std::fs::remove_dir_all(&home);
        out
    })
    .await
    .unwrap()
}

fn json_ok(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "bao failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON output");
    sigil_tests::seen_json(&v);
    v
}

/// Every audit line the fixture's functions wrote, as text.
fn audit_text(f: &Fixture) -> String {
    f.audit.raw().join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrapped_secret_id_unwraps_once_with_the_bao_cli() {
    let f = Arc::new(Fixture::new().await);
    let addr = f.clone().serve().await;
    let admin = f.admin.clone();
    let (role_id, _) = f
        .approle(
            "wrapped",
            json!({"token_policies": "default", "token_ttl": "5m"}),
        )
        .await;

    let wrapped = json_ok(
        &bao(
            &addr,
            Some(&admin),
            &[
                "write",
                "-format=json",
                "-wrap-ttl=60s",
                "-f",
                "auth/approle/role/wrapped/secret-id",
            ],
        )
        .await,
    );
    let info = &wrapped["wrap_info"];
    assert_eq!(info["ttl"], 60, "{wrapped}");
    assert_eq!(info["creation_path"], "auth/approle/role/wrapped/secret-id");
    assert!(wrapped["data"].is_null(), "{wrapped}");
    let token = info["token"].as_str().unwrap().to_owned();
    let wrapped_accessor = info["wrapped_accessor"].as_str().unwrap().to_owned();
    sigil_tests::seen(&wrapped_accessor);
    assert!(token.starts_with("sgl."));
    chrono_shape(info["creation_time"].as_str().unwrap());

    // The receiver holds no token: the CLI sends the wrapping token as its token.
    let unwrapped = json_ok(&bao(&addr, None, &["unwrap", "-format=json", &token]).await);
    let secret_id = unwrapped["data"]["secret_id"].as_str().unwrap().to_owned();
    sigil_tests::seen(&secret_id);
    assert_eq!(unwrapped["data"]["secret_id_accessor"], wrapped_accessor);
    let client = f.login(&role_id, &secret_id).await;
    assert!(client.starts_with("sgl."));

    // A second unwrap, either way, is refused with Vault's message.
    for t in [None, Some(admin.as_str())] {
        let again = bao(&addr, t, &["unwrap", &token]).await;
        assert!(!again.status.success());
        let err = String::from_utf8_lossy(&again.stderr);
        assert!(
            err.contains("wrapping token is not valid or does not exist"),
            "{err}"
        );
    }

    // A KV read wrapped by the CLI, unwrapped by a third party holding its own token.
    let marker = format!("wrapped-s3cret-{}", unique("kv"));
    let (s, _) = f
        .call(
            "POST",
            "/v1/secret/data/wrapped/app",
            Some(&admin),
            Some(json!({"data": {"api_key": marker}})),
        )
        .await;
    assert_eq!(s, 200);
    let kv = json_ok(
        &bao(
            &addr,
            Some(&admin),
            &[
                "kv",
                "get",
                "-format=json",
                "-wrap-ttl=2m",
                "secret/wrapped/app",
            ],
        )
        .await,
    );
    assert_eq!(kv["wrap_info"]["ttl"], 120, "{kv}");
    assert_eq!(kv["wrap_info"]["creation_path"], "secret/data/wrapped/app");
    let kv_token = kv["wrap_info"]["token"].as_str().unwrap().to_owned();
    let opened = json_ok(&bao(&addr, Some(&admin), &["unwrap", "-format=json", &kv_token]).await);
    assert_eq!(
        opened["data"]["data"]["api_key"],
        marker.as_str(),
        "{opened}"
    );

    // Nothing wrapped, and no wrapping token, in any audit line (they are hashed).
    let audit = audit_text(&f);
    for secret in [&secret_id, &token, &kv_token, &marker, &wrapped_accessor] {
        assert!(
            !audit.contains(secret.as_str()),
            "an audit line holds a secret"
        );
    }
    assert!(audit.contains("\"creation_path\":\"auth/approle/role/wrapped/secret-id\""));
}

/// RFC 3339 with a `Z`, as Vault prints `creation_time`.
fn chrono_shape(t: &str) {
    assert!(
        t.len() >= 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
        "{t}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_ten_concurrent_unwraps_exactly_one_succeeds() {
    let f = Arc::new(Fixture::new().await);
    let addr = f.clone().serve().await;
    let admin = f.admin.clone();
    let wrap = || async {
        let (s, b) = f
            .send(with_wrap(
                sigil_tests::request(
                    "POST",
                    "/v1/sys/wrapping/wrap",
                    Some(&admin),
                    Some(json!({"value": format!("wrapped-s3cret-{}", unique("c"))})),
                ),
                "60",
            ))
            .await;
        assert_eq!(s, 200, "{b}");
        b["wrap_info"]["token"].as_str().unwrap().to_owned()
    };

    // Ten `bao unwrap` processes holding only the wrapping token, at once.
    let token = wrap().await;
    let args = ["unwrap", "-format=json", token.as_str()];
    let runs = futures::future::join_all((0..10).map(|_| bao(&addr, None, &args))).await;
    let won: Vec<&Output> = runs.iter().filter(|o| o.status.success()).collect();
    assert_eq!(won.len(), 1, "exactly one unwrap gets the value");
    for lost in runs.iter().filter(|o| !o.status.success()) {
        let err = String::from_utf8_lossy(&lost.stderr);
        assert!(
            err.contains("wrapping token is not valid or does not exist"),
            "{err}"
        );
    }

    // Ten third parties naming the token in the body, at once, in-process.
    let token = wrap().await;
    let calls = futures::future::join_all((0..10).map(|_| {
        f.call(
            "POST",
            "/v1/sys/wrapping/unwrap",
            Some(&admin),
            Some(json!({"token": token})),
        )
    }))
    .await;
    let statuses: Vec<u16> = calls.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
    // The wrapped item is gone from the table, and so is the token.
    let hash = sigil::crypto::sha256_hex(token.as_bytes());
    let items = f.scan().await;
    assert!(
        !items
            .iter()
            .any(|i| i["pk"].as_s().is_ok_and(|pk| pk.contains(&hash))),
        "the wrapping and its token are deleted"
    );
}

fn with_wrap(mut r: sigil::http::ApiRequest, ttl: &str) -> sigil::http::ApiRequest {
    r.headers
        .push(("x-vault-wrap-ttl".to_owned(), ttl.to_owned()));
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_wrapping_token_is_refused_and_swept() {
    let (f, clock) = Fixture::manual().await;
    let f = Arc::new(f);
    let addr = f.clone().serve().await;
    let admin = f.admin.clone();
    let (s, b) = f
        .send(with_wrap(
            sigil_tests::request(
                "POST",
                "/v1/sys/wrapping/wrap",
                Some(&admin),
                Some(json!({"value": "wrapped-s3cret-expiring"})),
            ),
            "30s",
        ))
        .await;
    assert_eq!(s, 200, "{b}");
    let token = b["wrap_info"]["token"].as_str().unwrap().to_owned();
    sigil_tests::seen(&token);
    let (s, b) = f
        .call(
            "POST",
            "/v1/sys/wrapping/lookup",
            None,
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!((s, &b["data"]["creation_ttl"]), (200, &json!(30)), "{b}");

    clock.advance(30);
    for t in [None, Some(admin.as_str())] {
        let out = bao(&addr, t, &["unwrap", &token]).await;
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("wrapping token is not valid or does not exist"),
            "{err}"
        );
    }
    let (s, _) = f
        .call(
            "POST",
            "/v1/sys/wrapping/lookup",
            None,
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(s, 400);

    // The sweeper deletes the expired response (and revokes the expired token).
    clock.advance(3600 * 2);
    let mut swept = 0;
    for _ in 0..3 {
        swept += f.sweep().await.wrappings;
        if swept > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(swept, 1);
    let hash = sigil::crypto::sha256_hex(token.as_bytes());
    assert!(!f.scan().await.iter().any(|i| {
        i["pk"]
            .as_s()
            .is_ok_and(|pk| pk == &format!("wrapping/{hash}"))
    }));
}

/// A caller whose own token is bad gets its 403 (OpenBao's answer), not the "wrapping
/// token is not valid" that signals interception; the wrapping token is untouched and
/// unwraps afterwards (found by a fresh user's check).
#[tokio::test]
async fn a_bad_caller_token_does_not_spend_or_condemn_the_wrapping_token() {
    let f = Fixture::new().await;
    let (s, b) = f
        .send(with_wrap(
            sigil_tests::request(
                "POST",
                "/v1/sys/wrapping/wrap",
                Some(&f.admin),
                Some(json!({"value": "wrapped-s3cret-caller"})),
            ),
            "60",
        ))
        .await;
    assert_eq!(s, 200, "{b}");
    let token = b["wrap_info"]["token"].as_str().unwrap().to_owned();
    let unwrap = |caller: Option<String>| {
        let (f, token) = (&f, token.clone());
        async move {
            f.call(
                "POST",
                "/v1/sys/wrapping/unwrap",
                caller.as_deref(),
                Some(json!({ "token": token })),
            )
            .await
        }
    };
    let (s, b) = unwrap(Some("sgl.bogus-caller".into())).await;
    assert_eq!(
        (s, &b["errors"][0]),
        (403, &json!("permission denied")),
        "{b}"
    );
    let (s, b) = unwrap(Some(f.admin.clone())).await;
    assert_eq!(
        (s, &b["data"]["value"]),
        (200, &json!("wrapped-s3cret-caller")),
        "{b}"
    );
}
