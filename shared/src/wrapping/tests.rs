//! Response wrapping through the pipeline, on in-memory ports.

use std::sync::Arc;

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::*;
use crate::app::App;
use crate::clock::ManualClock;
use crate::http::ApiResponse;
use crate::kms::FakeKms;
use crate::route::Function;
use crate::store::memory::MemoryStore;

const NOW: i64 = 1_000_000;

struct Env {
    store: Arc<MemoryStore>,
    keyring: Arc<Keyring>,
    clock: Arc<ManualClock>,
    root: String,
}

impl Env {
    async fn new() -> Env {
        let store = Arc::new(MemoryStore::new());
        let keyring = Arc::new(Keyring::new(store.clone(), Arc::new(FakeKms::new()), "t"));
        keyring.add_version("k", 0).await.unwrap();
        keyring.ensure_audit_key("k", 0).await.unwrap();
        let limits = Limits {
            default_ttl: 3600,
            max_ttl: 7200,
            batch: None,
        };
        let root = crate::bootstrap::admin_token(store.as_ref(), limits, 3600, NOW)
            .await
            .unwrap();
        Env {
            store,
            keyring,
            clock: Arc::new(ManualClock::new(NOW)),
            root: root.token.expose_secret().to_owned(),
        }
    }

    fn app(&self) -> App {
        App {
            keyring: self.keyring.clone(),
            ..App::in_memory(Function::Issue, self.store.clone(), self.clock.clone())
        }
    }

    async fn call(
        &self,
        path: &str,
        token: Option<&str>,
        wrap: Option<&str>,
        body: Value,
    ) -> ApiResponse {
        let mut headers = Vec::new();
        if let Some(t) = token {
            headers.push(("x-vault-token".to_owned(), t.to_owned()));
        }
        if let Some(w) = wrap {
            headers.push(("x-vault-wrap-ttl".to_owned(), w.to_owned()));
        }
        self.app()
            .handle(ApiRequest {
                method: "POST".into(),
                path: format!("/v1/{path}"),
                headers,
                body: body.to_string().into_bytes(),
                request_id: "req-1".into(),
                ..ApiRequest::default()
            })
            .await
    }

    /// Wraps `data` through `sys/wrapping/wrap`; the wrapping token.
    async fn wrap(&self, data: Value, ttl: &str) -> String {
        let r = self
            .call("sys/wrapping/wrap", Some(&self.root), Some(ttl), data)
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let body = r.body.unwrap();
        assert_eq!(body["data"], Value::Null);
        body["wrap_info"]["token"].as_str().unwrap().to_owned()
    }
}

