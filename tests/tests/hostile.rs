//! Hostile input, in-process against DynamoDB Local and moto: malformed, oversized and
//! mistyped bodies, path tricks, oversized headers and queries, replayed and
//! wrong-kind tokens, forged logins. Each case gets a clear 4xx with Vault's error body
//! and leaves every item of the table as it was.

use serde_json::{Value, json};
use sigil::http::ApiRequest;
use sigil_tests::{Fixture, request};

/// A case: name, the request, and the status it must get.
type Case = (&'static str, ApiRequest, u16);

fn raw(method: &str, path: &str, token: Option<&str>, body: &[u8]) -> ApiRequest {
    let mut r = request(method, path, token, None);
    r.body = body.to_vec();
    r
}

fn json_req(method: &str, path: &str, token: Option<&str>, body: Value) -> ApiRequest {
    request(method, path, token, Some(body))
}

/// `r` with its `Content-Type` replaced.
fn with_content_type(mut r: ApiRequest, value: &str) -> ApiRequest {
    r.headers.retain(|(k, _)| k != "content-type");
    r.headers
        .push(("content-type".to_owned(), value.to_owned()));
    r
}

fn with_header(mut r: ApiRequest, name: &str, value: &str) -> ApiRequest {
    r.headers.push((name.to_owned(), value.to_owned()));
    r
}

fn nested(depth: usize) -> Vec<u8> {
    format!("{{\"data\":{}1{}}}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
}

#[tokio::test]
async fn hostile_requests_get_a_clear_4xx_and_change_nothing() {
    let f = Fixture::new().await;
    let admin = f.admin.clone();
    let a = Some(admin.as_str());
    let (s, _) = f
        .call(
            "POST",
            "/v1/secret/data/app",
            a,
            Some(json!({"data": {"k": "v"}})),
        )
        .await;
    assert_eq!(s, 200);
    let (role_id, secret_id) = f.approle("web", json!({"token_policies": "default"})).await;
    let token = f.login(&role_id, &secret_id).await;
    let (_, b) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    let accessor = b["data"]["accessor"].as_str().unwrap().to_owned();
    // A revoked token, to replay.
    let revoked = f.login(&role_id, &secret_id).await;
    let (s, _) = f
        .call("POST", "/v1/auth/token/revoke-self", Some(&revoked), None)
        .await;
    assert_eq!(s, 204);
    // A token whose only use is spent.
    let (one_id, one_secret) = f
        .approle(
            "once",
            json!({"token_policies": "default", "token_num_uses": 1}),
        )
        .await;
    let spent = f.login(&one_id, &one_secret).await;
    let (s, _) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&spent), None)
        .await;
    assert_eq!(s, 200);
    let t = Some(token.as_str());
    let long_path = format!("/v1/secret/data/{}", "a/".repeat(1100));
    let big_header = "x".repeat(17 * 1024);
    let big_query = format!("/v1/secret/data/app?x={}", "q".repeat(5000));
    let many_query = format!(
        "/v1/secret/data/app?{}",
        (0..40)
            .map(|i| format!("p{i}=1"))
            .collect::<Vec<_>>()
            .join("&")
    );
    let many_items = format!("{{\"data\":{{\"l\":[{}0]}}}}", "0,".repeat(10_001));
    let big_jwt = format!("eyJhbGciOiJSUzI1NiJ9.{}.sig", "A".repeat(17 * 1024));

    let mut many_headers = request("GET", "/v1/secret/data/app", a, None);
    for i in 0..70 {
        many_headers.headers.push((format!("x-h{i}"), "v".into()));
    }
    let kv = "/v1/secret/data/app";
    let cases: Vec<Case> = vec![
        // Bodies.
        (
            "truncated JSON",
            raw("POST", kv, a, br#"{"data": {"k": "v""#),
            400,
        ),
        ("lone brace", raw("POST", kv, a, b"{"), 400),
        ("JSON list body", raw("POST", kv, a, b"[1, 2]"), 400),
        ("JSON string body", raw("POST", kv, a, br#""data""#), 400),
        ("JSON null body", raw("POST", kv, a, b"null"), 400),
        (
            "invalid UTF-8 body",
            raw("POST", kv, a, b"{\"data\": {\"k\": \"\xff\xfe\"}}"),
            400,
        ),
        (
            "NUL byte outside a string",
            raw("POST", kv, a, b"{\"data\": {\"k\": 1}\x00}"),
            400,
        ),
        (
            "body over 1 MiB",
            raw("POST", kv, a, &vec![b' '; 1024 * 1024 + 1]),
            413,
        ),
        ("nested 40 deep", raw("POST", kv, a, &nested(40)), 400),
        (
            "nested 100000 deep",
            raw("POST", kv, a, &nested(100_000)),
            400,
        ),
        (
            "10001 values",
            raw("POST", kv, a, many_items.as_bytes()),
            400,
        ),
        (
            "data as a string",
            json_req("POST", kv, a, json!({"data": "x"})),
            400,
        ),
        (
            "data as a list",
            json_req("POST", kv, a, json!({"data": ["x"]})),
            400,
        ),
        (
            "cas as text",
            json_req(
                "POST",
                kv,
                a,
                json!({"data": {}, "options": {"cas": "abc"}}),
            ),
            400,
        ),
        (
            "cas negative",
            json_req("POST", kv, a, json!({"data": {}, "options": {"cas": -1}})),
            400,
        ),
        (
            "cas 0 on an existing key",
            json_req("POST", kv, a, json!({"data": {}, "options": {"cas": 0}})),
            400,
        ),
        (
            "policy as a number",
            json_req("PUT", "/v1/sys/policies/acl/p", a, json!({"policy": 5})),
            400,
        ),
        (
            "policy syntax error",
            json_req(
                "PUT",
                "/v1/sys/policies/acl/p",
                a,
                json!({"policy": "path \"a\" {"}),
            ),
            400,
        ),
        (
            "policy unknown capability",
            json_req(
                "PUT",
                "/v1/sys/policies/acl/p",
                a,
                json!({"policy": "path \"a\" { capabilities = [\"own\"] }"}),
            ),
            400,
        ),
        (
            "role TTL as text",
            json_req(
                "POST",
                "/v1/auth/approle/role/r2",
                a,
                json!({"token_ttl": "soon"}),
            ),
            400,
        ),
        (
            "role policies as an object",
            json_req(
                "POST",
                "/v1/auth/approle/role/r2",
                a,
                json!({"token_policies": {"a": 1}}),
            ),
            400,
        ),
        (
            "AWS role of an unknown type",
            json_req(
                "POST",
                "/v1/aws/roles/r2",
                a,
                json!({"credential_type": "bogus"}),
            ),
            400,
        ),
        (
            "capabilities paths as a number",
            json_req("POST", "/v1/sys/capabilities-self", a, json!({"paths": 5})),
            400,
        ),
        (
            "audit-hash without input",
            json_req("POST", "/v1/sys/audit-hash/stdout", a, json!({})),
            400,
        ),
        (
            "audit-hash of another device",
            json_req("POST", "/v1/sys/audit-hash/file", a, json!({"input": "x"})),
            400,
        ),
        // Paths.
        (
            "dot-dot segments",
            request(
                "GET",
                "/v1/secret/data/../../sys/policies/acl/root",
                a,
                None,
            ),
            400,
        ),
        (
            "encoded dot-dot",
            request("GET", "/v1/secret/data/%2e%2e/x", a, None),
            400,
        ),
        (
            "encoded dot-dot, upper case",
            request("GET", "/v1/secret/data/%2E%2E/x", a, None),
            400,
        ),
        (
            "dot segment",
            request("GET", "/v1/secret/data/./app", a, None),
            400,
        ),
        (
            "empty segment",
            request("GET", "/v1/secret/data/a//b", a, None),
            400,
        ),
        (
            "double slash after v1",
            request("GET", "/v1//secret/data/app", a, None),
            400,
        ),
        (
            "encoded NUL",
            request("GET", "/v1/secret/data/app%00", a, None),
            400,
        ),
        (
            "raw NUL",
            request("GET", "/v1/secret/data/app\0", a, None),
            400,
        ),
        (
            "encoded line feed",
            request("GET", "/v1/secret/data/app%0a", a, None),
            400,
        ),
        (
            "invalid UTF-8 in the path",
            request("GET", "/v1/secret/data/%ff%fe", a, None),
            400,
        ),
        ("path over 2 KiB", request("GET", &long_path, a, None), 400),
        (
            "dot-dot as a policy name",
            request(
                "PUT",
                "/v1/sys/policies/acl/%2e%2e",
                a,
                Some(json!({"policy": ""})),
            ),
            400,
        ),
        (
            "dot-dot as a role name",
            request("POST", "/v1/auth/approle/role/%2e%2e/secret-id", a, None),
            400,
        ),
        (
            "unknown API version",
            request("GET", "/v2/secret/data/app", a, None),
            404,
        ),
        (
            "unknown route",
            request("GET", "/v1/nope/nothing", a, None),
            404,
        ),
        (
            "PATCH whose data is not an object",
            with_content_type(
                request("PATCH", kv, a, Some(json!({"data": "x"}))),
                "application/merge-patch+json",
            ),
            400,
        ),
        (
            "PATCH under a stale check-and-set",
            with_content_type(
                request(
                    "PATCH",
                    kv,
                    a,
                    Some(json!({"data": {"k": "v"}, "options": {"cas": 99}})),
                ),
                "application/merge-patch+json",
            ),
            400,
        ),
        (
            "PATCH sent as plain JSON",
            request("PATCH", kv, a, Some(json!({"data": {"k": "v"}}))),
            415,
        ),
        (
            "PATCH where no path takes it",
            request("PATCH", "/v1/sys/policies/acl/default", a, Some(json!({}))),
            405,
        ),
        ("made-up method", request("BREW", kv, a, None), 405),
        (
            "login with GET",
            request("GET", "/v1/auth/approle/login", None, None),
            405,
        ),
        // Headers and query.
        ("70 headers", many_headers, 431),
        (
            "a 17 KiB header",
            with_header(request("GET", kv, a, None), "x-big", &big_header),
            431,
        ),
        (
            "a 17 KiB token",
            request("GET", kv, Some(&big_header), None),
            431,
        ),
        (
            "40 query parameters",
            request("GET", &many_query, a, None),
            400,
        ),
        ("a 5 KiB query", request("GET", &big_query, a, None), 400),
        // Tokens.
        ("no token", request("GET", kv, None, None), 403),
        ("empty token", request("GET", kv, Some(""), None), 403),
        (
            "a replayed revoked token",
            request("GET", kv, Some(&revoked), None),
            403,
        ),
        (
            "a spent single-use token",
            request("GET", "/v1/auth/token/lookup-self", Some(&spent), None),
            403,
        ),
        (
            "an accessor as a token",
            request("GET", "/v1/auth/token/lookup-self", Some(&accessor), None),
            403,
        ),
        (
            "a secret ID as a token",
            request("GET", "/v1/auth/token/lookup-self", Some(&secret_id), None),
            403,
        ),
        (
            "a role ID as a token",
            request("GET", "/v1/auth/token/lookup-self", Some(&role_id), None),
            403,
        ),
        (
            "a JWT as a token",
            request(
                "GET",
                "/v1/auth/token/lookup-self",
                Some("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."),
                None,
            ),
            403,
        ),
        (
            "a token's hash as a token",
            request(
                "GET",
                "/v1/auth/token/lookup-self",
                Some(&"0".repeat(64)),
                None,
            ),
            403,
        ),
        (
            "non-ASCII token",
            request("GET", "/v1/auth/token/lookup-self", Some("sgl.é∂ƒ"), None),
            403,
        ),
        (
            "basic auth",
            with_header(
                request("GET", kv, None, None),
                "authorization",
                "Basic YWRtaW46YWRtaW4=",
            ),
            403,
        ),
        (
            "bearer without a token",
            with_header(request("GET", kv, None, None), "authorization", "Bearer "),
            403,
        ),
        (
            "a default-policy token on a secret",
            request("GET", kv, t, None),
            403,
        ),
        (
            "a default-policy token writing policy",
            json_req("PUT", "/v1/sys/policies/acl/x", t, json!({"policy": ""})),
            403,
        ),
        // Logins.
        (
            "wrong secret ID",
            json_req(
                "POST",
                "/v1/auth/approle/login",
                None,
                json!({"role_id": role_id, "secret_id": "nope"}),
            ),
            400,
        ),
        (
            "unknown role ID",
            json_req(
                "POST",
                "/v1/auth/approle/login",
                None,
                json!({"role_id": "nope", "secret_id": secret_id}),
            ),
            400,
        ),
        (
            "secret ID as a number",
            json_req(
                "POST",
                "/v1/auth/approle/login",
                None,
                json!({"role_id": role_id, "secret_id": 5}),
            ),
            400,
        ),
        (
            "role ID as a list",
            json_req(
                "POST",
                "/v1/auth/approle/login",
                None,
                json!({"role_id": [role_id], "secret_id": secret_id}),
            ),
            400,
        ),
        (
            "garbage JWT",
            json_req(
                "POST",
                "/v1/auth/jwt/login",
                None,
                json!({"role": "r", "jwt": "a.b.c"}),
            ),
            400,
        ),
        (
            "JWT over 16 KiB",
            json_req(
                "POST",
                "/v1/auth/jwt/login",
                None,
                json!({"role": "r", "jwt": big_jwt}),
            ),
            400,
        ),
        (
            "AWS login without a signed request",
            json_req("POST", "/v1/auth/aws/login", None, json!({"role": "r"})),
            400,
        ),
        (
            "AWS login with garbage",
            json_req(
                "POST",
                "/v1/auth/aws/login",
                None,
                json!({"role": "r", "iam_http_request_method": "POST", "iam_request_url": "!!", "iam_request_body": "%%", "iam_request_headers": "{"}),
            ),
            400,
        ),
        (
            "a negative wrap TTL on a login",
            with_header(
                json_req(
                    "POST",
                    "/v1/auth/approle/login",
                    None,
                    json!({"role_id": role_id, "secret_id": secret_id}),
                ),
                "x-vault-wrap-ttl",
                "-5m",
            ),
            400,
        ),
        (
            "a wrap TTL joined by a proxy on a KV read",
            with_header(request("GET", kv, a, None), "x-vault-wrap-ttl", "0,300"),
            400,
        ),
        (
            "a wrap TTL that is not a duration",
            with_header(request("GET", kv, a, None), "x-vault-wrap-ttl", "soon"),
            400,
        ),
    ];
    assert!(cases.len() >= 50, "{} cases", cases.len());

    let before = f.scan().await;
    for (name, req, want) in cases {
        let (status, body) = f.send(req).await;
        assert_eq!(status, want, "{name}: {body}");
        let errors = body["errors"].as_array();
        assert!(
            errors.is_some_and(|e| !e.is_empty() || status == 404),
            "{name}: Vault's error body expected, got {body}"
        );
        let after = f.scan().await;
        assert!(after == before, "{name}: the table changed");
    }
}

/// What a refused request looked like from outside and cost inside: status, body, and
/// the AWS calls it made, by operation.
async fn refusal(
    f: &Fixture,
    app: &sigil::App,
    req: ApiRequest,
) -> (u16, Value, std::collections::BTreeMap<String, u64>) {
    f.counter.reset();
    let resp = app.handle(req).await;
    let calls = f.counter.snapshot().into_iter().collect();
    (resp.status, resp.body.unwrap_or(Value::Null), calls)
}

#[tokio::test]
async fn failed_logins_and_bad_tokens_are_indistinguishable_and_cost_the_same() {
    use sigil::route::Function;
    let (f, clock) = Fixture::manual().await;
    let (role_id, secret_id) = f
        .approle(
            "web",
            json!({"token_policies": "default", "token_ttl": "60s"}),
        )
        .await;
    let (_, other_secret) = f.approle("other", json!({})).await;
    let login = f.app(Function::Login);
    f.warm(&login).await;
    let attempt = |role: &str, secret: &str| {
        json_req(
            "POST",
            "/v1/auth/approle/login",
            None,
            json!({"role_id": role, "secret_id": secret}),
        )
    };
    let unknown_role = refusal(&f, &login, attempt("no-such-role", &secret_id)).await;
    let wrong_secret = refusal(&f, &login, attempt(&role_id, "no-such-secret")).await;
    let foreign_secret = refusal(&f, &login, attempt(&role_id, &other_secret)).await;
    assert_eq!(unknown_role.0, 400);
    assert_eq!(
        unknown_role, wrong_secret,
        "unknown role vs wrong secret ID"
    );
    assert_eq!(
        unknown_role, foreign_secret,
        "unknown role vs another role's secret ID"
    );

    let revoked = f.login(&role_id, &secret_id).await;
    let (s, _) = f
        .call("POST", "/v1/auth/token/revoke-self", Some(&revoked), None)
        .await;
    assert_eq!(s, 204);
    let expired = f.login(&role_id, &secret_id).await;
    clock.advance(61);
    let issue = f.app(Function::Issue);
    f.warm(&issue).await;
    let lookup = |t: &str| request("GET", "/v1/auth/token/lookup-self", Some(t), None);
    let unknown = refusal(
        &f,
        &issue,
        lookup("sgl.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    )
    .await;
    let revoked = refusal(&f, &issue, lookup(&revoked)).await;
    let expired = refusal(&f, &issue, lookup(&expired)).await;
    assert_eq!(unknown.0, 403);
    assert_eq!(unknown, revoked, "unknown vs revoked token");
    assert_eq!(unknown, expired, "unknown vs expired token");
}
