//! AWS static roles against moto's IAM: `static-creds` returns a key IAM lists and STS
//! accepts; the sweeper rotates it on schedule and deletes the superseded key after its
//! grace period, with at most two keys on the user at every step; a crash after each
//! rotation step settles to one current working key; a user with two keys of its own,
//! or an unknown user, is refused and nothing is stored; deleting a role deletes the keys
//! Sigil created; disabling the mount removes its static roles.

use std::sync::Arc;

use serde_json::json;
use sigil::Function;
use sigil::aws_engine::Mount;
use sigil::aws_engine::issue::{StaticCrashAfter, StaticStep};
use sigil::aws_engine::static_roles::{self, INTENT_STALE_SECS, StaticRotate};
use sigil::clock::Clock;
use sigil::lease::Revokers;
use sigil_tests::{Fixture, RawItem, unique};

/// Creates an IAM user in moto, returning its name.
async fn iam_user(f: &Fixture, tag: &str) -> String {
    let name = unique(tag);
    sigil::aws::iam_client(&f.sdk, None)
        .create_user()
        .user_name(&name)
        .send()
        .await
        .expect("CreateUser");
    name
}

/// The user's access key IDs as moto lists them, sorted.
async fn keys(f: &Fixture, user: &str) -> Vec<String> {
    let out = sigil::aws::iam_client(&f.sdk, None)
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .expect("ListAccessKeys");
    let mut ids: Vec<String> = out
        .access_key_metadata()
        .iter()
        .filter_map(|k| k.access_key_id().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

/// A key of the user's own (created outside Sigil).
async fn own_key(f: &Fixture, user: &str) -> String {
    sigil::aws::iam_client(&f.sdk, None)
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .expect("CreateAccessKey")
        .access_key()
        .expect("key")
        .access_key_id()
        .to_owned()
}

/// `static-creds/:role` as the admin: (access key, secret key), asserting the key is
/// one moto lists for `user` and that STS knows it as `user`'s.
async fn static_creds(f: &Fixture, role: &str, user: &str) -> (String, String) {
    let (s, b) = f
        .call(
            "GET",
            &format!("/v1/aws/static-creds/{role}"),
            Some(&f.admin),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["lease_id"], "", "no lease: {b}");
    assert!(b["data"]["expiration"].is_string(), "{b}");
    let ak = b["data"]["access_key"].as_str().unwrap().to_owned();
    let sk = b["data"]["secret_key"].as_str().unwrap().to_owned();
    assert!(keys(f, user).await.contains(&ak), "{ak} is listed");
    let creds = aws_credential_types::Credentials::new(ak.clone(), sk.clone(), None, None, "t");
    let conf = aws_sdk_sts::config::Builder::from(&f.sdk)
        .credentials_provider(creds)
        .build();
    let who = aws_sdk_sts::Client::from_conf(conf)
        .get_caller_identity()
        .send()
        .await
        .expect("the key works");
    assert!(
        who.arn()
            .unwrap_or_default()
            .ends_with(&format!("user/{user}")),
        "{:?}",
        who.arn()
    );
    (ak, sk)
}

async fn create_role(f: &Fixture, role: &str, user: &str, period: &str) {
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/aws/static-roles/{role}"),
            Some(&f.admin),
            Some(json!({"username": user, "rotation_period": period})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

/// A sweep whose static-role job stops after `step` (as a crash).
async fn crashing_sweep(f: &Fixture, step: StaticStep) -> sigil::sweeper::SweepReport {
    let app = f.app(Function::Sweeper);
    let job = StaticRotate::new(
        app.keyring.clone(),
        app.aws.clone(),
        Arc::new(StaticCrashAfter(step)),
    );
    let revokers = Revokers::new().with_due(static_roles::PK_PREFIX, Arc::new(job));
    sigil::sweeper::sweep(app.store.as_ref(), &revokers, f.clock.now())
        .await
        .expect("sweep")
}

#[tokio::test]
async fn static_creds_return_a_working_key_and_bad_input_stores_nothing() {
    let f = Fixture::new().await;
    let a = Some(f.admin.as_str());
    let user = iam_user(&f, "svc").await;
    let own = own_key(&f, &user).await;
    let role = unique("legacy");

    // Unknown user, bad period: 400 and no role.
    for body in [
        json!({"username": unique("nobody"), "rotation_period": "1h"}),
        json!({"username": user, "rotation_period": "59s"}),
        json!({"username": user}),
    ] {
        let (s, b) = f
            .call(
                "POST",
                &format!("/v1/aws/static-roles/{role}"),
                a,
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, 400, "{body}: {b}");
        let (s, _) = f
            .call("GET", &format!("/v1/aws/static-roles/{role}"), a, None)
            .await;
        assert_eq!(s, 404, "{body}: nothing stored");
    }
    assert_eq!(keys(&f, &user).await, vec![own.clone()], "no key created");

    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/aws/static-roles/{role}"),
            a,
            Some(json!({"username": user, "rotation_period": "1h"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["data"],
        json!({"name": role, "username": user, "rotation_period": 3600})
    );
    let (ak, sk) = static_creds(&f, &role, &user).await;
    assert_ne!(ak, own);
    let mut both = vec![own.clone(), ak.clone()];
    both.sort();
    assert_eq!(keys(&f, &user).await, both, "the user's own key untouched");
    let (s, b) = f
        .call("GET", &format!("/v1/aws/static-roles/{role}"), a, None)
        .await;
    assert_eq!(s, 200);
    assert!(!b.to_string().contains(&sk), "a role read shows no secret");
    let (s, b) = f.call("LIST", "/v1/aws/static-roles", a, None).await;
    assert_eq!(s, 200);
    assert!(b["data"]["keys"].as_array().unwrap().contains(&json!(role)));
    let (s, _) = f
        .call(
            "GET",
            &format!("/v1/aws/static-creds/{}", unique("no")),
            a,
            None,
        )
        .await;
    assert_eq!(s, 404);
    let stored = f.scan().await;
    assert!(
        !format!("{stored:?}").contains(&sk),
        "the secret key is stored sealed"
    );

    // Delete: the key Sigil created goes, the user's own stays.
    let (s, _) = f
        .call("DELETE", &format!("/v1/aws/static-roles/{role}"), a, None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(keys(&f, &user).await, vec![own]);
}

#[tokio::test]
async fn a_user_with_two_keys_of_its_own_is_refused_and_they_stay() {
    let f = Fixture::new().await;
    let user = iam_user(&f, "full").await;
    let mut own = vec![own_key(&f, &user).await, own_key(&f, &user).await];
    own.sort();
    let role = unique("full");
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/aws/static-roles/{role}"),
            Some(&f.admin),
            Some(json!({"username": user, "rotation_period": "1h"})),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b["errors"][0]
            .as_str()
            .unwrap()
            .contains("already has two access keys"),
        "{b}"
    );
    assert_eq!(keys(&f, &user).await, own);
    let (s, _) = f
        .call(
            "GET",
            &format!("/v1/aws/static-roles/{role}"),
            Some(&f.admin),
            None,
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn the_sweeper_rotates_on_schedule_with_at_most_two_keys() {
    let (f, clock) = Fixture::manual().await;
    let user = iam_user(&f, "rot").await;
    let role = unique("rot");
    create_role(&f, &role, &user, "60s").await;
    let grace = static_roles::grace_secs(60);
    assert_eq!(grace, 30);
    let (mut current, _) = static_creds(&f, &role, &user).await;
    let mut until_due = 60;
    for round in 0..3 {
        clock.advance(until_due - 1);
        assert_eq!(f.sweep().await.due_jobs, 0, "round {round}: not yet");
        assert_eq!(keys(&f, &user).await, vec![current.clone()]);
        clock.advance(1);
        assert_eq!(f.sweep().await.due_jobs, 1, "round {round}: rotated");
        let listed = keys(&f, &user).await;
        assert_eq!(listed.len(), 2, "round {round}: new and old");
        let (next, _) = static_creds(&f, &role, &user).await;
        assert_ne!(next, current);
        assert!(listed.contains(&current), "the old key works for its grace");
        clock.advance(grace - 1);
        assert_eq!(f.sweep().await.due_jobs, 0, "round {round}: grace");
        assert_eq!(keys(&f, &user).await.len(), 2);
        clock.advance(1);
        assert_eq!(f.sweep().await.due_jobs, 1, "round {round}: old deleted");
        assert_eq!(keys(&f, &user).await, vec![next.clone()]);
        current = next;
        until_due = 60 - grace;
    }
}

#[tokio::test]
async fn a_crash_after_each_rotation_step_settles_to_one_current_working_key() {
    let (f, clock) = Fixture::manual().await;
    // Short, so four steps fit in the admin token's hour.
    let period = 120;
    let grace = static_roles::grace_secs(period);
    for step in StaticStep::ALL {
        let user = iam_user(&f, "crash").await;
        let role = unique("crash");
        create_role(&f, &role, &user, "2m").await;
        let (first, _) = static_creds(&f, &role, &user).await;
        clock.advance(period);
        if step == StaticStep::OldDeleted {
            assert_eq!(f.sweep().await.due_jobs, 1);
            clock.advance(grace);
        }
        let report = crashing_sweep(&f, step).await;
        assert_eq!(report.due_jobs, 0, "{step:?}: {report:?}");
        assert!(keys(&f, &user).await.len() <= 2, "{step:?}");
        // static-creds answers with a working key while it is unsettled.
        static_creds(&f, &role, &user).await;
        // The next scheduled runs settle it (an interrupted intent once stale).
        for dt in [1, INTENT_STALE_SECS] {
            clock.advance(dt);
            f.sweep().await;
            assert!(keys(&f, &user).await.len() <= 2, "{step:?}");
        }
        // The superseded key goes at the end of its grace (before the next rotation).
        let app = f.app(Function::Admin);
        let r = static_roles::read(app.store.as_ref(), Mount::DEFAULT, &role)
            .await
            .unwrap()
            .unwrap();
        assert!(
            r.pending.is_none() && r.creating.is_none(),
            "{step:?}: {r:?}"
        );
        if let Some(old) = &r.old {
            assert!(old.until < r.next_rotation());
            clock.advance(old.until - clock.now());
            assert_eq!(f.sweep().await.due_jobs, 1, "{step:?}");
        }
        let (current, _) = static_creds(&f, &role, &user).await;
        assert_ne!(current, first, "{step:?}: rotated");
        assert_eq!(
            keys(&f, &user).await,
            vec![current],
            "{step:?}: exactly the current key, no key Sigil forgot"
        );
        // Deleted, so the next step's sweeps see only their own role.
        let (s, _) = f
            .call(
                "DELETE",
                &format!("/v1/aws/static-roles/{role}"),
                Some(&f.admin),
                None,
            )
            .await;
        assert_eq!(s, 204);
        assert!(keys(&f, &user).await.is_empty(), "{step:?}");
    }
}

#[tokio::test]
async fn disabling_the_mount_removes_its_static_roles() {
    let f = Fixture::new().await;
    let a = Some(f.admin.as_str());
    let path = unique("sa");
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/sys/mounts/{path}"),
            a,
            Some(json!({"type": "aws"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, b) = f.call("GET", "/v1/sys/mounts", a, None).await;
    let uuid = b["data"][format!("{path}/")]["uuid"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = iam_user(&f, "mnt").await;
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/{path}/static-roles/legacy"),
            a,
            Some(json!({"username": user, "rotation_period": "1h"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = f.call("GET", "/v1/aws/static-roles/legacy", a, None).await;
    assert_eq!(s, 404, "not a role of aws/");
    let partition = format!("aws/{uuid}/static-roles");
    let of_mount = |items: Vec<RawItem>| {
        items
            .iter()
            .filter(|i| i.get("pk").and_then(|v| v.as_s().ok()) == Some(&partition))
            .count()
    };
    assert_eq!(of_mount(f.scan().await), 1);
    let (s, _) = f
        .call("DELETE", &format!("/v1/sys/mounts/{path}"), a, None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = f
        .call("GET", &format!("/v1/{path}/static-creds/legacy"), a, None)
        .await;
    assert_eq!(s, 404, "refused at once");
    let report = f.sweep().await;
    assert_eq!(report.mounts_pending, 0, "{report:?}");
    assert_eq!(of_mount(f.scan().await), 0, "the static role is gone");
    assert_eq!(keys(&f, &user).await.len(), 1, "its key stays, as Vault's");
}
