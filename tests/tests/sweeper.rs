//! The sweeper against DynamoDB Local's expiry index: expired tokens and secret IDs go,
//! live ones stay, and the run reads only what expired.

use serde_json::json;
use sigil_tests::Fixture;

#[tokio::test]
async fn sweeper_removes_only_what_expired() {
    let (f, clock) = Fixture::manual().await;
    let (role_id, secret_id) = f
        .approle("sweep", json!({"token_ttl": 60, "secret_id_ttl": 120}))
        .await;
    let short = f.login(&role_id, &secret_id).await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/approle/role/sweep/secret-id",
            Some(&f.admin),
            Some(json!({"ttl": 30})),
        )
        .await;
    assert_eq!(s, 200);
    let short_secret = b["data"]["secret_id_accessor"].as_str().unwrap().to_owned();
    let app = f.app(sigil::Function::Sweeper);

    let r = sigil::sweeper::sweep(app.store.as_ref(), &app.revokers, clock_now(&f))
        .await
        .unwrap();
    assert_eq!((r.tokens, r.secret_ids), (0, 0));

    clock.advance(61);
    let r = sigil::sweeper::sweep(app.store.as_ref(), &app.revokers, clock_now(&f))
        .await
        .unwrap();
    assert_eq!((r.tokens, r.secret_ids), (1, 1), "{r:?}");
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&short), None)
        .await;
    assert_eq!(s, 403);
    let (s, _) = f
        .call(
            "POST",
            "/v1/auth/approle/role/sweep/secret-id-accessor/lookup",
            Some(&f.admin),
            Some(json!({"secret_id_accessor": short_secret})),
        )
        .await;
    assert_eq!(s, 404, "expired secret ID deleted");
    // The admin token (1h) and the 120 s secret ID are untouched.
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&f.admin), None)
        .await;
    assert_eq!(s, 200);
    let (s, b) = f
        .call(
            "LIST",
            "/v1/auth/approle/role/sweep/secret-id",
            Some(&f.admin),
            None,
        )
        .await;
    assert_eq!(
        (s, b["data"]["keys"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let no_accessor_left = f
        .scan()
        .await
        .iter()
        .filter(|i| i["pk"].as_s().unwrap().starts_with("accessor/"))
        .count();
    assert_eq!(
        no_accessor_left, 1,
        "only the admin token's accessor remains"
    );
}

fn clock_now(f: &Fixture) -> i64 {
    f.clock.now()
}
