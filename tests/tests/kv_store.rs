//! KV v2 against DynamoDB Local: envelope encryption at rest, check-and-set, and the
//! binding of a ciphertext to its item.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;
use sigil_tests::Fixture;

fn raw_bytes(item: &std::collections::HashMap<String, AttributeValue>) -> Vec<u8> {
    let mut out = Vec::new();
    for v in item.values() {
        match v {
            AttributeValue::S(s) => out.extend(s.as_bytes()),
            AttributeValue::B(b) => out.extend(b.as_ref()),
            other => out.extend(format!("{other:?}").as_bytes()),
        }
    }
    out
}

#[tokio::test]
async fn stored_items_hold_no_plaintext() {
    let f = Fixture::new().await;
    let secret = "correct-horse-battery-staple";
    let (s, _) = f
        .call(
            "POST",
            "/v1/secret/data/app/db",
            Some(&f.admin),
            Some(json!({"data": {"password": secret, "user_name": "svc"}})),
        )
        .await;
    assert_eq!(s, 200);
    // An AppRole secret ID (and the token it logs in to) is stored only as a hash.
    let (role_id, secret_id) = f
        .approle("hashed", json!({"token_policies": "default"}))
        .await;
    let token = f.login(&role_id, &secret_id).await;
    let items = f.scan().await;
    assert!(
        items.iter().any(|i| i.contains_key("ciphertext")),
        "a version item exists"
    );
    assert!(
        items
            .iter()
            .any(|i| i["pk"].as_s().unwrap().starts_with("approle/secret_id/")),
        "a secret ID item exists"
    );
    for item in &items {
        let bytes = raw_bytes(item);
        for needle in [
            secret.as_bytes(),
            b"user_name",
            b"svc",
            f.admin.as_bytes(),
            secret_id.as_bytes(),
            token.as_bytes(),
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "plaintext found in {:?}",
                item.get("pk")
            );
        }
    }
}

#[tokio::test]
async fn ciphertext_moved_to_another_path_fails_to_decrypt() {
    let f = Fixture::new().await;
    for (p, v) in [("a", "value-a"), ("b", "value-b")] {
        let (s, _) = f
            .call(
                "POST",
                &format!("/v1/secret/data/{p}"),
                Some(&f.admin),
                Some(json!({"data": {"k": v}})),
            )
            .await;
        assert_eq!(s, 200);
    }
    let client = sigil::aws::dynamodb_client(&f.sdk, None);
    let key = |p: &str| {
        std::collections::HashMap::from([
            ("pk".to_owned(), AttributeValue::S(format!("kv/secret/{p}"))),
            (
                "sk".to_owned(),
                AttributeValue::S("v/0000000001".to_owned()),
            ),
        ])
    };
    let b = client
        .get_item()
        .table_name(&f.table)
        .set_key(Some(key("b")))
        .send()
        .await
        .unwrap();
    let ct = b.item().unwrap()["ciphertext"].clone();
    client
        .update_item()
        .table_name(&f.table)
        .set_key(Some(key("a")))
        .update_expression("SET ciphertext = :c")
        .expression_attribute_values(":c", ct)
        .send()
        .await
        .unwrap();
    let (s, body) = f
        .call("GET", "/v1/secret/data/a", Some(&f.admin), None)
        .await;
    assert_eq!(s, 500);
    assert_eq!(
        body,
        json!({"errors": ["stored value failed its integrity check"]})
    );
    let (s, body) = f
        .call("GET", "/v1/secret/data/b", Some(&f.admin), None)
        .await;
    assert_eq!((s, &body["data"]["data"]["k"]), (200, &json!("value-b")));
}