fn error(r: &ApiResponse) -> String {
    r.body.as_ref().unwrap()["errors"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn wrap_lookup_unwrap_once() {
    let env = Env::new().await;
    let r = env
        .call(
            "sys/wrapping/wrap",
            Some(&env.root),
            Some("90s"),
            json!({"secret": "hunter2", "n": 1}),
        )
        .await;
    assert_eq!(r.status, 200);
    let body = r.body.unwrap();
    let info = &body["wrap_info"];
    assert_eq!(info["ttl"], 90);
    assert_eq!(info["creation_path"], "sys/wrapping/wrap");
    assert_eq!(info["creation_time"], crate::clock::rfc3339(NOW));
    assert!(info.get("wrapped_accessor").is_none());
    assert!(body["auth"].is_null() && body["data"].is_null());
    let token = info["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with(crate::token::TOKEN_PREFIX));
    // Nothing of the value is stored in the clear.
    let dump = format!("{:?}", env.store.dump());
    assert!(!dump.contains("hunter2"));
    for item in env.store.dump() {
        for v in item.values() {
            if let crate::store::Value::B(b) = v {
                assert!(!b.windows(7).any(|w| w == b"hunter2"));
            }
        }
    }

    // The wrapping token: a one-use orphan of the response-wrapping policy.
    let entry = crate::token::find(env.store.as_ref(), &SecretString::from(token.clone()), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.policies, [POLICY]);
    assert_eq!((entry.num_uses, entry.expire_at), (1, NOW + 90));
    assert!(entry.ancestors.is_empty() && !entry.renewable);

    // Lookup needs no token, and leaves the token as it is.
    let r = env
        .call("sys/wrapping/lookup", None, None, json!({"token": token}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body.unwrap()["data"],
        json!({"creation_ttl": 90, "creation_time": crate::clock::rfc3339(NOW), "creation_path": "sys/wrapping/wrap"})
    );

    // Unwrap with the wrapping token as the caller's token (the Vault client's way
    // when it holds no other token): the original response, exactly.
    let r = env
        .call("sys/wrapping/unwrap", Some(&token), None, json!({}))
        .await;
    assert_eq!(r.status, 200);
    let body = r.body.unwrap();
    assert_eq!(body["data"], json!({"secret": "hunter2", "n": 1}));
    assert_eq!(body["request_id"], "req-1");
    // Once only, by any route; and the token is gone.
    for (t, b) in [
        (Some(token.as_str()), json!({})),
        (Some(env.root.as_str()), json!({"token": token})),
        (None, json!({"token": token})),
    ] {
        let r = env.call("sys/wrapping/unwrap", t, None, b).await;
        assert_eq!((r.status, error(&r)), (400, INVALID.to_owned()));
    }
    let r = env
        .call("sys/wrapping/lookup", None, None, json!({"token": token}))
        .await;
    assert_eq!((r.status, error(&r)), (400, INVALID.to_owned()));
    assert!(
        env.store
            .get(&wrap_key(&entry.hash))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        crate::token::find_by_hash(env.store.as_ref(), &entry.hash, NOW)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn third_party_unwrap_revokes_the_token_and_errors_match_vault() {
    let env = Env::new().await;
    let token = env.wrap(json!({"k": "v"}), "60").await;
    let r = env
        .call(
            "sys/wrapping/unwrap",
            Some(&env.root),
            None,
            json!({"token": token}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.unwrap()["data"], json!({"k": "v"}));
    let hash = crate::crypto::sha256_hex(token.as_bytes());
    assert!(
        crate::token::find_by_hash(env.store.as_ref(), &hash, NOW)
            .await
            .unwrap()
            .is_none()
    );
    // No token at all: Vault's 403.
    let r = env.call("sys/wrapping/unwrap", None, None, json!({})).await;
    assert_eq!(
        (r.status, error(&r)),
        (
            403,
            "error validating wrapping token: token is empty".to_owned()
        )
    );
    // A token that is not a wrapping token, in the header or the body.
    let r = env
        .call("sys/wrapping/unwrap", Some(&env.root), None, json!({}))
        .await;
    assert_eq!((r.status, error(&r)), (400, INVALID.to_owned()));
    let r = env
        .call(
            "sys/wrapping/unwrap",
            Some(&env.root),
            None,
            json!({"token": env.root}),
        )
        .await;
    assert_eq!((r.status, error(&r)), (400, INVALID.to_owned()));
    // wrap without a TTL; a TTL that does not parse.
    let r = env
        .call("sys/wrapping/wrap", Some(&env.root), None, json!({"a": 1}))
        .await;
    assert_eq!(
        (r.status, error(&r)),
        (
            400,
            "endpoint requires response wrapping to be used".to_owned()
        )
    );
    let r = env
        .call(
            "sys/wrapping/wrap",
            Some(&env.root),
            Some("soon"),
            json!({"a": 1}),
        )
        .await;
    assert_eq!(r.status, 400);
    // A wrapping token cannot create tokens or read anything else.
    let t2 = env.wrap(json!({"k": "v"}), "60").await;
    let r = env
        .call(
            "sys/capabilities-self",
            Some(&t2),
            None,
            json!({"paths": ["x"]}),
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn an_expired_wrapping_is_refused_and_swept() {
    let env = Env::new().await;
    let token = env.wrap(json!({"k": "v"}), "60").await;
    let hash = crate::crypto::sha256_hex(token.as_bytes());
    env.clock.advance(60);
    for t in [Some(token.as_str()), Some(env.root.as_str())] {
        let r = env
            .call("sys/wrapping/unwrap", t, None, json!({"token": token}))
            .await;
        assert_eq!((r.status, error(&r)), (400, INVALID.to_owned()));
    }
    // Even past every token check, the stored response refuses to be taken.
    assert_eq!(
        take(env.store.as_ref(), &env.keyring, &hash, NOW + 60)
            .await
            .unwrap_err()
            .to_string(),
        INVALID
    );
    let revokers = crate::lease::Revokers::new();
    let report = crate::sweeper::sweep(env.store.as_ref(), &revokers, NOW + 7200 + 1000)
        .await
        .unwrap();
    assert_eq!(report.wrappings, 1);
    assert!(env.store.get(&wrap_key(&hash)).await.unwrap().is_none());
    assert!(
        env.store
            .get(&crate::token::token_key(&hash))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn of_concurrent_takes_exactly_one_gets_the_response() {
    let env = Env::new().await;
    let token = env.wrap(json!({"k": "v"}), "60").await;
    let hash = crate::crypto::sha256_hex(token.as_bytes());
    let results = futures::future::join_all(
        (0..10).map(|_| take(env.store.as_ref(), &env.keyring, &hash, NOW)),
    )
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in results.iter().filter(|r| r.is_err()) {
        assert_eq!(r.as_ref().unwrap_err().to_string(), INVALID);
    }
}

#[tokio::test]
async fn a_tampered_or_moved_ciphertext_fails_to_open() {
    let env = Env::new().await;
    let a = env.wrap(json!({"k": "a"}), "60").await;
    let b = env.wrap(json!({"k": "b"}), "60").await;
    let (ha, hb) = (
        crate::crypto::sha256_hex(a.as_bytes()),
        crate::crypto::sha256_hex(b.as_bytes()),
    );
    let item_a = env.store.get(&wrap_key(&ha)).await.unwrap().unwrap();
    // The right token hash opens it: the whole response, as it would have been sent.
    let plain = open(&env.keyring, &ha, &item_a).await.unwrap();
    let body: Value = serde_json::from_slice(plain.expose()).unwrap();
    assert_eq!(body["data"], json!({"k": "a"}));
    // Another token's hash in the associated data: refused.
    assert!(matches!(
        open(&env.keyring, &hb, &item_a).await,
        Err(ApiError::Integrity)
    ));
    // One flipped bit of the ciphertext: refused.
    let mut tampered = item_a.clone();
    if let Some(crate::store::Value::B(b)) = tampered.get_mut(A_CIPHERTEXT) {
        let last = b.len() - 1;
        b[last] ^= 1;
    }
    assert!(matches!(
        open(&env.keyring, &ha, &tampered).await,
        Err(ApiError::Integrity)
    ));
    // A's response moved into B's item: B's unwrap fails (500), nothing handed out.
    let mut moved = item_a.clone();
    moved.insert(
        "pk".into(),
        crate::store::Value::S(format!("{PK_PREFIX}{hb}")),
    );
    env.store
        .write(Write::Put {
            item: moved,
            cond: None,
        })
        .await
        .unwrap();
    let r = env
        .call("sys/wrapping/unwrap", Some(&b), None, json!({}))
        .await;
    assert_eq!(r.status, 500);
    assert_eq!(error(&r), "stored value failed its integrity check");
}

#[tokio::test]
async fn rewrap_moves_the_response_to_a_new_token() {
    let env = Env::new().await;
    let old = env.wrap(json!({"k": "v"}), "5m").await;
    let r = env
        .call(
            "sys/wrapping/rewrap",
            Some(&env.root),
            None,
            json!({"token": old}),
        )
        .await;
    assert_eq!(r.status, 200);
    let body = r.body.unwrap();
    assert_eq!(body["wrap_info"]["ttl"], 300);
    assert_eq!(body["wrap_info"]["creation_path"], "sys/wrapping/wrap");
    let new = body["wrap_info"]["token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let r = env
        .call(
            "sys/wrapping/unwrap",
            Some(&env.root),
            None,
            json!({"token": old}),
        )
        .await;
    assert_eq!((r.status, error(&r)), (400, INVALID.to_owned()));
    // A shorter wrap TTL on the rewrap applies; a longer one does not.
    let r = env
        .call(
            "sys/wrapping/rewrap",
            Some(&env.root),
            Some("30"),
            json!({"token": new}),
        )
        .await;
    let body = r.body.unwrap();
    assert_eq!(body["wrap_info"]["ttl"], 30);
    let newer = body["wrap_info"]["token"].as_str().unwrap().to_owned();
    let r = env
        .call("sys/wrapping/unwrap", Some(&newer), None, json!({}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.unwrap()["data"], json!({"k": "v"}));
}

#[tokio::test]
async fn wrapping_ttl_bounds_govern_requests() {
    let env = Env::new().await;
    crate::policies::write(
        env.store.as_ref(),
        "w",
        &crate::policies::StoredPolicy {
            text: "path \"sys/wrapping/wrap\" {\n  capabilities = [\"update\"]\n  min_wrapping_ttl = 60\n  max_wrapping_ttl = \"2m\"\n}\n".into(),
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    let user = crate::token::mint(
        &TokenParams {
            policies: vec!["w".into()],
            ..TokenParams::default()
        },
        Limits {
            default_ttl: 3600,
            max_ttl: 7200,
            batch: None,
        },
        NOW,
    )
    .unwrap();
    env.store.transact(user.writes()).await.unwrap();
    let t = user.token.expose_secret().to_owned();
    // Unwrapped: the policy refuses it (403) before the handler's own 400.
    for (wrap, status) in [
        (None, 403),
        (Some("30"), 403),
        (Some("60"), 200),
        (Some("120"), 200),
        (Some("121"), 403),
    ] {
        let r = env
            .call("sys/wrapping/wrap", Some(&t), wrap, json!({"a": 1}))
            .await;
        assert_eq!(r.status, status, "{wrap:?}");
    }
}

/// Round trips of a warm function (in-memory store, counted): wrapping adds one
/// transaction to the request it wraps (a warm `sys/wrapping/wrap`: 2 in all); an unwrap
/// costs the wrapping token's check, lookup and use, the take, and the token's
/// revocation through the ordinary revocation job (measured: 11 either way; printed
/// with `--nocapture`).
#[tokio::test]
async fn round_trips() {
    let env = Env::new().await;
    let app = env.app();
    let send = |path: &str, token: &str, wrap: Option<&str>, body: Value| {
        let mut headers = vec![("x-vault-token".to_owned(), token.to_owned())];
        if let Some(w) = wrap {
            headers.push(("x-vault-wrap-ttl".to_owned(), w.to_owned()));
        }
        ApiRequest {
            method: "POST".into(),
            path: format!("/v1/{path}"),
            headers,
            body: body.to_string().into_bytes(),
            request_id: "r".into(),
            ..ApiRequest::default()
        }
    };
    // Warm: mount table, policies, audit key, data key.
    let r = app
        .handle(send(
            "sys/wrapping/wrap",
            &env.root,
            Some("60"),
            json!({"a": 1}),
        ))
        .await;
    assert_eq!(r.status, 200);
    let before = env.store.calls();
    let r = app
        .handle(send(
            "sys/wrapping/wrap",
            &env.root,
            Some("60"),
            json!({"a": 1}),
        ))
        .await;
    let wrap = env.store.calls() - before;
    let token = r.body.unwrap()["wrap_info"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = env.store.calls();
    let r = app
        .handle(send("sys/wrapping/unwrap", &token, None, json!({})))
        .await;
    assert_eq!(r.status, 200);
    let unwrap_self = env.store.calls() - before;
    let r = app
        .handle(send(
            "sys/wrapping/wrap",
            &env.root,
            Some("60"),
            json!({"a": 1}),
        ))
        .await;
    let token = r.body.unwrap()["wrap_info"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = env.store.calls();
    let r = app
        .handle(send(
            "sys/wrapping/unwrap",
            &env.root,
            None,
            json!({"token": token}),
        ))
        .await;
    assert_eq!(r.status, 200);
    let unwrap_third = env.store.calls() - before;
    println!(
        "round trips: wrap {wrap}, unwrap (own token) {unwrap_self}, unwrap (third party) {unwrap_third}"
    );
    // A warm sys/wrapping/wrap by an unlimited token: the token read, the transaction.
    assert_eq!(wrap, 2);
    assert!(unwrap_self <= 11, "{unwrap_self}");
    assert!(unwrap_third <= 11, "{unwrap_third}");
}
