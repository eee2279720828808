//! The sweeper against DynamoDB Local's expiry index: expired tokens and secret IDs go,
//! live ones stay, and the run reads only what expired; an expired token's leases go
//! with it.

use serde_json::json;
use sigil_tests::{Fixture, unique};

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
    assert_eq!(
        s, 204,
        "expired secret ID deleted (Vault answers an unknown one so)"
    );
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

#[tokio::test]
async fn sweeping_an_expired_token_revokes_the_leases_it_owns() {
    let (f, clock) = Fixture::manual().await;
    let role = unique("owned");
    // Leases of 60 s (at most 120 s): they outlive the 20 s token, so only the token's
    // expiry can take them in the sweep below.
    f.aws_iam_role(&role).await;
    f.policy(
        "creds",
        &format!("path \"aws/creds/{role}\" {{ capabilities = [\"read\"] }}"),
    )
    .await;
    let (role_id, secret_id) = f
        .approle(
            "creds",
            json!({"token_policies": "creds", "token_ttl": 20, "token_max_ttl": 20}),
        )
        .await;
    let token = f.login(&role_id, &secret_id).await;
    let b = f.creds(&role, &token).await;
    assert_eq!(b["lease_duration"], 60);
    let users = || async {
        f.iam_users("sigil-")
            .await
            .into_iter()
            .filter(|u| u.contains(&role))
            .collect::<Vec<_>>()
    };
    assert_eq!(users().await.len(), 1, "the lease's IAM user exists");
    let lease_items = |items: &[sigil_tests::RawItem]| {
        items
            .iter()
            .filter(|i| {
                i["pk"].as_s().unwrap().starts_with("lease/")
                    || i["sk"].as_s().unwrap().starts_with("lease/")
            })
            .count()
    };
    assert!(
        lease_items(&f.scan().await) >= 2,
        "lease and its token link"
    );

    clock.advance(21);
    let r = f.sweep().await;
    assert_eq!((r.tokens, r.failed), (1, 0), "{r:?}");
    assert_eq!(
        lease_items(&f.scan().await),
        0,
        "the token's lease records are gone"
    );
    assert!(users().await.is_empty(), "the IAM user was deleted");
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 403);
}
