//! The transit engine on the local stack (DynamoDB Local, moto's KMS): a mount enabled
//! at run time, keys created, read, listed, configured, rotated, trimmed and deleted;
//! encryption, rotation and rewrap; signatures and HMACs of every key type; hostile
//! input answered with 400 and Vault's texts; policies on transit paths; keys sealed
//! at rest; a warm operation makes no KMS call; a disabled mount's keys are swept.

use serde_json::{Value, json};
use sigil::clock::Clock;
use sigil::route::Function;
use sigil_tests::{Fixture, request, unique};

const TOO_OLD: &str = "ciphertext or signature version is disallowed by policy (too old)";

/// A transit engine enabled at a fresh path of `f`.
async fn transit(f: &Fixture) -> Mount<'_> {
    let path = unique("transit");
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/sys/mounts/{path}"),
            Some(&f.admin),
            Some(json!({"type": "transit"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    Mount { f, m: path }
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn unb64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// A transit mount of a fixture.
struct Mount<'a> {
    f: &'a Fixture,
    m: String,
}

impl Mount<'_> {
    /// `POST /v1/{m}/{op}` as the admin, asserting `status`; returns the body.
    async fn post(&self, op: &str, body: Value, status: u16) -> Value {
        let (s, b) = self
            .f
            .call(
                "POST",
                &format!("/v1/{}/{op}", self.m),
                Some(&self.f.admin),
                Some(body),
            )
            .await;
        assert_eq!(s, status, "POST {op}: {b}");
        b
    }
}

fn error(b: &Value) -> &str {
    b["errors"][0].as_str().unwrap_or_default()
}

#[tokio::test]
async fn keys_are_created_read_listed_configured_rotated_trimmed_and_deleted() {
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let m = tm.m.clone();
    let b = tm.post("keys/app", json!({}), 200).await;
    let d = &b["data"];
    assert_eq!(d["type"], "aes256-gcm96");
    assert_eq!(d["latest_version"], 1);
    assert_eq!(d["min_decryption_version"], 1);
    assert!(d["keys"]["1"].is_i64(), "{d}");
    for t in ["ed25519", "ecdsa-p256", "rsa-2048", "chacha20-poly1305"] {
        tm.post(&format!("keys/{t}"), json!({"type": t}), 200).await;
    }
    tm.post("keys/mac", json!({"type": "hmac", "key_size": 64}), 200)
        .await;
    let (s, b) = f
        .call(
            "GET",
            &format!("/v1/{m}/keys/ecdsa-p256"),
            Some(&f.admin),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let k = &b["data"]["keys"]["1"];
    assert_eq!(k["name"], "P-256");
    assert!(
        k["public_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----\n")
    );
    let text = b.to_string();
    assert!(!text.contains("PRIVATE"), "{text}");
    let (s, b) = f
        .call("LIST", &format!("/v1/{m}/keys"), Some(&f.admin), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        b["data"]["keys"],
        json!([
            "app",
            "chacha20-poly1305",
            "ecdsa-p256",
            "ed25519",
            "mac",
            "rsa-2048"
        ])
    );
    let (s, _) = f
        .call("GET", &format!("/v1/{m}/keys/none"), Some(&f.admin), None)
        .await;
    assert_eq!(s, 404);

    for _ in 0..3 {
        tm.post("keys/app/rotate", json!({}), 200).await;
    }
    let b = tm
        .post(
            "keys/app/config",
            json!({"min_decryption_version": 3, "min_encryption_version": 4}),
            200,
        )
        .await;
    assert_eq!(
        b["data"]["keys"].as_object().unwrap().len(),
        2,
        "versions 3 and 4 shown"
    );
    let b = tm
        .post("keys/app/config", json!({"min_decryption_version": 9}), 400)
        .await;
    assert_eq!(
        error(&b),
        "cannot set min decryption version of 9, latest key version is 4"
    );
    let b = tm
        .post("keys/app/trim", json!({"min_available_version": 3}), 200)
        .await;
    assert_eq!(b["data"]["min_available_version"], 3);
    let b = tm
        .post("keys/app/trim", json!({"min_available_version": 2}), 400)
        .await;
    assert_eq!(error(&b), "minimum available version cannot be decremented");

    let (s, b) = f
        .call("DELETE", &format!("/v1/{m}/keys/app"), Some(&f.admin), None)
        .await;
    assert_eq!(
        (s, error(&b)),
        (
            400,
            "error deleting policy app: deletion is not allowed for this key"
        )
    );
    tm.post("keys/app/config", json!({"deletion_allowed": true}), 200)
        .await;
    let (s, _) = f
        .call("DELETE", &format!("/v1/{m}/keys/app"), Some(&f.admin), None)
        .await;
    assert_eq!(s, 204);
    let (s, b) = f
        .call("DELETE", &format!("/v1/{m}/keys/app"), Some(&f.admin), None)
        .await;
    assert_eq!(
        (s, error(&b)),
        (
            400,
            "error deleting policy app: could not delete key; not found"
        )
    );
}

#[tokio::test]
async fn rotation_min_decryption_version_and_rewrap() {
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let plain = b64(b"card 4111-1111-1111-1111");
    // Encrypting with a missing key creates it (Vault's upsert).
    let b = tm
        .post("encrypt/orders", json!({"plaintext": plain}), 200)
        .await;
    let v1 = b["data"]["ciphertext"].as_str().unwrap().to_owned();
    assert!(v1.starts_with("vault:v1:"), "{v1}");
    tm.post("keys/orders/rotate", json!({}), 200).await;
    assert!(
        tm.encrypt("orders", b"card 4111-1111-1111-1111")
            .await
            .starts_with("vault:v2:")
    );
    // Old versions still decrypt.
    let b = tm
        .post("decrypt/orders", json!({"ciphertext": v1}), 200)
        .await;
    assert_eq!(b["data"]["plaintext"], plain);
    // Rewrap moves the ciphertext to the newest version.
    let b = tm
        .post("rewrap/orders", json!({"ciphertext": v1}), 200)
        .await;
    let v2 = b["data"]["ciphertext"].as_str().unwrap().to_owned();
    assert!(v2.starts_with("vault:v2:"));
    assert_eq!(b["data"]["key_version"], 2);
    // min_decryption_version refuses older ones.
    tm.post(
        "keys/orders/config",
        json!({"min_decryption_version": 2}),
        200,
    )
    .await;
    let b = tm
        .post("decrypt/orders", json!({"ciphertext": v1}), 400)
        .await;
    assert_eq!(error(&b), TOO_OLD);
    let b = tm
        .post("decrypt/orders", json!({"ciphertext": v2}), 200)
        .await;
    assert_eq!(b["data"]["plaintext"], plain);

    // A batch reports each item's error in its place, and answers 400.
    let b = tm
        .post(
            "decrypt/orders",
            json!({"batch_input": [
                {"ciphertext": v2, "reference": "ok"},
                {"ciphertext": v1, "reference": "old"},
                {"ciphertext": "vault:v1"},
            ]}),
            400,
        )
        .await;
    let r = &b["data"]["batch_results"];
    assert_eq!(r[0]["plaintext"], plain);
    assert_eq!(r[0]["reference"], "ok");
    assert_eq!(r[1]["error"], TOO_OLD);
    assert_eq!(r[1]["reference"], "old");
    assert_eq!(r[2]["error"], "invalid ciphertext: wrong number of fields");

    // Derived keys need a context; convergent ones give equal ciphertexts for equal input.
    tm.post(
        "keys/conv",
        json!({"derived": true, "convergent_encryption": true}),
        200,
    )
    .await;
    let ctx = b64(b"tenant-7");
    let a = tm
        .post(
            "encrypt/conv",
            json!({"plaintext": plain, "context": ctx}),
            200,
        )
        .await;
    let c = tm
        .post(
            "encrypt/conv",
            json!({"plaintext": plain, "context": ctx}),
            200,
        )
        .await;
    assert_eq!(a["data"]["ciphertext"], c["data"]["ciphertext"]);
    let b = tm
        .post("encrypt/conv", json!({"plaintext": plain}), 400)
        .await;
    assert!(
        error(&b).starts_with("missing 'context' for key derivation"),
        "{b}"
    );
    let b = tm
        .post(
            "decrypt/conv",
            json!({"ciphertext": a["data"]["ciphertext"], "context": ctx}),
            200,
        )
        .await;
    assert_eq!(b["data"]["plaintext"], plain);

    // Data keys.
    let b = tm
        .post("datakey/plaintext/orders", json!({"bits": 512}), 200)
        .await;
    assert_eq!(unb64(b["data"]["plaintext"].as_str().unwrap()).len(), 64);
    let d = tm
        .post(
            "decrypt/orders",
            json!({"ciphertext": b["data"]["ciphertext"]}),
            200,
        )
        .await;
    assert_eq!(d["data"]["plaintext"], b["data"]["plaintext"]);
    let b = tm.post("datakey/wrapped/orders", json!({}), 200).await;
    assert!(b["data"].get("plaintext").is_none());
}

#[tokio::test]
async fn hostile_input_gets_400_with_vaults_texts() {
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let m = tm.m.clone();
    tm.post("keys/k", json!({}), 200).await;
    tm.post("keys/sig", json!({"type": "ed25519"}), 200).await;
    for (ciphertext, text) in [
        ("vault:", "invalid ciphertext: no prefix"),
        ("x", "invalid ciphertext: no prefix"),
        ("vault:v1", "invalid ciphertext: wrong number of fields"),
        (
            "vault:vx:AAAA",
            "invalid ciphertext: version number could not be decoded",
        ),
        (
            "vault:v99999999999999999999:AAAA",
            "invalid ciphertext: version number could not be decoded",
        ),
        ("vault:v0:", "invalid ciphertext length"),
        ("vault:v99:abc", "invalid ciphertext: version is too new"),
        ("vault:v-1:AAAA", TOO_OLD),
        ("vault:v1:!!", "invalid ciphertext: could not decode base64"),
        (
            "vault:v1:aGVsbG8",
            "invalid ciphertext: could not decode base64",
        ),
        ("vault:v1:AAAA", "invalid ciphertext length"),
        (
            "vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
            "cipher: message authentication failed",
        ),
    ] {
        let b = tm
            .post("decrypt/k", json!({"ciphertext": ciphertext}), 400)
            .await;
        assert_eq!(error(&b), text, "{ciphertext}");
    }
    let b = tm
        .post("encrypt/k", json!({"plaintext": "aGVsbG8"}), 400)
        .await;
    assert_eq!(error(&b), "illegal base64 data at input byte 4");
    let b = tm
        .post(
            "encrypt/k",
            json!({"plaintext": "aGVsbG8=", "key_version": 2}),
            400,
        )
        .await;
    assert_eq!(
        error(&b),
        "requested version for encryption is higher than the latest key version"
    );
    let b = tm
        .post(
            "encrypt/k",
            json!({"plaintext": "aGVsbG8=", "key_version": -1}),
            400,
        )
        .await;
    assert_eq!(error(&b), "requested version for encryption is negative");
    // Wrong key types.
    let b = tm
        .post("encrypt/sig", json!({"plaintext": "aGVsbG8="}), 400)
        .await;
    assert_eq!(
        error(&b),
        "message encryption not supported for key type ed25519"
    );
    let b = tm.post("sign/k", json!({"input": "aGVsbG8="}), 400).await;
    assert_eq!(error(&b), "key type aes256-gcm96 does not support signing");
    let b = tm
        .post(
            "verify/k",
            json!({"input": "aGVsbG8=", "signature": "vault:v1:AAAA"}),
            400,
        )
        .await;
    assert_eq!(
        error(&b),
        "key type aes256-gcm96 does not support verification"
    );
    let b = tm
        .post(
            "decrypt/missing",
            json!({"ciphertext": "vault:v1:AAAA"}),
            400,
        )
        .await;
    assert_eq!(error(&b), "encryption key not found");
    // Batches: malformed, empty, oversized; per-item errors.
    let b = tm.post("encrypt/k", json!({"batch_input": "x"}), 400).await;
    assert!(error(&b).starts_with("failed to parse batch input"), "{b}");
    let b = tm.post("encrypt/k", json!({"batch_input": []}), 400).await;
    assert_eq!(error(&b), "missing batch input to process");
    let many = vec![json!({"plaintext": "aGVsbG8="}); 1001];
    let b = tm
        .post("encrypt/k", json!({"batch_input": many}), 400)
        .await;
    assert!(error(&b).contains("at most 1000"), "{b}");
    let b = tm.post("encrypt/k",
        json!({"batch_input": [{"plaintext": "aGVsbG8="}, {"plaintext": "!"}, {"plaintext": "aGVsbG8=", "key_version": 7}]}),
        400,
    )
    .await;
    let r = &b["data"]["batch_results"];
    assert!(
        r[0]["ciphertext"]
            .as_str()
            .unwrap()
            .starts_with("vault:v1:")
    );
    assert_eq!(r[1]["error"], "illegal base64 data at input byte 0");
    assert_eq!(
        r[2]["error"],
        "requested version for encryption is higher than the latest key version"
    );
    let b = tm.post("encrypt/k",
        json!({"batch_input": [{"plaintext": "aGVsbG8="}, {"plaintext": "aGVsbG8=", "context": "eA=="}]}),
        400,
    )
    .await;
    assert_eq!(
        error(&b),
        "context should be set either in all the request blocks or in none"
    );
    // Bad key names match no path.
    let (s, _) = f
        .call(
            "POST",
            &format!("/v1/{m}/keys/-bad"),
            Some(&f.admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn every_signing_type_signs_and_verifies_and_hmacs_verify() {
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let m = tm.m.clone();
    let input = b64(b"release v1.2.3");
    for t in [
        "ed25519",
        "ecdsa-p256",
        "ecdsa-p384",
        "ecdsa-p521",
        "rsa-2048",
        "rsa-4096",
    ] {
        tm.post(&format!("keys/{t}"), json!({"type": t}), 200).await;
        let mut variants = vec![json!({})];
        if t.starts_with("ecdsa") {
            variants.push(json!({"marshaling_algorithm": "jws"}));
            variants.push(json!({"hash_algorithm": "sha2-512"}));
        }
        if t.starts_with("rsa") {
            variants.push(json!({"signature_algorithm": "pkcs1v15"}));
            variants.push(json!({"salt_length": "hash", "hash_algorithm": "sha2-384"}));
        }
        for opts in variants {
            let mut body = opts.clone();
            body["input"] = json!(input);
            let b = tm.post(&format!("sign/{t}"), body.clone(), 200).await;
            let sig = b["data"]["signature"].as_str().unwrap().to_owned();
            assert!(sig.starts_with("vault:v1:"), "{t}");
            body["signature"] = json!(sig);
            let b = tm.post(&format!("verify/{t}"), body.clone(), 200).await;
            assert_eq!(b["data"]["valid"], true, "{t} {opts}");
            body["input"] = json!(b64(b"release v6.6.6"));
            let b = tm.post(&format!("verify/{t}"), body, 200).await;
            assert_eq!(b["data"]["valid"], false, "{t} {opts}");
        }
    }
    // A batch of signatures with an error in its place (200, as Vault).
    let b = tm
        .post(
            "sign/ed25519",
            json!({"batch_input": [{"input": input}, {"input": "!"}]}),
            200,
        )
        .await;
    assert_eq!(
        b["data"]["batch_results"][1]["error"],
        "unable to decode input as base64: illegal base64 data at input byte 0"
    );
    // Derived Ed25519: the response names the derived public key, which a read with
    // the same context shows.
    tm.post("keys/dev", json!({"type": "ed25519", "derived": true}), 200)
        .await;
    let ctx = b64(b"device-9");
    let b = tm
        .post("sign/dev", json!({"input": input, "context": ctx}), 200)
        .await;
    let public = b["data"]["public_key"].as_str().unwrap().to_owned();
    let (_, r) = f
        .call(
            "GET",
            &format!("/v1/{m}/keys/dev?context={ctx}"),
            Some(&f.admin),
            None,
        )
        .await;
    assert_eq!(r["data"]["keys"]["1"]["public_key"], public);
    // HMAC of any key, verified.
    tm.post("keys/mac", json!({"type": "hmac", "key_size": 32}), 200)
        .await;
    for key in ["mac", "ed25519"] {
        let b = tm
            .post(
                &format!("hmac/{key}/sha2-512"),
                json!({"input": input}),
                200,
            )
            .await;
        let mac = b["data"]["hmac"].as_str().unwrap().to_owned();
        let b = tm
            .post(
                &format!("verify/{key}/sha2-512"),
                json!({"input": input, "hmac": mac}),
                200,
            )
            .await;
        assert_eq!(b["data"]["valid"], true);
        let b = tm
            .post(
                &format!("verify/{key}"),
                json!({"input": input, "hmac": mac}),
                200,
            )
            .await;
        assert_eq!(b["data"]["valid"], false, "another hash");
    }
    // Random bytes and hashes.
    let b = tm.post("random/24", json!({"format": "hex"}), 200).await;
    assert_eq!(b["data"]["random_bytes"].as_str().unwrap().len(), 48);
    let b = tm
        .post("hash/sha2-256", json!({"input": b64(b"hello")}), 200)
        .await;
    assert_eq!(
        b["data"]["sum"],
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
}

#[tokio::test]
async fn policies_govern_transit_paths() {
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let m = tm.m.clone();
    tm.post("keys/app", json!({}), 200).await;
    f.policy(
        "app-crypto",
        &format!(
            r#"path "{m}/encrypt/app" {{ capabilities = ["update"] }}
               path "{m}/encrypt/new" {{ capabilities = ["update"] }}
               path "{m}/decrypt/app" {{ capabilities = ["update"] }}
               path "{m}/encrypt/made" {{ capabilities = ["create", "update"] }}"#
        ),
    )
    .await;
    let (role_id, secret_id) = f
        .approle("crypto", json!({"token_policies": "app-crypto"}))
        .await;
    let token = f.login(&role_id, &secret_id).await;
    let call = |path: String, body: Value| {
        let token = token.clone();
        let f = &f;
        async move { f.call("POST", &path, Some(&token), Some(body)).await }
    };
    let plain = b64(b"x");
    let (s, b) = call(format!("/v1/{m}/encrypt/app"), json!({"plaintext": plain})).await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = call(
        format!("/v1/{m}/decrypt/app"),
        json!({"ciphertext": b["data"]["ciphertext"]}),
    )
    .await;
    assert_eq!(s, 200);
    // `update` does not create a key: that needs `create`.
    let (s, _) = call(format!("/v1/{m}/encrypt/new"), json!({"plaintext": plain})).await;
    assert_eq!(s, 403);
    let (s, _) = call(format!("/v1/{m}/encrypt/made"), json!({"plaintext": plain})).await;
    assert_eq!(s, 200);
    for (path, body) in [
        (
            format!("/v1/{m}/encrypt/other"),
            json!({"plaintext": plain}),
        ),
        (
            format!("/v1/{m}/rewrap/app"),
            json!({"ciphertext": "vault:v1:AAAA"}),
        ),
        (format!("/v1/{m}/keys/app/rotate"), json!({})),
        (format!("/v1/{m}/keys/app"), json!({})),
    ] {
        let (s, _) = call(path.clone(), body).await;
        assert_eq!(s, 403, "{path}");
    }
}

#[tokio::test]
async fn warm_transit_operations_make_no_kms_calls_and_one_key_read() {
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let m = tm.m.clone();
    tm.post("keys/aes", json!({}), 200).await;
    tm.post("keys/ed", json!({"type": "ed25519"}), 200).await;
    let b = tm
        .post("encrypt/aes", json!({"plaintext": b64(b"x")}), 200)
        .await;
    let ct = b["data"]["ciphertext"].as_str().unwrap().to_owned();
    let issue = f.app(Function::Issue);
    f.warm(&issue).await;
    let ops = [
        (
            format!("/v1/{m}/encrypt/aes"),
            json!({"plaintext": b64(b"y")}),
        ),
        (format!("/v1/{m}/decrypt/aes"), json!({"ciphertext": ct})),
        (format!("/v1/{m}/sign/ed"), json!({"input": b64(b"z")})),
        (format!("/v1/{m}/hmac/aes"), json!({"input": b64(b"z")})),
    ];
    // Cold: the data key and each key version are unwrapped once.
    for (path, body) in &ops {
        let r = issue
            .handle(request("POST", path, Some(&f.admin), Some(body.clone())))
            .await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
    }
    for (path, body) in &ops {
        f.counter.reset();
        let r = issue
            .handle(request("POST", path, Some(&f.admin), Some(body.clone())))
            .await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
        assert_eq!(
            f.counter.service_total("KMS"),
            0,
            "{path}: {:?}",
            f.counter.snapshot()
        );
        assert_eq!(
            f.counter.service_total("DynamoDB"),
            1,
            "{path}: the token and the key in one batch read: {:?}",
            f.counter.snapshot()
        );
    }
}

#[tokio::test]
async fn stored_keys_hold_no_key_material_and_a_disabled_mount_is_swept() {
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let m = tm.m.clone();
    for t in ["aes256-gcm96", "ecdsa-p256", "rsa-2048"] {
        tm.post(&format!("keys/{t}"), json!({"type": t}), 200).await;
    }
    let items = f.scan().await;
    let keys: Vec<_> = items
        .iter()
        .filter(|i| i["pk"].as_s().unwrap().starts_with("transit/"))
        .collect();
    assert_eq!(keys.len(), 3);
    // PKCS#8 DER of a private key names its algorithm's OID in the clear; sealed, it
    // does not appear (public keys are stored as PEM text).
    let oids: [&[u8]; 2] = [
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01],
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
    ];
    for item in &keys {
        let policy = item["policy"].as_s().unwrap();
        assert!(!policy.contains("PRIVATE"), "{policy}");
        for sealed in item["sealed"].as_m().unwrap().values() {
            let bytes = sealed.as_b().unwrap().as_ref();
            for oid in oids {
                assert!(
                    !bytes.windows(oid.len()).any(|w| w == oid),
                    "a private key in the clear"
                );
            }
        }
    }
    // The BYOK wrapping key is swept with the mount too.
    tm.wrapping_key().await;
    let (s, _) = f
        .call(
            "DELETE",
            &format!("/v1/sys/mounts/{m}"),
            Some(&f.admin),
            None,
        )
        .await;
    assert_eq!(s, 204);
    f.sweep().await;
    let left = f
        .scan()
        .await
        .iter()
        .filter(|i| i["pk"].as_s().unwrap().starts_with("transit/"))
        .count();
    assert_eq!(left, 0);
}

/// The BYOK `ciphertext` of `key` for the wrapping key `pem` (SPKI, RSA-4096):
/// base64(RSA-OAEP-SHA256(ephemeral AES-256 key) || AES-KWP(ephemeral, key)).
fn wrap_for_import(pem_text: &str, key: &[u8]) -> String {
    use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrapPadded};
    use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, PublicEncryptingKey};
    let der = pem::parse(pem_text).unwrap();
    assert_eq!(der.tag(), "PUBLIC KEY");
    let public =
        OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(der.contents()).unwrap())
            .unwrap();
    let eph = [0x5au8; 32];
    let mut out = vec![0u8; public.ciphertext_size()];
    let n = public
        .encrypt(&OAEP_SHA256_MGF1SHA256, &eph, &mut out, None)
        .unwrap()
        .len();
    out.truncate(n);
    assert_eq!(out.len(), 512);
    let mut wrapped = vec![0u8; key.len() + 16];
    let n = AesKek::new(&AES_256, &eph)
        .unwrap()
        .wrap_with_padding(key, &mut wrapped)
        .unwrap()
        .len();
    out.extend_from_slice(&wrapped[..n]);
    b64(&out)
}

impl Mount<'_> {
    /// `GET /v1/{m}/{path}` as the admin: (status, body).
    async fn get(&self, path: &str) -> (u16, Value) {
        self.f
            .call(
                "GET",
                &format!("/v1/{}/{path}", self.m),
                Some(&self.f.admin),
                None,
            )
            .await
    }

    /// The mount's wrapping key (PEM).
    async fn wrapping_key(&self) -> String {
        let (s, b) = self.get("wrapping_key").await;
        assert_eq!(s, 200, "{b}");
        b["data"]["public_key"].as_str().unwrap().to_owned()
    }

    /// The mount's key names.
    async fn list(&self) -> Value {
        let (_, b) = self
            .f
            .call(
                "LIST",
                &format!("/v1/{}/keys", self.m),
                Some(&self.f.admin),
                None,
            )
            .await;
        b["data"]["keys"].clone()
    }
}

#[tokio::test]
async fn byok_import_then_use_and_export() {
    use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let wrapping = tm.wrapping_key().await;
    assert!(wrapping.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert_eq!(tm.wrapping_key().await, wrapping, "stable across reads");

    let aes = [7u8; 32];
    let ct = wrap_for_import(&wrapping, &aes);
    let b = tm
        .post(
            "keys/imp/import",
            json!({"ciphertext": ct, "exportable": true}),
            204,
        )
        .await;
    assert!(b.is_null() || b == json!({}), "{b}");
    let (s, b) = tm.get("keys/imp").await;
    assert_eq!(s, 200);
    assert_eq!(b["data"]["imported_key"], true);
    assert_eq!(b["data"]["imported_key_allow_rotation"], false);
    assert_eq!(b["data"]["type"], "aes256-gcm96");
    let b = tm
        .post("encrypt/imp", json!({"plaintext": b64(b"hello")}), 200)
        .await;
    let c = b["data"]["ciphertext"].as_str().unwrap().to_owned();
    let b = tm.post("decrypt/imp", json!({"ciphertext": c}), 200).await;
    assert_eq!(unb64(b["data"]["plaintext"].as_str().unwrap()), b"hello");
    // The ciphertext is AES-256-GCM under the imported bytes: open it here.
    let raw = unb64(c.strip_prefix("vault:v1:").unwrap());
    let key = aws_lc_rs::aead::LessSafeKey::new(
        aws_lc_rs::aead::UnboundKey::new(&aws_lc_rs::aead::AES_256_GCM, &aes).unwrap(),
    );
    let (nonce, sealed) = raw.split_at(12);
    let mut sealed = sealed.to_vec();
    let plain = key
        .open_in_place(
            aws_lc_rs::aead::Nonce::try_assume_unique_for_key(nonce).unwrap(),
            aws_lc_rs::aead::Aad::empty(),
            &mut sealed,
        )
        .unwrap();
    assert_eq!(plain, b"hello");
    let b = tm.post("keys/imp/rotate", json!({}), 400).await;
    assert_eq!(
        error(&b),
        format!("imported key imp does not allow rotation within Vault")
    );
    let b = tm
        .post("keys/imp/import", json!({"ciphertext": ct}), 400)
        .await;
    assert_eq!(
        error(&b),
        "the import path cannot be used with an existing key; use import-version to rotate an existing imported key"
    );
    for path in [
        "export/encryption-key/imp",
        "export/encryption-key/imp/1",
        "export/encryption-key/imp/latest",
        "export/encryption-key/imp/v1",
    ] {
        let (s, b) = tm.get(path).await;
        assert_eq!(s, 200, "{path}: {b}");
        assert_eq!(b["data"]["name"], "imp");
        assert_eq!(b["data"]["type"], "aes256-gcm96");
        assert_eq!(b["data"]["keys"], json!({"1": b64(&aes)}), "{path}");
    }
    let (s, b) = tm.get("export/hmac-key/imp").await;
    assert_eq!(s, 200);
    assert_eq!(unb64(b["data"]["keys"]["1"].as_str().unwrap()).len(), 32);
    for (path, text) in [
        (
            "export/signing-key/imp",
            "signing not supported for the key",
        ),
        ("export/nope/imp", "invalid export type: nope"),
        ("export/encryption-key/imp/x", "invalid key version"),
        (
            "export/encryption-key/imp/0",
            "version for export is below minimum decryption version",
        ),
        (
            "export/encryption-key/imp/9",
            "version does not exist or cannot be found",
        ),
        (
            "export/encryption-key/imp?format=bad",
            "invalid format: bad",
        ),
    ] {
        let (s, b) = tm.get(path).await;
        assert_eq!((s, error(&b)), (400, text), "{path}");
    }
    assert_eq!(tm.get("export/encryption-key/none").await.0, 404);

    // Ed25519 (PKCS#8), with rotation allowed, not exportable.
    let pair = Ed25519KeyPair::generate().unwrap();
    let pkcs8 = pair.to_pkcs8v1().unwrap();
    tm.post(
        "keys/ed/import",
        json!({"type": "ed25519", "ciphertext": wrap_for_import(&wrapping, pkcs8.as_ref()), "allow_rotation": true}),
        204,
    )
    .await;
    let (_, b) = tm.get("keys/ed").await;
    assert_eq!(b["data"]["imported_key_allow_rotation"], true);
    assert_eq!(
        b["data"]["keys"]["1"]["public_key"],
        b64(pair.public_key().as_ref())
    );
    let b = tm.post("sign/ed", json!({"input": b64(b"msg")}), 200).await;
    let sig = b["data"]["signature"].as_str().unwrap();
    let raw = unb64(sig.strip_prefix("vault:v1:").unwrap());
    UnparsedPublicKey::new(&signature::ED25519, pair.public_key().as_ref())
        .verify(b"msg", &raw)
        .unwrap();
    let (s, b) = tm.get("export/signing-key/ed").await;
    assert_eq!(
        (s, error(&b)),
        (400, "private key material is not exportable")
    );
    let (s, b) = tm.get("export/public-key/ed").await;
    assert_eq!(s, 200);
    assert_eq!(b["data"]["keys"]["1"], b64(pair.public_key().as_ref()));
    let b = tm.post("keys/ed/rotate", json!({}), 200).await;
    assert_eq!(b["data"]["latest_version"], 2);

    // An exportable generated key exports; the wrapping key is no key of the mount.
    tm.post(
        "keys/gen",
        json!({"type": "ecdsa-p256", "exportable": true}),
        200,
    )
    .await;
    let (s, b) = tm.get("export/signing-key/gen").await;
    assert_eq!(s, 200);
    assert!(
        b["data"]["keys"]["1"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN EC PRIVATE KEY-----\n")
    );
    assert_eq!(tm.list().await, json!(["ed", "gen", "imp"]));
    assert_eq!(tm.get("keys/wrapping-key").await.0, 404);
    assert_eq!(tm.get("keys/import/wrapping-key").await.0, 404);
    assert_eq!(tm.wrapping_key().await, wrapping);
}

#[tokio::test]
async fn byok_refused_imports_change_nothing() {
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let wrapping = tm.wrapping_key().await;
    let good = wrap_for_import(&wrapping, &[1u8; 32]);
    let short = b64(&unb64(&good)[..512]);
    let cases = [
        (json!({"ciphertext": short}), "provided ciphertext is too short".to_owned()),
        (
            json!({"ciphertext": good, "hash_function": "SHA1"}),
            "crypto/rsa: decryption error".to_owned(),
        ),
        (
            json!({"ciphertext": good, "hash_function": "MD5"}),
            "unknown hash function: MD5".to_owned(),
        ),
        (
            json!({"ciphertext": good, "convergent_encryption": true, "derived": true}),
            "import cannot be used on keys with convergent encryption enabled".to_owned(),
        ),
        (
            json!({"ciphertext": good, "auto_rotate_period": "2h"}),
            "allow_rotation must be set to true if auto-rotation is enabled".to_owned(),
        ),
        (
            json!({"ciphertext": good, "type": "aes128-gcm96"}),
            "error importing key: invalid key size 32 bytes for key type aes128-gcm96".to_owned(),
        ),
        (
            json!({"ciphertext": good, "type": "ecdsa-p256"}),
            "error importing key: error parsing asymmetric key: x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)".to_owned(),
        ),
        (
            json!({"ciphertext": good, "type": "nope"}),
            "unknown key type: nope".to_owned(),
        ),
        (
            json!({"type": "aes256-gcm96"}),
            "provided type does not support public_key import".to_owned(),
        ),
        (
            json!({"ciphertext": "!!"}),
            "illegal base64 data at input byte 0".to_owned(),
        ),
    ];
    for (body, text) in cases {
        let b = tm.post("keys/k/import", body.clone(), 400).await;
        assert_eq!(error(&b), text, "{body}");
        assert_eq!(tm.get("keys/k").await.0, 404, "{body}: nothing written");
    }
    let b = tm
        .post("keys/k/import_version", json!({"ciphertext": good}), 400)
        .await;
    assert_eq!(
        error(&b),
        "no key found with name k; to import a new key, use the import/ endpoint"
    );
    assert_eq!(tm.list().await, Value::Null);
    tm.post("keys/k/import", json!({"ciphertext": good}), 204)
        .await;
}

#[tokio::test]
async fn concurrent_first_reads_of_the_wrapping_key_give_one_key() {
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let reads = futures::future::join_all((0..4).map(|_| tm.wrapping_key())).await;
    assert!(reads.iter().all(|r| r == &reads[0]), "one key for all");
    let items = f.scan().await;
    let wrapping: Vec<_> = items
        .iter()
        .filter(|i| {
            let pk = i["pk"].as_s().unwrap();
            pk.starts_with("transit/") && pk.ends_with("/import/keys")
        })
        .collect();
    assert_eq!(wrapping.len(), 1, "exactly one stored wrapping key");
    assert_eq!(tm.wrapping_key().await, reads[0]);
}

/// `auto_rotate_period`: the key is on the real expiry index (DynamoDB Local's GSI) at
/// its next rotation, with no TTL; the sweeper rotates it once its time has passed,
/// once however often it runs; old ciphertext still decrypts.
#[tokio::test]
async fn keys_rotate_automatically_on_their_period() {
    let (mut f, clock) = Fixture::manual().await;
    // An admin token that outlives the hours the clock moves.
    let app = f.app(Function::Admin);
    let admin =
        sigil::bootstrap::admin_token(app.store.as_ref(), app.limits(), 86_400, clock.now())
            .await
            .unwrap();
    f.admin = secrecy::ExposeSecret::expose_secret(&admin.token).to_owned();
    let tm = transit(&f).await;
    let b = tm
        .post("keys/auto", json!({"auto_rotate_period": "1h"}), 200)
        .await;
    assert_eq!(b["data"]["auto_rotate_period"], 3600);
    tm.post("keys/manual", json!({}), 200).await;
    let plain = b64(b"rotate me");
    let b = tm
        .post("encrypt/auto", json!({"plaintext": plain}), 200)
        .await;
    let v1 = b["data"]["ciphertext"].as_str().unwrap().to_owned();
    let item = f
        .scan()
        .await
        .into_iter()
        .find(|i| {
            i["pk"].as_s().unwrap().starts_with("transit/") && i["sk"].as_s().unwrap() == "auto"
        })
        .unwrap();
    let due: i64 = item["exp_at"].as_n().unwrap().parse().unwrap();
    assert_eq!(due, clock.now() + 3600);
    assert!(
        !item.contains_key("ttl"),
        "a due item is never deleted by the table's TTL"
    );

    let r = f.sweep().await;
    assert_eq!(r.due_jobs, 0, "not due yet");
    clock.advance(3601);
    let r = f.sweep().await;
    assert_eq!(r.due_jobs, 1);
    assert_eq!(f.sweep().await.due_jobs, 0, "rotated once");
    let (_, b) = tm.get("keys/auto").await;
    assert_eq!(b["data"]["latest_version"], 2);
    let (_, b) = tm.get("keys/manual").await;
    assert_eq!(b["data"]["latest_version"], 1, "no period, no rotation");
    assert!(
        tm.encrypt("auto", b"rotate me")
            .await
            .starts_with("vault:v2:")
    );
    let b = tm
        .post("decrypt/auto", json!({"ciphertext": v1}), 200)
        .await;
    assert_eq!(b["data"]["plaintext"], plain);

    // A period of 0 takes the key off the schedule.
    tm.post("keys/auto/config", json!({"auto_rotate_period": 0}), 200)
        .await;
    clock.advance(2 * 3600);
    assert_eq!(f.sweep().await.due_jobs, 0);
    let (_, b) = tm.get("keys/auto").await;
    assert_eq!(b["data"]["latest_version"], 2);
}

impl Mount<'_> {
    /// `encrypt/:name` of `plain`: the ciphertext.
    async fn encrypt(&self, name: &str, plain: &[u8]) -> String {
        let b = self
            .post(
                &format!("encrypt/{name}"),
                json!({"plaintext": b64(plain)}),
                200,
            )
            .await;
        b["data"]["ciphertext"].as_str().unwrap().to_owned()
    }

    /// The key `name` as read (`data`).
    async fn key(&self, name: &str) -> Value {
        let (s, b) = self.get(&format!("keys/{name}")).await;
        assert_eq!(s, 200, "{b}");
        b["data"].clone()
    }

    /// Every stored item of this mount's keys, as (name, revision, policy), sorted:
    /// a refusal that wrote anything changes it.
    async fn items(&self) -> Vec<(String, String, String)> {
        let (s, b) = self
            .f
            .call("GET", "/v1/sys/mounts", Some(&self.f.admin), None)
            .await;
        assert_eq!(s, 200, "{b}");
        let uuid = b["data"][format!("{}/", self.m)]["uuid"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut all: Vec<(String, String, String)> = self
            .f
            .scan()
            .await
            .iter()
            .filter(|i| {
                i["pk"]
                    .as_s()
                    .unwrap()
                    .starts_with(&format!("transit/{uuid}/"))
            })
            .map(|i| {
                (
                    i["sk"].as_s().unwrap().clone(),
                    i["rev"].as_n().unwrap().clone(),
                    i["policy"].as_s().unwrap().clone(),
                )
            })
            .collect();
        assert!(!all.is_empty(), "the mount's keys are found");
        all.sort();
        all
    }
}

/// Opens `vault:vN:` AES-256-GCM ciphertext `c` with `key` (Vault's nonce || sealed).
fn open_aes(key: &[u8], c: &str, version: u32) -> Vec<u8> {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let raw = unb64(c.strip_prefix(&format!("vault:v{version}:")).unwrap());
    let (nonce, sealed) = raw.split_at(12);
    let mut sealed = sealed.to_vec();
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap())
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).unwrap(),
            Aad::empty(),
            &mut sealed,
        )
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn import_version_adds_versions_to_imported_keys_only() {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let wrapping = tm.wrapping_key().await;
    let (k1, k2) = ([1u8; 32], [2u8; 32]);
    tm.post(
        "keys/imp/import",
        json!({"ciphertext": wrap_for_import(&wrapping, &k1)}),
        204,
    )
    .await;
    let c1 = tm.encrypt("imp", b"one").await;
    // No allow_rotation, yet import_version adds a version (as OpenBao).
    let b = tm
        .post(
            "keys/imp/import_version",
            json!({"ciphertext": wrap_for_import(&wrapping, &k2)}),
            204,
        )
        .await;
    assert!(b.is_null(), "{b}");
    let key = tm.key("imp").await;
    assert_eq!(key["latest_version"], 2);
    assert_eq!(key["imported_key"], true);
    let c2 = tm.encrypt("imp", b"two").await;
    assert_eq!(
        open_aes(&k2, &c2, 2),
        b"two",
        "version 2 is the imported bytes"
    );
    let b = tm.post("decrypt/imp", json!({"ciphertext": c1}), 200).await;
    assert_eq!(unb64(b["data"]["plaintext"].as_str().unwrap()), b"one");

    // Refusals, each writing nothing.
    tm.post("keys/gen", json!({"type": "ed25519"}), 200).await;
    let pair = Ed25519KeyPair::generate().unwrap();
    tm.post(
        "keys/ed/import",
        json!({"type": "ed25519", "ciphertext": wrap_for_import(&wrapping, pair.to_pkcs8v1().unwrap().as_ref())}),
        204,
    )
    .await;
    let ed2 = Ed25519KeyPair::generate().unwrap();
    let ed2_ct = wrap_for_import(&wrapping, ed2.to_pkcs8v1().unwrap().as_ref());
    let before = tm.items().await;
    let good = wrap_for_import(&wrapping, &[3u8; 32]);
    for (path, body, text) in [
        (
            "keys/none/import_version",
            json!({"ciphertext": good}),
            "no key found with name none; to import a new key, use the import/ endpoint",
        ),
        (
            "keys/gen/import_version",
            json!({"ciphertext": good}),
            "the import_version endpoint can only be used with an imported key",
        ),
        (
            "keys/imp/import_version",
            json!({"ciphertext": wrap_for_import(&wrapping, &[3u8; 16])}),
            "invalid key size 16 bytes for key type aes256-gcm96",
        ),
        (
            "keys/imp/import_version",
            json!({}),
            "provided type does not support public_key import",
        ),
        (
            "keys/imp/import_version",
            json!({"ciphertext": good, "version": 1}),
            "provided type does not support importing key versions",
        ),
        (
            "keys/ed/import_version",
            json!({"ciphertext": ed2_ct, "version": 1}),
            "private key imported, key version cannot be updated",
        ),
        (
            "keys/ed/import_version",
            json!({"ciphertext": ed2_ct, "version": 7}),
            "no such key version",
        ),
        (
            "keys/ed/import_version",
            json!({"ciphertext": good}),
            "error parsing asymmetric key: x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)",
        ),
        (
            "keys/imp/import_version",
            json!({"ciphertext": good, "hash_function": "SHA1"}),
            "crypto/rsa: decryption error",
        ),
    ] {
        let b = tm.post(path, body.clone(), 400).await;
        assert_eq!(error(&b), text, "{path} {body}");
    }
    assert_eq!(tm.items().await, before, "refusals wrote nothing");
    // An Ed25519 version: it signs, with the new key's public key shown.
    tm.post("keys/ed/import_version", json!({"ciphertext": ed2_ct}), 204)
        .await;
    let key = tm.key("ed").await;
    assert_eq!(key["latest_version"], 2);
    assert_eq!(
        key["keys"]["2"]["public_key"],
        b64(ed2.public_key().as_ref())
    );
}

#[tokio::test]
async fn backup_and_restore_lifecycle() {
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    tm.post(
        "keys/k",
        json!({"exportable": true, "allow_plaintext_backup": true}),
        200,
    )
    .await;
    tm.post("keys/k/rotate", json!({}), 200).await;
    let c = tm.encrypt("k", b"kept").await;
    let (s, b) = tm.get("backup/k").await;
    assert_eq!(s, 200, "{b}");
    let backup = b["data"]["backup"].as_str().unwrap().to_owned();
    sigil_tests::seen(&backup);
    let key = tm.key("k").await;
    assert_eq!(key["backup_info"]["version"], 2, "{key}");
    // The backup holds the key in OpenBao's shape; the stored item does not.
    let go: Value = serde_json::from_slice(&unb64(&backup)).unwrap();
    let raw = go["policy"]["keys"]["2"]["key"].as_str().unwrap();
    assert_eq!(open_aes(&unb64(raw), &c, 2), b"kept");
    let stored = format!("{:?}", f.scan().await);
    assert!(!stored.contains(raw), "no plaintext key at rest");

    // Restored under another name: decrypts, and carries restore_info.
    assert!(
        tm.post("restore/copy", json!({"backup": backup}), 204)
            .await
            .is_null()
    );
    let b = tm.post("decrypt/copy", json!({"ciphertext": c}), 200).await;
    assert_eq!(unb64(b["data"]["plaintext"].as_str().unwrap()), b"kept");
    let copy = tm.key("copy").await;
    assert_eq!(copy["latest_version"], 2);
    assert_eq!(copy["restore_info"]["version"], 2);
    assert_eq!(copy["name"], "copy");

    // An existing name needs force; force replaces whatever is there.
    tm.post("keys/other", json!({}), 200).await;
    let before = tm.items().await;
    for (path, name) in [("restore", "k"), ("restore/other", "other")] {
        let b = tm.post(path, json!({"backup": backup}), 400).await;
        assert_eq!(error(&b), format!("key \"{name}\" already exists"));
    }
    assert_eq!(tm.items().await, before, "nothing written");
    tm.post(
        "restore/other",
        json!({"backup": backup, "force": true}),
        204,
    )
    .await;
    let b = tm
        .post("decrypt/other", json!({"ciphertext": c}), 200)
        .await;
    assert_eq!(unb64(b["data"]["plaintext"].as_str().unwrap()), b"kept");
    assert_eq!(tm.key("other").await["latest_version"], 2);
    tm.post(
        "restore/fresh",
        json!({"backup": backup, "force": true}),
        204,
    )
    .await;

    // Refused backups and restores change nothing.
    tm.post("keys/plain", json!({}), 200).await;
    tm.post("keys/exp", json!({"exportable": true}), 200).await;
    let mut bad_json = go.clone();
    bad_json["policy"]["latest_version"] = json!(5);
    let before = tm.items().await;
    for (path, text) in [
        ("backup/none", "key \"none\" not found"),
        ("backup/plain", "exporting is disallowed on the policy"),
        ("backup/exp", "plaintext backup is disallowed on the policy"),
    ] {
        let (s, b) = tm.get(path).await;
        assert_eq!((s, error(&b)), (400, text), "{path}");
    }
    for (body, text) in [
        (json!({}), "'backup' must be supplied".to_owned()),
        (
            json!({"backup": ""}),
            "'backup' must be supplied".to_owned(),
        ),
        (
            json!({"backup": "!!"}),
            "illegal base64 data at input byte 0".to_owned(),
        ),
        (
            json!({"backup": b64(b"{}")}),
            "invalid backup: no policy".to_owned(),
        ),
        (
            json!({"backup": b64(&serde_json::to_vec(&bad_json).unwrap())}),
            "invalid backup: version 3 missing".to_owned(),
        ),
    ] {
        let b = tm.post("restore/new", body.clone(), 400).await;
        assert_eq!(error(&b), text, "{body}");
    }
    let mut bad_name = go.clone();
    bad_name["policy"]["name"] = json!("a/b");
    let b = tm
        .post(
            "restore",
            json!({"backup": b64(&serde_json::to_vec(&bad_name).unwrap())}),
            400,
        )
        .await;
    assert_eq!(error(&b), "invalid backup: \"a/b\" is not a valid key name");
    assert_eq!(tm.items().await, before, "refusals wrote nothing");
    assert_eq!(tm.get("keys/new").await.0, 404);
}

/// PEM `PUBLIC KEY` of DER SubjectPublicKeyInfo `der`.
fn public_pem(der: &[u8]) -> String {
    pem::encode(&pem::Pem::new("PUBLIC KEY", der.to_vec()))
}

#[tokio::test]
async fn public_key_imports_verify_refuse_private_operations_and_complete() {
    use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
    use aws_lc_rs::rsa::{
        KeyPair as RsaPair, KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey,
        PrivateDecryptingKey,
    };
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let wrapping = tm.wrapping_key().await;

    // Ed25519: the public key only; it verifies, refuses to sign and to export.
    let pair = Ed25519KeyPair::generate().unwrap();
    let spki: PublicKeyX509Der<'static> = pair.public_key().as_der().unwrap();
    tm.post(
        "keys/ed/import",
        json!({"type": "ed25519", "public_key": public_pem(spki.as_ref())}),
        204,
    )
    .await;
    let key = tm.key("ed").await;
    assert_eq!(
        key["keys"]["1"]["public_key"],
        b64(pair.public_key().as_ref())
    );
    assert_eq!(key["imported_key"], true);
    let sig = format!("vault:v1:{}", b64(pair.sign(b"msg").as_ref()));
    let b = tm
        .post(
            "verify/ed",
            json!({"input": b64(b"msg"), "signature": sig}),
            200,
        )
        .await;
    assert_eq!(b["data"]["valid"], true);
    let b = tm
        .post(
            "verify/ed",
            json!({"input": b64(b"other"), "signature": sig}),
            200,
        )
        .await;
    assert_eq!(b["data"]["valid"], false);
    let b = tm.post("sign/ed", json!({"input": b64(b"msg")}), 400).await;
    assert_eq!(
        error(&b),
        "requested version for signing does not contain a private part"
    );
    let (s, b) = tm.get("export/public-key/ed").await;
    assert_eq!(
        (s, &b["data"]["keys"]["1"]),
        (200, &json!(b64(pair.public_key().as_ref())))
    );

    // Refusals write nothing.
    let other = Ed25519KeyPair::generate().unwrap();
    let before = tm.items().await;
    for (path, body, text) in [
        (
            "keys/aes/import",
            json!({"public_key": public_pem(spki.as_ref())}),
            "provided type does not support public_key import",
        ),
        (
            "keys/edd/import",
            json!({"type": "ed25519", "derived": true, "public_key": public_pem(spki.as_ref())}),
            "error importing key: unable to import only public key for derived Ed25519 key: imported key should not be an Ed25519 key pair but is instead an HKDF key",
        ),
        (
            "keys/bad/import",
            json!({"type": "ed25519", "public_key": "not pem"}),
            "error importing key: error parsing public key: not in PEM format",
        ),
        (
            "keys/bad/import",
            json!({"type": "ecdsa-p256", "public_key": public_pem(spki.as_ref())}),
            "error importing key: invalid key type: expected ecdsa-p256, got ed25519.PublicKey",
        ),
        (
            "keys/ed/import_version",
            json!({"public_key": public_pem(spki.as_ref()), "version": 1}),
            "cannot add a public key to a key version that already has a public key set",
        ),
        (
            "keys/ed/import_version",
            json!({"ciphertext": wrap_for_import(&wrapping, other.to_pkcs8v1().unwrap().as_ref()), "version": 1}),
            "cannot import key, key pair does not match",
        ),
    ] {
        let b = tm.post(path, body.clone(), 400).await;
        assert_eq!(error(&b), text, "{path} {body}");
    }
    assert_eq!(tm.items().await, before, "refusals wrote nothing");
    let (s, b) = tm.get("export/signing-key/ed").await;
    assert_eq!(
        (s, error(&b)),
        (400, "private key material is not exportable")
    );

    // The private key completes version 1: it signs, the same key.
    tm.post(
        "keys/ed/import_version",
        json!({"ciphertext": wrap_for_import(&wrapping, pair.to_pkcs8v1().unwrap().as_ref()), "version": 1}),
        204,
    )
    .await;
    let b = tm.post("sign/ed", json!({"input": b64(b"msg")}), 200).await;
    assert_eq!(b["data"]["signature"], sig, "Ed25519 is deterministic");
    let key = tm.key("ed").await;
    assert_eq!(key["latest_version"], 1);
    let b = tm
        .post(
            "keys/ed/import_version",
            json!({"ciphertext": wrap_for_import(&wrapping, pair.to_pkcs8v1().unwrap().as_ref()), "version": 1}),
            400,
        )
        .await;
    assert_eq!(
        error(&b),
        "private key imported, key version cannot be updated"
    );

    // RSA: encrypts to the public key, refuses to decrypt; the private key, imported
    // without `version`, completes the latest version (as OpenBao).
    let rsa = RsaPair::generate(KeySize::Rsa2048).unwrap();
    let rsa_spki: PublicKeyX509Der<'static> = rsa.public_key().as_der().unwrap();
    tm.post(
        "keys/rsa/import",
        json!({"type": "rsa-2048", "public_key": public_pem(rsa_spki.as_ref()), "exportable": true}),
        204,
    )
    .await;
    let c = tm.encrypt("rsa", b"sealed").await;
    let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).unwrap();
    let private =
        OaepPrivateDecryptingKey::new(PrivateDecryptingKey::from_pkcs8(pkcs8.as_ref()).unwrap())
            .unwrap();
    let raw = unb64(c.strip_prefix("vault:v1:").unwrap());
    let mut out = vec![0u8; private.min_output_size()];
    let plain = private
        .decrypt(&OAEP_SHA256_MGF1SHA256, &raw, &mut out, None)
        .unwrap();
    assert_eq!(plain, b"sealed");
    let b = tm.post("decrypt/rsa", json!({"ciphertext": c}), 400).await;
    assert_eq!(
        error(&b),
        "requested version for decryption does not contain a private part"
    );
    let (s, b) = tm.get("export/encryption-key/rsa").await;
    assert_eq!(
        (s, error(&b)),
        (400, "private key not imported for key version selected")
    );
    tm.post(
        "keys/rsa/import_version",
        json!({"ciphertext": wrap_for_import(&wrapping, pkcs8.as_ref())}),
        204,
    )
    .await;
    assert_eq!(
        tm.key("rsa").await["latest_version"],
        1,
        "completed, not added"
    );
    let b = tm.post("decrypt/rsa", json!({"ciphertext": c}), 200).await;
    assert_eq!(unb64(b["data"]["plaintext"].as_str().unwrap()), b"sealed");
}

