//! Rate-limit quotas on logins, in-process against DynamoDB Local: the request past the
//! limit gets 429 and changes nothing; a role-scoped quota counts only its role's logins;
//! a block lasts `block_interval`; bad definitions are 400.

use serde_json::json;
use sigil_tests::Fixture;

#[tokio::test]
async fn logins_past_a_quota_get_429_and_change_nothing() {
    let (f, clock) = Fixture::manual().await;
    let a = Some(f.admin.as_str());
    let (role_id, secret_id) = f.approle("web", json!({"secret_id_num_uses": 10})).await;
    let (other_id, other_secret) = f.approle("other", json!({})).await;
    // Start on a fresh 60 s window, so the test does not straddle two.
    clock.advance(60 - f.clock.now().rem_euclid(60));
    let (s, b) = f
        .call(
            "POST",
            "/v1/sys/quotas/rate-limit/web-logins",
            a,
            Some(json!({"path": "auth/approle", "role": "web", "rate": 2, "interval": "60s", "block_interval": "5m"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = f
        .call("GET", "/v1/sys/quotas/rate-limit/web-logins", a, None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["data"],
        json!({"name": "web-logins", "type": "rate-limit", "path": "auth/approle/", "role": "web",
               "rate": 2, "interval": 60, "block_interval": 300})
    );
    let (s, b) = f.call("LIST", "/v1/sys/quotas/rate-limit", a, None).await;
    assert_eq!((s, &b["data"]["keys"]), (200, &json!(["web-logins"])));

    let login = |id: &str, secret: &str| {
        let body = json!({"role_id": id, "secret_id": secret});
        let f = &f;
        async move {
            f.call("POST", "/v1/auth/approle/login", None, Some(body))
                .await
        }
    };
    for _ in 0..2 {
        assert_eq!(login(&role_id, &secret_id).await.0, 200);
    }
    // Everything but the quota's own counters and block record.
    let state = || async {
        let mut items = f.scan().await;
        items.retain(|i| !i["pk"].as_s().unwrap().starts_with("sys/quotas/counter/"));
        items
    };
    let before = state().await;
    let (s, b) = login(&role_id, &secret_id).await;
    assert_eq!(
        (s, &b),
        (429, &json!({"errors": ["rate limit quota exceeded"]}))
    );
    assert!(state().await == before, "a refused login changed the table");
    // The audit device records the refusal as such, on both lines.
    let lines = f.audit.lines();
    let refused: Vec<_> = lines
        .iter()
        .rev()
        .take(2)
        .map(|l| {
            (
                l["type"].as_str(),
                l["decision"].as_str(),
                l["status"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            (Some("response"), Some("rate_limited"), Some(429)),
            (Some("request"), Some("rate_limited"), None),
        ]
    );
    // Another role is not limited by it.
    for _ in 0..3 {
        assert_eq!(login(&other_id, &other_secret).await.0, 200);
    }
    // Blocked past the window, until block_interval has passed.
    clock.advance(61);
    assert_eq!(login(&role_id, &secret_id).await.0, 429, "still blocked");
    clock.advance(300);
    assert_eq!(
        login(&role_id, &secret_id).await.0,
        200,
        "the block is over"
    );

    // Deleting the quota lifts it.
    let (s, _) = f
        .call("DELETE", "/v1/sys/quotas/rate-limit/web-logins", a, None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = f
        .call("GET", "/v1/sys/quotas/rate-limit/web-logins", a, None)
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn bad_quotas_are_refused_and_non_admins_cannot_write_them() {
    let f = Fixture::new().await;
    let a = Some(f.admin.as_str());
    for body in [
        json!({}),
        json!({"rate": 0}),
        json!({"rate": 2.5}),
        json!({"rate": 5, "path": "secret/"}),
        json!({"rate": 5, "path": "auth/nope"}),
        json!({"rate": 5, "role": "web"}),
        json!({"rate": 5, "path": "auth/approle", "role": "web\u{7}"}),
        json!({"rate": 5, "interval": "1d"}),
        json!({"rate": 5, "block_interval": -1}),
    ] {
        let (s, b) = f
            .call("POST", "/v1/sys/quotas/rate-limit/q", a, Some(body.clone()))
            .await;
        assert_eq!(s, 400, "{body}: {b}");
    }
    let (s, _) = f.call("LIST", "/v1/sys/quotas/rate-limit", a, None).await;
    assert_eq!(s, 404, "nothing was stored");
    let (role_id, secret_id) = f.approle("web", json!({"token_policies": "default"})).await;
    let token = f.login(&role_id, &secret_id).await;
    let (s, _) = f
        .call(
            "POST",
            "/v1/sys/quotas/rate-limit/q",
            Some(&token),
            Some(json!({"rate": 1})),
        )
        .await;
    assert_eq!(s, 403);
}
