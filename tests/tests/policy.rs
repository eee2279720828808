//! Policies end to end in-process against DynamoDB Local: policies as data, parameter
//! constraints, existence checks (create vs update), sudo, and policy changes reaching
//! existing tokens.

use serde_json::{Value, json};
use sigil_tests::Fixture;

async fn token_with(f: &Fixture, role: &str, policy: &str) -> String {
    f.policy(role, policy).await;
    let (role_id, secret_id) = f.approle(role, json!({ "token_policies": role })).await;
    f.login(&role_id, &secret_id).await
}

#[tokio::test]
async fn policies_as_data_with_clear_errors() {
    let f = Fixture::new().await;
    let a = Some(f.admin.as_str());
    let bad = "path \"secret/*\" {\n  capabilities = [\"read\"]\n}\npath \"x\" {\n  capabilities = [\"reed\"]\n}\n";
    let before = f.scan().await;
    let (s, b) = f
        .call(
            "PUT",
            "/v1/sys/policies/acl/bad",
            a,
            Some(json!({ "policy": bad })),
        )
        .await;
    assert_eq!(s, 400, "{b}");
    let msg = b["errors"][0].as_str().unwrap();
    assert!(msg.contains("line 4") && msg.contains("reed"), "{msg}"); // the path block's line
    for (name, text) in [
        ("bad", "path \"a*b\" { capabilities = [\"read\"] }"),
        ("bad", "path \"x\" {"),
        ("bad", ""),
    ] {
        let (s, _) = f
            .call(
                "PUT",
                &format!("/v1/sys/policies/acl/{name}"),
                a,
                Some(json!({ "policy": text })),
            )
            .await;
        assert_eq!(s, 400, "{text}");
    }
    for (name, status) in [("root", 400), ("Upper", 400)] {
        let (s, _) = f
            .call(
                "PUT",
                &format!("/v1/sys/policies/acl/{name}"),
                a,
                Some(json!({ "policy": "path \"x\" { capabilities = [\"read\"] }" })),
            )
            .await;
        assert_eq!(s, status, "{name}");
    }
    assert_eq!(f.scan().await, before, "invalid policies wrote nothing");

    let json_policy =
        json!({"path": {"secret/data/j/*": {"capabilities": ["read", "list"]}}}).to_string();
    let (s, _) = f
        .call(
            "PUT",
            "/v1/sys/policies/acl/from-json",
            a,
            Some(json!({ "policy": json_policy })),
        )
        .await;
    assert_eq!(s, 204);
    let (s, b) = f
        .call("GET", "/v1/sys/policies/acl/from-json", a, None)
        .await;
    assert_eq!((s, &b["data"]["policy"]), (200, &json!(json_policy)));
    let (s, b) = f.call("LIST", "/v1/sys/policies/acl", a, None).await;
    assert_eq!(
        (s, &b["data"]["keys"]),
        (200, &json!(["default", "from-json", "root"]))
    );
    let (s, _) = f
        .call("DELETE", "/v1/sys/policies/acl/default", a, None)
        .await;
    assert_eq!(s, 400);
    let (s, _) = f
        .call("DELETE", "/v1/sys/policies/acl/from-json", a, None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = f
        .call("GET", "/v1/sys/policies/acl/from-json", a, None)
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn create_versus_update_and_parameter_constraints() {
    let f = Fixture::new().await;
    let token = token_with(
        &f,
        "writer",
        r#"
path "secret/data/new/*" { capabilities = ["create"] }
path "secret/data/old/*" { capabilities = ["update"] }
path "auth/approle/role/*" {
  capabilities = ["create", "update"]
  allowed_parameters = {
    "token_policies" = ["app-*"]
    "token_ttl" = []
  }
  denied_parameters = { "token_ttl" = ["0"] }
}
"#,
    )
    .await;
    let t = Some(token.as_str());
    let a = Some(f.admin.as_str());
    let d = |v: &str| json!({ "data": { "v": v } });
    // create, not update
    assert_eq!(
        f.call("POST", "/v1/secret/data/new/x", t, Some(d("1")))
            .await
            .0,
        200
    );
    assert_eq!(
        f.call("POST", "/v1/secret/data/new/x", t, Some(d("2")))
            .await
            .0,
        403
    );
    // update, not create
    assert_eq!(
        f.call("POST", "/v1/secret/data/old/x", t, Some(d("1")))
            .await
            .0,
        403
    );
    assert_eq!(
        f.call("POST", "/v1/secret/data/old/x", a, Some(d("1")))
            .await
            .0,
        200
    );
    assert_eq!(
        f.call("POST", "/v1/secret/data/old/x", t, Some(d("2")))
            .await
            .0,
        200
    );
    // parameters
    let before = f.scan().await;
    for body in [
        json!({"token_policies": "admin"}),
        json!({"token_policies": "app-a", "secret_id_ttl": "1h"}),
        json!({"token_ttl": "0"}),
    ] {
        let (s, b) = f
            .call(
                "POST",
                "/v1/auth/approle/role/constrained",
                t,
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (s, b),
            (403, json!({"errors": ["permission denied"]})),
            "{body}"
        );
    }
    assert_eq!(f.scan().await, before, "refused writes changed nothing");
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/approle/role/constrained",
            t,
            Some(json!({"token_policies": "app-a", "token_ttl": "1h"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
}

#[tokio::test]
async fn sudo_and_capabilities_self() {
    let f = Fixture::new().await;
    let plain = token_with(
        &f,
        "leases",
        r#"path "sys/leases/revoke-prefix/*" { capabilities = ["update"] }"#,
    )
    .await;
    let sudo = token_with(
        &f,
        "leases-sudo",
        r#"path "sys/leases/revoke-prefix/*" { capabilities = ["update", "sudo"] }"#,
    )
    .await;
    assert_eq!(
        f.call(
            "PUT",
            "/v1/sys/leases/revoke-prefix/aws/creds/x",
            Some(&plain),
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(
        f.call(
            "PUT",
            "/v1/sys/leases/revoke-prefix/aws/creds/x",
            Some(&sudo),
            None
        )
        .await
        .0,
        204
    );
    let (s, b) = f
        .call(
            "POST",
            "/v1/sys/capabilities-self",
            Some(&sudo),
            Some(json!({"paths": [
                "sys/leases/revoke-prefix/a", "secret/data/x", "sys/leases/revoke-prefix/a/../b",
            ]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["data"]["sys/leases/revoke-prefix/a/../b"],
        json!(["deny"]),
        "no request can name a path with a '..' segment"
    );
    assert_eq!(
        b["data"]["sys/leases/revoke-prefix/a"],
        json!(["update", "sudo"])
    );
    assert_eq!(b["data"]["secret/data/x"], json!(["deny"]));
    // As Vault: `capabilities` only when one path was asked; each path's key also at
    // the top level.
    assert_eq!(b["data"]["capabilities"], Value::Null, "{b}");
    assert_eq!(b["secret/data/x"], json!(["deny"]), "{b}");
    let (_, b) = f
        .call(
            "POST",
            "/v1/sys/capabilities-self",
            Some(&f.admin),
            Some(json!({"path": "anything"})),
        )
        .await;
    assert_eq!(b["data"]["anything"], json!(["root"]));
    assert_eq!(b["data"]["capabilities"], json!(["root"]));
    let (_, b) = f
        .call(
            "POST",
            "/v1/sys/capabilities-self",
            Some(&f.admin),
            Some(json!({"paths": ["a/./b", "a//b", "a/b/"]})),
        )
        .await;
    assert_eq!(b["data"]["a/./b"], json!(["deny"]));
    assert_eq!(b["data"]["a//b"], json!(["deny"]));
    assert_eq!(
        b["data"]["a/b/"],
        json!(["root"]),
        "a LIST path ends in '/'"
    );
}

#[tokio::test]
async fn a_policy_change_reaches_existing_tokens_after_the_cache_ttl() {
    let (f, clock) = Fixture::manual().await;
    let token = token_with(
        &f,
        "mover",
        r#"path "secret/data/a" { capabilities = ["read"] }"#,
    )
    .await;
    for p in ["a", "b"] {
        f.call(
            "POST",
            &format!("/v1/secret/data/{p}"),
            Some(&f.admin),
            Some(json!({"data": {"k": p}})),
        )
        .await;
    }
    let issue = f.app(sigil::Function::Issue);
    let get =
        |p: &str| sigil_tests::request("GET", &format!("/v1/secret/data/{p}"), Some(&token), None);
    assert_eq!(issue.handle(get("a")).await.status, 200);
    assert_eq!(issue.handle(get("b")).await.status, 403);
    f.policy(
        "mover",
        r#"path "secret/data/b" { capabilities = ["read"] }"#,
    )
    .await;
    clock.advance(29);
    assert_eq!(issue.handle(get("a")).await.status, 200, "still cached");
    clock.advance(1);
    assert_eq!(
        issue.handle(get("a")).await.status,
        403,
        "the new policy applies after 30 s"
    );
    assert_eq!(issue.handle(get("b")).await.status, 200);
}

#[tokio::test]
async fn escalations_found_by_review_stay_closed() {
    let f = Fixture::new().await;
    let a = Some(f.admin.as_str());
    f.policy(
        "victim",
        r#"path "secret/data/v" { capabilities = ["read"] }"#,
    )
    .await;
    f.call(
        "POST",
        "/v1/auth/approle/role/admin-role",
        a,
        Some(json!({"token_policies": "victim"})),
    )
    .await;
    let token = token_with(
        &f,
        "attacker",
        r#"
path "sys/policies/acl/attacker" { capabilities = ["create"] }
path "sys/policies/acl/*" { capabilities = ["read", "delete", "update"] }
path "sys/policies/acl/victim" { capabilities = ["deny"] }
path "auth/approle/role/*" { capabilities = ["read", "update"] }
path "auth/approle/role/admin-role" { capabilities = ["deny"] }
path "auth/approle/role/+" {
  capabilities = ["create", "update"]
  allowed_parameters = { "token_policies" = ["team-a-*"], "*" = [] }
}
path "auth/approle/role/+/role-id" {
  capabilities = ["read"]
  required_parameters = ["ticket"]
}
"#,
    )
    .await;
    let t = Some(token.as_str());
    let before = f.scan().await;
    let denied = (403, json!({"errors": ["permission denied"]}));
    // `create` alone does not write where Vault has no existence check.
    let own = json!({"policy": "path \"*\" { capabilities = [\"sudo\", \"update\"] }"});
    assert_eq!(
        f.call("PUT", "/v1/sys/policies/acl/attacker", t, Some(own))
            .await,
        denied
    );
    // A trailing slash does not step around an exact deny.
    for (m, p) in [
        ("GET", "/v1/auth/approle/role/admin-role/"),
        ("DELETE", "/v1/sys/policies/acl/victim/"),
    ] {
        assert_eq!(f.call(m, p, t, None).await.0, 404, "{m} {p}");
    }
    assert_eq!(
        f.call("DELETE", "/v1/sys/policies/acl/victim", t, None)
            .await,
        denied
    );
    // Parameter constraints see what takes effect: split lists, resolved aliases, lowercase.
    for body in [
        json!({"token_policies": "team-a-app,admin-ish"}),
        json!({"policies": "admin-ish"}),
        json!({"token_policies": ["TEAM-B-X"]}),
    ] {
        assert_eq!(
            f.call(
                "POST",
                "/v1/auth/approle/role/sneaky",
                t,
                Some(body.clone())
            )
            .await,
            denied,
            "{body}"
        );
    }
    assert_eq!(f.scan().await, before, "nothing written");
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/approle/role/fine",
            t,
            Some(json!({"token_policies": " TEAM-A-App "})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, b) = f.call("GET", "/v1/auth/approle/role/fine", a, None).await;
    assert_eq!(b["data"]["token_policies"], json!(["team-a-app"]));
    // Constraints apply to reads' query parameters too.
    let (s, _) = f
        .call("GET", "/v1/auth/approle/role/fine/role-id?x=1", t, None)
        .await;
    assert_eq!(s, 403, "required parameter missing on a read");
    let (s, _) = f
        .call(
            "GET",
            "/v1/auth/approle/role/fine/role-id?ticket=1",
            t,
            None,
        )
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn kv_delete_undelete_destroy_follow_their_own_paths() {
    let f = Fixture::new().await;
    let a = Some(f.admin.as_str());
    for (p, n) in [("app/x", 2), ("other/y", 1)] {
        for i in 1..=n {
            let (s, _) = f
                .call(
                    "POST",
                    &format!("/v1/secret/data/{p}"),
                    a,
                    Some(json!({"data": {"i": i}})),
                )
                .await;
            assert_eq!(s, 200);
        }
    }
    let token = token_with(
        &f,
        "versions",
        r#"
path "secret/data/app/*" { capabilities = ["read"] }
path "secret/delete/app/*" { capabilities = ["update"] }
path "secret/undelete/app/*" { capabilities = ["update"] }
path "secret/destroy/app/*" { capabilities = ["update"] }
path "secret/destroy/app/keep" { capabilities = ["deny"] }
path "secret/delete/other/*" { capabilities = ["delete"] }
"#,
    )
    .await;
    let t = Some(token.as_str());
    let denied = (403, json!({"errors": ["permission denied"]}));
    let v = |n: i64| Some(json!({ "versions": [n] }));

    // Allowed under secret/*/app/.
    assert_eq!(
        f.call("POST", "/v1/secret/delete/app/x", t, v(2)).await.0,
        204
    );
    assert_eq!(f.call("GET", "/v1/secret/data/app/x", t, None).await.0, 404);
    assert_eq!(
        f.call("POST", "/v1/secret/undelete/app/x", t, v(2)).await.0,
        204
    );
    assert_eq!(f.call("GET", "/v1/secret/data/app/x", t, None).await.0, 200);
    assert_eq!(
        f.call("POST", "/v1/secret/destroy/app/x", t, v(1)).await.0,
        204
    );
    let (s, b) = f
        .call("GET", "/v1/secret/data/app/x?version=1", a, None)
        .await;
    assert_eq!(
        (s, &b["data"]["metadata"]["destroyed"]),
        (404, &json!(true))
    );

    // Denied elsewhere, and by a narrower deny; `delete` is not what POST needs.
    let before = f.scan().await;
    for (p, why) in [
        (
            "/v1/secret/delete/other/y",
            "delete capability, but POST needs update",
        ),
        ("/v1/secret/undelete/other/y", "no rule"),
        ("/v1/secret/destroy/other/y", "no rule"),
        ("/v1/secret/destroy/app/keep", "exact deny beats the glob"),
    ] {
        assert_eq!(f.call("POST", p, t, v(1)).await, denied, "{p}: {why}");
    }
    // Soft-deleting through the data path needs delete on secret/data/...
    assert_eq!(
        f.call("DELETE", "/v1/secret/data/app/x", t, None).await,
        denied
    );
    assert_eq!(f.scan().await, before, "refused requests changed nothing");
    let (s, b) = f.call("GET", "/v1/secret/data/other/y", a, None).await;
    assert_eq!((s, &b["data"]["data"]["i"]), (200, &json!(1)));
}

#[tokio::test]
async fn revoke_force_and_lease_listings_need_sudo() {
    let f = Fixture::new().await;
    let role = sigil_tests::unique("sudo");
    f.aws_iam_role(&role).await;
    let b = f.creds(&role, &f.admin).await;
    let suffix = b["lease_id"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let rules = |extra: &str| {
        format!(
            r#"
path "sys/leases/revoke-force/*" {{ capabilities = ["update"{extra}] }}
path "sys/leases/lookup/*" {{ capabilities = ["list"{extra}] }}
path "sys/leases" {{ capabilities = ["list"{extra}] }}
"#
        )
    };
    let plain = token_with(&f, "leases-plain", &rules("")).await;
    let sudo = token_with(&f, "leases-sudo", &rules(", \"sudo\"")).await;
    let listing = format!("/v1/sys/leases/lookup/aws/creds/{role}/");
    let force = format!("/v1/sys/leases/revoke-force/aws/creds/{role}");
    let denied = (403, json!({"errors": ["permission denied"]}));

    let p = Some(plain.as_str());
    assert_eq!(f.call("LIST", &listing, p, None).await, denied);
    assert_eq!(
        f.call("LIST", "/v1/sys/leases?type=irrevocable", p, None)
            .await,
        denied
    );
    assert_eq!(f.call("PUT", &force, p, None).await, denied);
    assert_eq!(
        f.iam_users(&format!("sigil-bootstrap-{role}-")).await.len(),
        1
    );

    let s = Some(sudo.as_str());
    let (st, b) = f.call("LIST", &listing, s, None).await;
    assert_eq!((st, &b["data"]["keys"]), (200, &json!([suffix])), "{b}");
    let (st, b) = f
        .call("LIST", "/v1/sys/leases?type=irrevocable", s, None)
        .await;
    assert_eq!((st, &b["data"]["lease_count"]), (200, &json!(0)), "{b}");
    assert_eq!(f.call("PUT", &force, s, None).await.0, 204);
    assert!(
        f.iam_users(&format!("sigil-bootstrap-{role}-"))
            .await
            .is_empty(),
        "revoke-force revoked the lease"
    );
    assert_eq!(f.call("LIST", &listing, s, None).await.0, 404);
}

/// Writes the policy `reader` and an AppRole `role` granting it without `default`;
/// returns `(role_id, secret_id)`.
async fn reader_without_default(f: &Fixture, role: &str) -> (String, String) {
    f.policy(
        "reader",
        r#"path "secret/data/r/*" { capabilities = ["read"] }"#,
    )
    .await;
    f.approle(
        role,
        json!({"token_policies": "reader", "token_no_default_policy": true}),
    )
    .await
}

#[tokio::test]
async fn token_no_default_policy_leaves_default_out() {
    let f = Fixture::new().await;
    let (without_id, without_secret) = reader_without_default(&f, "without-default").await;
    let (with_id, with_secret) = f
        .approle("with-default", json!({"token_policies": "reader"}))
        .await;
    let fr = &f;
    let login = |role_id: String, secret_id: String| async move {
        let (s, b) = fr
            .call(
                "POST",
                "/v1/auth/approle/login",
                None,
                Some(json!({"role_id": role_id, "secret_id": secret_id})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b["auth"].clone()
    };
    let with = login(with_id, with_secret).await;
    let without = login(without_id, without_secret).await;
    assert_eq!(with["policies"], json!(["default", "reader"]));
    assert_eq!(without["policies"], json!(["reader"]));
    assert_eq!(without["token_policies"], json!(["reader"]));

    let token = without["client_token"].as_str().unwrap();
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/token/lookup",
            Some(&f.admin),
            Some(json!({ "token": token })),
        )
        .await;
    assert_eq!((s, &b["data"]["policies"]), (200, &json!(["reader"])));
    let denied = (403, json!({"errors": ["permission denied"]}));
    assert_eq!(
        f.call("GET", "/v1/auth/token/lookup-self", Some(token), None)
            .await,
        denied
    );
    let with_token = with["client_token"].as_str().unwrap();
    assert_eq!(
        f.call("GET", "/v1/auth/token/lookup-self", Some(with_token), None)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn the_renew_function_refuses_what_policies_do_not_allow() {
    let f = Fixture::new().await;
    let (role_id, secret_id) = f
        .approle("plain", json!({"token_policies": "default"}))
        .await;
    let plain = f.login(&role_id, &secret_id).await;
    let (role_id, secret_id) = reader_without_default(&f, "bare").await;
    let bare = f.login(&role_id, &secret_id).await;
    let renew = f.app(sigil::Function::Renew);
    let config = sigil::mounts::initial_table(&f.config());
    let send = |method: &str, path: &str, token: &str, body: serde_json::Value| {
        let resolved = sigil::route::resolve(&config, method, path, false).unwrap();
        assert_eq!(resolved.function(), sigil::Function::Renew, "{path}");
        renew.handle(sigil_tests::request(method, path, Some(token), Some(body)))
    };
    let denied = |r: sigil::http::ApiResponse| {
        assert_eq!(
            (r.status, r.body),
            (403, Some(json!({"errors": ["permission denied"]})))
        );
    };
    // The default policy renews the token itself, not another token.
    denied(
        send(
            "POST",
            "/v1/auth/token/renew",
            &plain,
            json!({"token": f.admin, "increment": "1h"}),
        )
        .await,
    );
    let r = send("POST", "/v1/auth/token/renew-self", &plain, json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // Without the default policy, not even itself, nor a lease.
    denied(send("POST", "/v1/auth/token/renew-self", &bare, json!({})).await);
    denied(
        send(
            "PUT",
            "/v1/sys/leases/renew",
            &bare,
            json!({"lease_id": "aws/creds/x/abc"}),
        )
        .await,
    );
}

/// Found by a fresh user's check (stop 24): KV v2 data paths were exempt from
/// parameter constraints; OpenBao judges their top-level parameters (`version` on a
/// read, `data` and `options` on a write), and so does Sigil now.
#[tokio::test]
async fn kv_data_paths_are_judged_on_their_top_level_parameters() {
    let f = Fixture::new().await;
    for v in ["old", "new"] {
        let (s, b) = f
            .call(
                "POST",
                "/v1/secret/data/raw/multi",
                Some(&f.admin),
                Some(json!({"data": {"pw": v}})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    f.policy(
        "raw-latest",
        "path \"secret/data/raw/*\" {\n  capabilities = [\"read\", \"create\", \"update\"]\n  denied_parameters = { \"version\" = [] }\n  allowed_parameters = { \"data\" = [], \"version\" = [] }\n}\n",
    )
    .await;
    f.policy(
        "raw-versioned",
        "path \"secret/data/raw/*\" {\n  capabilities = [\"read\"]\n  required_parameters = [\"version\"]\n}\n",
    )
    .await;
    let token = |policy: &'static str| {
        let f = &f;
        async move {
            let (r, s) = f.approle(policy, json!({"token_policies": policy})).await;
            f.login(&r, &s).await
        }
    };
    let latest = token("raw-latest").await;
    let versioned = token("raw-versioned").await;
    let read = |t: &str, q: &str| {
        let path = format!("/v1/secret/data/raw/multi{q}");
        let t = t.to_owned();
        let f = &f;
        async move { f.call("GET", &path, Some(&t), None).await }
    };
    let (s, b) = read(&latest, "").await;
    assert_eq!((s, &b["data"]["data"]["pw"]), (200, &json!("new")), "{b}");
    let (s, b) = read(&latest, "?version=1").await;
    assert_eq!(s, 403, "a denied version: {b}");
    let (s, _) = read(&versioned, "").await;
    assert_eq!(s, 403, "a required version missing");
    let (s, b) = read(&versioned, "?version=1").await;
    assert_eq!((s, &b["data"]["data"]["pw"]), (200, &json!("old")), "{b}");
    // A write's `options` is not in allowed_parameters: refused, nothing written.
    let (s, _) = f
        .call(
            "POST",
            "/v1/secret/data/raw/multi",
            Some(&latest),
            Some(json!({"data": {"pw": "x"}, "options": {"cas": 2}})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, b) = f
        .call(
            "POST",
            "/v1/secret/data/raw/multi",
            Some(&latest),
            Some(json!({"data": {"pw": "newer"}})),
        )
        .await;
    assert_eq!((s, &b["data"]["version"]), (200, &json!(3)), "{b}");
}
