//! Dynamic IAM users against moto's IAM: issue, use, renew, revoke; and a crash after
//! each step of the issue path leaves nothing behind once the sweeper has run.

use std::sync::Arc;

use serde_json::json;
use sigil::Function;
use sigil::aws_engine::issue::{CrashAfter, IssueStep};
use sigil_tests::{Fixture, request, unique};

#[tokio::test]
async fn issue_use_renew_revoke_an_iam_user() {
    let (f, clock) = Fixture::manual().await;
    let role = unique("deploy");
    f.aws_iam_role(&role).await;
    let prefix = format!("sigil-bootstrap-{role}-");

    let (s, b) = f
        .call(
            "GET",
            &format!("/v1/aws/creds/{role}"),
            Some(&f.admin),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let lease_id = b["lease_id"].as_str().unwrap().to_owned();
    assert!(lease_id.starts_with(&format!("aws/creds/{role}/")));
    assert_eq!(
        (b["lease_duration"].as_i64(), b["renewable"].as_bool()),
        (Some(60), Some(true))
    );
    let access_key = b["data"]["access_key"].as_str().unwrap().to_owned();
    let secret_key = b["data"]["secret_key"].as_str().unwrap().to_owned();
    assert_eq!(f.iam_users(&prefix).await.len(), 1);

    // Use: moto's STS knows whose key it is.
    let creds =
        aws_credential_types::Credentials::new(access_key.clone(), secret_key, None, None, "test");
    let sts_conf = aws_sdk_sts::config::Builder::from(&f.sdk)
        .credentials_provider(creds)
        .build();
    let who = aws_sdk_sts::Client::from_conf(sts_conf)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert!(who.arn().unwrap().contains(&prefix), "{:?}", who.arn());

    clock.advance(30);
    let (s, b) = f
        .call(
            "PUT",
            "/v1/sys/leases/renew",
            Some(&f.admin),
            Some(json!({"lease_id": lease_id, "increment": "10m"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["lease_duration"], 90,
        "capped at lease_max (120 s from issue)"
    );

    let (s, _) = f
        .call(
            "PUT",
            "/v1/sys/leases/revoke",
            Some(&f.admin),
            Some(json!({"lease_id": lease_id})),
        )
        .await;
    assert_eq!(s, 204);
    assert!(
        f.iam_users(&prefix).await.is_empty(),
        "the user no longer exists in IAM"
    );
    let (s, _) = f
        .call(
            "PUT",
            "/v1/sys/leases/lookup",
            Some(&f.admin),
            Some(json!({"lease_id": lease_id})),
        )
        .await;
    assert_eq!(s, 400, "the lease is gone");
}

#[tokio::test]
async fn a_crash_after_any_step_is_cleaned_up_by_one_sweep() {
    let (f, clock) = Fixture::manual().await;
    let role = unique("crash");
    f.aws_iam_role(&role).await;
    let prefix = format!("sigil-bootstrap-{role}-");
    for step in IssueStep::ALL {
        let mut issue = f.app(Function::Issue);
        issue.failpoints = Arc::new(CrashAfter(step));
        let resp = issue
            .handle(request(
                "GET",
                &format!("/v1/aws/creds/{role}"),
                Some(&f.admin),
                None,
            ))
            .await;
        assert_eq!(resp.status, 500, "{step:?}: {:?}", resp.body);
    }
    assert!(
        f.iam_users(&prefix).await.len() >= 3,
        "crashes left users behind"
    );
    clock.advance(sigil::lease::PENDING_GRACE_SECS + 1);
    let report = f.sweep().await;
    assert_eq!(report.leases, 4, "{report:?}");
    assert!(
        f.iam_users(&prefix).await.is_empty(),
        "no IAM user without a lease"
    );
    let pending = f
        .scan()
        .await
        .iter()
        .filter(|i| i["pk"].as_s().unwrap().starts_with("lease/"))
        .count();
    assert_eq!(pending, 0, "no lease left pending");
}

#[tokio::test]
async fn sts_credentials_are_not_renewable_and_last_their_ttl() {
    let f = Fixture::new().await;
    let a = Some(f.admin.as_str());
    let role = unique("assume");
    let arn = "arn:aws:iam::123456789012:role/deployer";
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/aws/roles/{role}"),
            a,
            Some(
                json!({"credential_type": "assumed_role", "role_arns": [arn], "max_sts_ttl": "2h"}),
            ),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/aws/sts/{role}"),
            a,
            Some(json!({"ttl": "30m"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let duration = b["lease_duration"].as_i64().unwrap();
    // STS stamps the expiry from its own clock, which may tick past the
    // second Sigil read before the call: allow one second either way.
    assert!(
        (1790..=1801).contains(&duration),
        "lease_duration is the credentials' lifetime: {duration}"
    );
    assert_eq!(b["renewable"], false);
    assert!(
        b["data"]["security_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let lease_id = b["lease_id"].as_str().unwrap().to_owned();
    let (s, b) = f
        .call(
            "PUT",
            "/v1/sys/leases/renew",
            a,
            Some(json!({"lease_id": lease_id})),
        )
        .await;
    assert_eq!((s, b), (400, json!({"errors": ["lease is not renewable"]})));
    for (body, why) in [
        (json!({"ttl": "3h"}), "over max_sts_ttl"),
        (json!({"ttl": "5m"}), "under STS's 15 minutes"),
        (
            json!({"role_arn": "arn:aws:iam::123456789012:role/other"}),
            "a role ARN the role does not list",
        ),
    ] {
        let (s, _) = f
            .call("POST", &format!("/v1/aws/sts/{role}"), a, Some(body))
            .await;
        assert_eq!(s, 400, "{why}");
    }
    let (s, b) = f
        .call("GET", &format!("/v1/aws/creds/{role}?ttl=1h"), a, None)
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = f
        .call(
            "PUT",
            "/v1/sys/leases/revoke",
            a,
            Some(json!({"lease_id": lease_id})),
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = f
        .call(
            "PUT",
            "/v1/sys/leases/lookup",
            a,
            Some(json!({"lease_id": lease_id})),
        )
        .await;
    assert_eq!(s, 400, "revoking removed the record");
}

/// The issue "Crash and concurrency correctness", finding 6: a use-limited token's last
/// use used to delete the token before the request ran, so `aws/creds` answered 403
/// having spent the use, and the IAM users of its earlier uses lived to their own
/// expiry. Now, as in Vault: the last use runs, a leased secret is refused with Vault's
/// 400 (nothing is created), and the token is revoked with every lease it holds.
#[tokio::test]
async fn the_last_use_of_a_token_revokes_it_and_its_leases() {
    let f = Fixture::new().await;
    let role = unique("lastuse");
    f.aws_iam_role(&role).await;
    let policy = unique("creds");
    f.policy(
        &policy,
        &format!("path \"aws/creds/{role}\" {{ capabilities = [\"read\"] }}"),
    )
    .await;
    let (role_id, secret_id) = f
        .approle(
            &unique("uses"),
            json!({"token_policies": policy, "token_num_uses": 2}),
        )
        .await;
    let token = f.login(&role_id, &secret_id).await;
    let users = || async {
        f.iam_users("sigil-")
            .await
            .into_iter()
            .filter(|u| u.contains(&role))
            .count()
    };

    let first = f.creds(&role, &token).await;
    let lease_id = first["lease_id"].as_str().unwrap().to_owned();
    assert_eq!(users().await, 1);

    let (s, b) = f
        .call("GET", &format!("/v1/aws/creds/{role}"), Some(&token), None)
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        b["errors"][0],
        "Secret cannot be returned; token had one use left, so leased credentials were immediately revoked."
    );
    assert_eq!(users().await, 0, "the first use's user went with the token");
    let (s, b) = f
        .call(
            "PUT",
            "/v1/sys/leases/lookup",
            Some(&f.admin),
            Some(json!({"lease_id": lease_id})),
        )
        .await;
    assert_eq!(s, 400, "the lease is gone: {b}");
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 403, "the token is revoked");
}

/// The token tree with real IAM users (issue "Token store"): a parent, its child and
/// grandchild (depth 3) and a batch grandchild each hold AWS credentials; revoking the
/// parent refuses all of them at once and, with the sweeper, deletes every IAM user in
/// moto. An orphan's user stays.
#[tokio::test]
async fn revoking_a_parent_deletes_its_descendants_iam_users() {
    let f = Fixture::new().await;
    let role = unique("tree");
    f.aws_iam_role(&role).await;
    let policy = unique("treecreds");
    f.policy(
        &policy,
        &format!(
            "path \"aws/creds/{role}\" {{ capabilities = [\"read\"] }}\n\
             path \"auth/token/create\" {{ capabilities = [\"update\"] }}"
        ),
    )
    .await;
    let create = |by: String, body: serde_json::Value| {
        let f = &f;
        async move {
            let (s, b) = f
                .call("POST", "/v1/auth/token/create", Some(&by), Some(body))
                .await;
            assert_eq!(s, 200, "{b}");
            b["auth"]["client_token"].as_str().unwrap().to_owned()
        }
    };
    let parent = create(f.admin.clone(), json!({"policies": [policy]})).await;
    let child = create(parent.clone(), json!({})).await;
    let grandchild = create(child.clone(), json!({})).await;
    let batch = create(child.clone(), json!({"type": "batch"})).await;
    let orphan = create(
        f.admin.clone(),
        json!({"policies": [policy], "no_parent": true}),
    )
    .await;
    let users = || async {
        f.iam_users("sigil-")
            .await
            .into_iter()
            .filter(|u| u.contains(&role))
            .count()
    };
    for t in [&parent, &child, &grandchild, &batch, &orphan] {
        f.creds(&role, t).await;
    }
    assert_eq!(users().await, 5);

    let (s, _) = f
        .call("POST", "/v1/auth/token/revoke-self", Some(&parent), None)
        .await;
    assert_eq!(s, 204);
    for t in [&parent, &child, &grandchild, &batch] {
        let (s, _) = f
            .call("GET", "/v1/auth/token/lookup-self", Some(t), None)
            .await;
        assert_eq!(s, 403, "refused at once");
    }
    for _ in 0..3 {
        f.sweep().await;
    }
    assert_eq!(users().await, 1, "only the orphan's user is left");
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&orphan), None)
        .await;
    assert_eq!(s, 200);
}

/// Found by a fresh user's check (stop 24): a policy allowing one of a role's ARNs
/// was stepped around by repeating `role_arn` in the query (the handler read the
/// first, the policy judged the last) or by a JSON body on the GET (the handler read
/// it, the policy judged only the query), and admin credentials came out. A repeated
/// query parameter is refused, a GET's body ignored (as Vault), and the policy judges
/// what the handler reads.
#[tokio::test]
async fn a_policys_allowed_role_arn_cannot_be_stepped_around() {
    let f = Fixture::new().await;
    let role = unique("multi");
    let ro = "arn:aws:iam::123456789012:role/readonly";
    let ad = "arn:aws:iam::123456789012:role/admin";
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/aws/roles/{role}"),
            Some(&f.admin),
            Some(json!({"credential_type": "assumed_role", "role_arns": [ro, ad]})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    f.policy(
        &format!("{role}-ro"),
        &format!(
            "path \"aws/creds/{role}\" {{\n  capabilities = [\"read\"]\n  allowed_parameters = {{ \"role_arn\" = [\"{ro}\"] }}\n}}\n"
        ),
    )
    .await;
    let (role_id, secret_id) = f
        .approle(&role, json!({"token_policies": format!("{role}-ro")}))
        .await;
    let token = f.login(&role_id, &secret_id).await;
    let t = Some(token.as_str());
    let creds = |q: String| format!("/v1/aws/creds/{role}{q}");
    let (s, _) = f
        .call("GET", &creds(format!("?role_arn={ad}")), t, None)
        .await;
    assert_eq!(s, 403, "the admin ARN");
    let (s, b) = f
        .call(
            "GET",
            &creds(format!("?role_arn={ad}&role_arn={ro}")),
            t,
            None,
        )
        .await;
    assert_eq!(s, 400, "a repeated parameter: {b}");
    assert!(!b.to_string().contains("role/admin"), "{b}");
    let (s, b) = f
        .call(
            "GET",
            &creds(String::new()),
            t,
            Some(json!({"role_arn": ad})),
        )
        .await;
    assert_ne!(s, 200, "a GET's body is not a parameter: {b}");
    assert!(
        b["data"].is_null() && !b.to_string().contains("role/admin"),
        "{b}"
    );
    let (s, b) = f
        .call("GET", &creds(format!("?role_arn={ro}")), t, None)
        .await;
    assert_eq!(s, 200, "the allowed ARN: {b}");
    assert_eq!(
        b["data"]["arn"].as_str().map(|a| a.contains("readonly")),
        Some(true),
        "{b}"
    );
}