#[tokio::test]
async fn cas_zero_on_existing_key_is_400_and_changes_nothing() {
    let f = Fixture::new().await;
    let path = "/v1/secret/data/cas";
    let (s, _) = f
        .call(
            "POST",
            path,
            Some(&f.admin),
            Some(json!({"data": {"v": "1"}, "options": {"cas": 0}})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = f
        .call(
            "POST",
            path,
            Some(&f.admin),
            Some(json!({"data": {"v": "2"}, "options": {"cas": 1}})),
        )
        .await;
    assert_eq!(s, 200);
    let before = f.scan().await;
    let (s, b) = f
        .call(
            "POST",
            path,
            Some(&f.admin),
            Some(json!({"data": {"v": "3"}, "options": {"cas": 0}})),
        )
        .await;
    assert_eq!(
        (s, b),
        (
            400,
            json!({"errors": ["check-and-set parameter did not match the current version"]})
        )
    );
    let (s, _) = f
        .call(
            "POST",
            path,
            Some(&f.admin),
            Some(json!({"data": {"v": "3"}, "options": {"cas": 1}})),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(f.scan().await, before, "stored versions unchanged");
    let (_, m) = f
        .call("GET", "/v1/secret/metadata/cas", Some(&f.admin), None)
        .await;
    assert_eq!(m["data"]["current_version"], 2);
}

#[tokio::test]
async fn versions_metadata_delete_undelete_destroy_list() {
    let f = Fixture::new().await;
    let t = Some(f.admin.as_str());
    for i in 1..=3 {
        let (s, _) = f
            .call(
                "POST",
                "/v1/secret/data/team/app",
                t,
                Some(json!({"data": {"i": i}})),
            )
            .await;
        assert_eq!(s, 200);
    }
    let (_, b) = f
        .call("GET", "/v1/secret/data/team/app?version=2", t, None)
        .await;
    assert_eq!(b["data"]["data"]["i"], 2);
    let (s, _) = f.call("DELETE", "/v1/secret/data/team/app", t, None).await;
    assert_eq!(s, 204);
    let (s, b) = f.call("GET", "/v1/secret/data/team/app", t, None).await;
    assert_eq!(s, 404);
    assert_ne!(b["data"]["metadata"]["deletion_time"], "");
    let (s, _) = f
        .call(
            "POST",
            "/v1/secret/undelete/team/app",
            t,
            Some(json!({"versions": [3]})),
        )
        .await;
    assert_eq!(s, 204);
    let (s, _) = f.call("GET", "/v1/secret/data/team/app", t, None).await;
    assert_eq!(s, 200);
    let (s, _) = f
        .call(
            "POST",
            "/v1/secret/destroy/team/app",
            t,
            Some(json!({"versions": [1]})),
        )
        .await;
    assert_eq!(s, 204);
    let (s, b) = f
        .call("GET", "/v1/secret/data/team/app?version=1", t, None)
        .await;
    assert_eq!(
        (s, &b["data"]["metadata"]["destroyed"]),
        (404, &json!(true))
    );
    let (s, b) = f.call("LIST", "/v1/secret/metadata/team/", t, None).await;
    assert_eq!((s, &b["data"]["keys"]), (200, &json!(["app"])));
    let (s, b) = f
        .call("GET", "/v1/secret/metadata/?list=true", t, None)
        .await;
    assert_eq!((s, &b["data"]["keys"]), (200, &json!(["team/"])));
    let (s, m) = f.call("GET", "/v1/secret/metadata/team/app", t, None).await;
    assert_eq!(s, 200);
    assert_eq!(m["data"]["current_version"], 3);
    assert_eq!(m["data"]["versions"]["1"]["destroyed"], true);
    let (s, _) = f
        .call("DELETE", "/v1/secret/metadata/team/app", t, None)
        .await;
    assert_eq!(s, 204);
    let (s, b) = f.call("GET", "/v1/secret/data/team/app", t, None).await;
    assert_eq!((s, b), (404, json!({"errors": []})));
}

#[tokio::test]
async fn a_second_kv_mount_serves_and_an_unconfigured_one_is_no_route() {
    let mut f = Fixture::new().await;
    f.kv_mounts = vec!["secret".into(), "team-kv".into()];
    let t = Some(f.admin.as_str());
    let (s, b) = f
        .call(
            "POST",
            "/v1/team-kv/data/app/db",
            t,
            Some(json!({"data": {"password": "on-team-kv"}})),
        )
        .await;
    assert_eq!((s, &b["data"]["version"]), (200, &json!(1)), "{b}");
    let (s, b) = f.call("GET", "/v1/team-kv/data/app/db", t, None).await;
    assert_eq!(
        (s, &b["data"]["data"]["password"]),
        (200, &json!("on-team-kv"))
    );
    let (s, b) = f.call("LIST", "/v1/team-kv/metadata/app/", t, None).await;
    assert_eq!((s, &b["data"]["keys"]), (200, &json!(["db"])));
    // Mounts are separate: the same path under `secret` does not exist.
    let (s, b) = f.call("GET", "/v1/secret/data/app/db", t, None).await;
    assert_eq!((s, b), (404, json!({"errors": []})));
    // A mount that is not configured is not a KV mount at all: Vault's no-route error.
    let before = f.scan().await;
    for (m, p) in [
        ("GET", "other-kv/data/app/db"),
        ("POST", "other-kv/data/app/db"),
    ] {
        let (s, b) = f
            .call(m, &format!("/v1/{p}"), t, Some(json!({"data": {"k": "v"}})))
            .await;
        assert_eq!(
            (s, b),
            (
                404,
                json!({"errors": [format!("no handler for route \"{p}\". route entry not found.")]})
            ),
            "{m} {p}"
        );
    }
    assert_eq!(
        f.scan().await,
        before,
        "nothing written at an unknown mount"
    );
}

#[tokio::test]
async fn max_versions_from_metadata_is_reported_and_drops_the_oldest() {
    let f = Fixture::new().await;
    let t = Some(f.admin.as_str());
    let (s, b) = f
        .call(
            "POST",
            "/v1/secret/metadata/capped",
            t,
            Some(json!({"max_versions": 2})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, m) = f.call("GET", "/v1/secret/metadata/capped", t, None).await;
    assert_eq!((s, &m["data"]["max_versions"]), (200, &json!(2)), "{m}");
    for i in 1..=4 {
        let (s, b) = f
            .call(
                "POST",
                "/v1/secret/data/capped",
                t,
                Some(json!({"data": {"i": i}})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, m) = f.call("GET", "/v1/secret/metadata/capped", t, None).await;
    assert_eq!(s, 200);
    assert_eq!(m["data"]["max_versions"], 2);
    assert_eq!(m["data"]["current_version"], 4);
    assert_eq!(m["data"]["oldest_version"], 3);
    let mut kept: Vec<&String> = m["data"]["versions"].as_object().unwrap().keys().collect();
    kept.sort();
    assert_eq!(kept, ["3", "4"], "{m}");
    for v in [1, 2] {
        let (s, _) = f
            .call(
                "GET",
                &format!("/v1/secret/data/capped?version={v}"),
                t,
                None,
            )
            .await;
        assert_eq!(s, 404, "version {v} was dropped");
    }
    let (s, b) = f
        .call("GET", "/v1/secret/data/capped?version=3", t, None)
        .await;
    assert_eq!((s, &b["data"]["data"]["i"]), (200, &json!(3)));
    let stored = f
        .scan()
        .await
        .iter()
        .filter(|i| i.contains_key("ciphertext"))
        .count();
    assert_eq!(stored, 2, "only two version items remain in the table");
    // Without max_versions on the secret, the metadata reports 0 (the mount's default
    // applies), as Vault does.
    f.call(
        "POST",
        "/v1/secret/data/uncapped",
        t,
        Some(json!({"data": {"k": "v"}})),
    )
    .await;
    let (_, m) = f.call("GET", "/v1/secret/metadata/uncapped", t, None).await;
    assert_eq!(m["data"]["max_versions"], 0, "{m}");
}