/// A key rotated within Sigil is no longer an imported key (OpenBao's `Rotate`):
/// `imported_key` reads false and `import_version` refuses it.
#[tokio::test]
async fn a_rotated_imported_key_is_no_longer_imported() {
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let wrapping = tm.wrapping_key().await;
    tm.post(
        "keys/rot/import",
        json!({"ciphertext": wrap_for_import(&wrapping, &[5u8; 32]), "allow_rotation": true}),
        204,
    )
    .await;
    assert_eq!(tm.key("rot").await["imported_key"], true);
    tm.post("keys/rot/rotate", json!({}), 200).await;
    let key = tm.key("rot").await;
    assert_eq!(key["imported_key"], false);
    assert_eq!(key["latest_version"], 2);
    let b = tm
        .post(
            "keys/rot/import_version",
            json!({"ciphertext": wrap_for_import(&wrapping, &[6u8; 32])}),
            400,
        )
        .await;
    assert_eq!(
        error(&b),
        "the import_version endpoint can only be used with an imported key"
    );
}

/// A backup Sigil refuses (a public-key-only version) stamps nothing on the key.
#[tokio::test]
async fn a_refused_backup_writes_nothing() {
    use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
    let f = Fixture::new().await;
    let tm = transit(&f).await;
    let pair = Ed25519KeyPair::generate().unwrap();
    let spki: PublicKeyX509Der<'static> = pair.public_key().as_der().unwrap();
    tm.post(
        "keys/pub/import",
        json!({"type": "ed25519", "public_key": public_pem(spki.as_ref()),
               "exportable": true, "allow_plaintext_backup": true}),
        204,
    )
    .await;
    let before = tm.items().await;
    let (s, b) = tm.get("backup/pub").await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(tm.items().await, before, "nothing written");
    assert!(tm.key("pub").await["backup_info"].is_null());
}
