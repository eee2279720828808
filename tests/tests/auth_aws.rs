//! The AWS IAM auth method (`auth/aws`) in-process against DynamoDB Local and moto's
//! IAM and STS: logins with `GetCallerIdentity` requests signed (SigV4, as Vault's CLI
//! signs them) with credentials of an IAM user and of an assumed role, the refusals
//! (which must write no token), the API Gateway request-context login, and the admin
//! routes.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sigil::auth_aws::sign::{self, SignSpec};
use sigil::route::Function;
use sigil_tests::{Fixture, request, unique};

const SERVER_ID: &str = "sigil-test.example";
const INVALID: &str = "invalid role or AWS credentials";

/// moto's STS: the stack's endpoint.
fn sts_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_STS")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .expect("AWS_ENDPOINT_URL: run with the stack's variables (.sigil/stack.env)")
}

/// An IAM user created in moto, with an access key: (ARN, credentials).
async fn iam_user(f: &Fixture) -> (String, Credentials) {
    let iam = sigil::aws::iam_client(&f.sdk, None);
    let name = unique("ci-user");
    let user = iam.create_user().user_name(&name).send().await.unwrap();
    let arn = user.user().unwrap().arn().to_owned();
    let key = iam
        .create_access_key()
        .user_name(&name)
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let creds = Credentials::new(
        key.access_key_id(),
        key.secret_access_key(),
        None,
        None,
        "moto",
    );
    (arn, creds)
}

/// A role created in moto and assumed through moto's STS: (role name, session credentials).
async fn assumed_role(f: &Fixture) -> (String, Credentials) {
    let iam = sigil::aws::iam_client(&f.sdk, None);
    let name = unique("deploy");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let arn = role.role().unwrap().arn().to_owned();
    let out = sigil::aws::sts_client(&f.sdk, None)
        .assume_role()
        .role_arn(arn)
        .role_session_name("job-1")
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    (
        name,
        Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            None,
            "moto-sts",
        ),
    )
}

fn signed(creds: &Credentials, server_id: Option<&str>) -> serde_json::Map<String, Value> {
    sign::login_data(
        creds,
        &sts_endpoint(),
        "us-east-1",
        server_id,
        SystemTime::now(),
    )
    .unwrap()
}

fn with_role(mut body: serde_json::Map<String, Value>, role: &str) -> Value {
    body.insert("role".into(), json!(role));
    Value::Object(body)
}

/// Rewrites the JSON headers of a login body.
fn edit_headers(body: &mut serde_json::Map<String, Value>, edit: impl FnOnce(&mut Value)) {
    let text = STANDARD
        .decode(body["iam_request_headers"].as_str().unwrap())
        .unwrap();
    let mut h: Value = serde_json::from_slice(&text).unwrap();
    edit(&mut h);
    body.insert(
        "iam_request_headers".into(),
        json!(STANDARD.encode(h.to_string())),
    );
}

async fn tokens(f: &Fixture) -> usize {
    f.scan()
        .await
        .iter()
        .filter(|i| i["sk"].as_s().unwrap() == "token")
        .count()
}

async fn configure(f: &Fixture) {
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/aws/config/client",
            Some(&f.admin),
            Some(json!({"sts_endpoint": sts_endpoint(), "iam_server_id_header_value": SERVER_ID})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
}

async fn role(f: &Fixture, name: &str, bound: &[&str]) {
    let (s, b) = f
        .call(
            "POST",
            &format!("/v1/auth/aws/role/{name}"),
            Some(&f.admin),
            Some(json!({"auth_type": "iam", "bound_iam_principal_arn": bound, "token_policies": "ci", "token_ttl": "10m"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
}

#[tokio::test]
async fn an_iam_user_logs_in_with_a_signed_get_caller_identity() {
    let f = Fixture::new().await;
    configure(&f).await;
    let (arn, creds) = iam_user(&f).await;
    role(&f, "ci", &[&arn]).await;
    // A warm login function (audit key and quotas read at its first request).
    let login = f.app(Function::Login);
    f.warm(&login).await;
    f.counter.reset();
    let resp = login
        .handle(request(
            "POST",
            "/v1/auth/aws/login",
            None,
            Some(with_role(signed(&creds, Some(SERVER_ID)), "ci")),
        ))
        .await;
    let (s, b) = (resp.status, resp.body.unwrap_or(Value::Null));
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        f.counter.service_total("DynamoDB"),
        3,
        "config and role in one read, the alias's index (the identity's first login), \
         the token with the new entity in one transaction: {:?}",
        f.counter.snapshot()
    );
    let auth = &b["auth"];
    // The entity alias: the role's role_id, with Vault's default iam_metadata.
    let entity_id = auth["entity_id"].as_str().unwrap().to_owned();
    let (_, r) = f
        .call("GET", "/v1/auth/aws/role/ci", Some(&f.admin), None)
        .await;
    let (s, e) = f
        .call(
            "GET",
            &format!("/v1/identity/entity/id/{entity_id}"),
            Some(&f.admin),
            None,
        )
        .await;
    assert_eq!(s, 200, "{e}");
    let alias = &e["data"]["aliases"][0];
    assert_eq!(alias["name"], r["data"]["role_id"]);
    assert_eq!(alias["mount_type"], "aws");
    assert_eq!(
        alias["metadata"],
        json!({"account_id": "123456789012", "auth_type": "iam"})
    );
    assert_eq!(auth["policies"], json!(["ci", "default"]));
    assert_eq!(auth["lease_duration"], 600);
    assert_eq!(auth["metadata"]["client_arn"], arn);
    assert_eq!(auth["metadata"]["canonical_arn"], arn);
    assert_eq!(auth["metadata"]["account_id"], "123456789012");
    assert_eq!(auth["metadata"]["auth_type"], "iam");
    assert_eq!(auth["metadata"]["role"], "ci");
    assert_eq!(b["mount_type"], "aws");
    let token = auth["client_token"].as_str().unwrap();
    let (s, l) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(token), None)
        .await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["data"]["path"], "auth/aws/login");
    assert!(
        l["data"]["display_name"]
            .as_str()
            .unwrap()
            .starts_with("aws-ci-user-"),
        "{l}"
    );

    // hvac's shape: an explicit, signed Host header, and header values as plain
    // strings rather than Go's lists.
    let authority = sts_endpoint()
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    let mut spec = SignSpec::get_caller_identity(&sts_endpoint(), "us-east-1", Some(SERVER_ID));
    spec.headers.push(("host".into(), authority));
    let mut body = sign::sign(&creds, &spec, SystemTime::now()).unwrap();
    edit_headers(&mut body, |h| {
        for v in h.as_object_mut().unwrap().values_mut() {
            *v = v[0].clone();
        }
    });
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/aws/login",
            None,
            Some(with_role(body, "ci")),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["auth"]["entity_id"], json!(entity_id), "the same entity");
}

#[tokio::test]
async fn an_assumed_role_session_logs_in_through_a_wildcard_role_binding() {
    let f = Fixture::new().await;
    configure(&f).await;
    let (role_name, creds) = assumed_role(&f).await;
    role(&f, "deploy", &["arn:aws:iam::123456789012:role/deploy-*"]).await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/aws/login",
            None,
            Some(with_role(signed(&creds, Some(SERVER_ID)), "deploy")),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let meta = &b["auth"]["metadata"];
    assert_eq!(
        meta["client_arn"],
        format!("arn:aws:sts::123456789012:assumed-role/{role_name}/job-1")
    );
    assert_eq!(
        meta["canonical_arn"],
        format!("arn:aws:iam::123456789012:role/{role_name}")
    );
    // Without `role`, Vault's rule: the role named like the caller's role.
    role(
        &f,
        &role_name,
        &[&format!("arn:aws:iam::123456789012:role/{role_name}")],
    )
    .await;
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/aws/login",
            None,
            Some(Value::Object(signed(&creds, Some(SERVER_ID)))),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["auth"]["metadata"]["role"], role_name);
}

/// `config/identity`: `iam_alias=canonical_arn` names the alias by the role's ARN, so
/// two sessions of one role are one entity; `iam_metadata` picks the alias metadata.
#[tokio::test]
async fn config_identity_names_the_alias_by_the_canonical_arn() {
    let f = Fixture::new().await;
    configure(&f).await;
    let (role_name, creds) = assumed_role(&f).await;
    role(&f, "deploy", &["arn:aws:iam::123456789012:role/deploy-*"]).await;
    let (s, b) = f.admin_call("GET", "auth/aws/config/identity", None).await;
    assert_eq!(
        (s, &b["data"]["iam_alias"]),
        (200, &json!("role_id")),
        "{b}"
    );
    let (s, b) = f
        .admin_call(
            "POST",
            "auth/aws/config/identity",
            Some(
                json!({"iam_alias": "canonical_arn", "iam_metadata": ["account_id", "client_arn"]}),
            ),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/aws/login",
            None,
            Some(with_role(signed(&creds, Some(SERVER_ID)), "deploy")),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let id = b["auth"]["entity_id"].as_str().unwrap().to_owned();
    let (s, e) = f
        .admin_call("GET", &format!("identity/entity/id/{id}"), None)
        .await;
    assert_eq!(s, 200, "{e}");
    let alias = &e["data"]["aliases"][0];
    assert_eq!(
        alias["name"],
        json!(format!("arn:aws:iam::123456789012:role/{role_name}"))
    );
    assert_eq!(
        alias["metadata"],
        json!({"account_id": "123456789012",
               "client_arn": format!("arn:aws:sts::123456789012:assumed-role/{role_name}/job-1")})
    );
}

#[tokio::test]
async fn forged_or_foreign_requests_are_refused_and_write_nothing() {
    let f = Fixture::new().await;
    configure(&f).await;
    let (arn, creds) = iam_user(&f).await;
    let (_, other_creds) = iam_user(&f).await;
    role(&f, "ci", &[&arn]).await;
    let before = tokens(&f).await;
    let now = SystemTime::now();
    let spec = SignSpec::get_caller_identity(&sts_endpoint(), "us-east-1", Some(SERVER_ID));
    let variant = |spec: SignSpec| sign::sign(&creds, &spec, now).unwrap();

    let mut cases: Vec<(&str, Value)> = Vec::new();
    // Signed for another host (the same moto under another name, and AWS's).
    let localhost = sts_endpoint().replace("127.0.0.1", "localhost");
    cases.push((
        "another host",
        with_role(
            sign::login_data(&creds, &localhost, "us-east-1", Some(SERVER_ID), now).unwrap(),
            "ci",
        ),
    ));
    cases.push((
        "AWS's host",
        with_role(
            sign::login_data(
                &creds,
                "https://sts.amazonaws.com",
                "us-east-1",
                Some(SERVER_ID),
                now,
            )
            .unwrap(),
            "ci",
        ),
    ));
    // A Host header naming another host, signed.
    let mut host_spec = spec.clone();
    host_spec
        .headers
        .push(("host".into(), "sts.amazonaws.com".into()));
    cases.push((
        "signed Host of another host",
        with_role(variant(host_spec), "ci"),
    ));
    // Another action, and extra parameters.
    cases.push((
        "another action",
        with_role(
            variant(
                spec.clone()
                    .with_body("Action=GetSessionToken&Version=2011-06-15"),
            ),
            "ci",
        ),
    ));
    cases.push((
        "extra form parameters",
        with_role(
            variant(
                spec.clone()
                    .with_body("Action=GetCallerIdentity&Version=2011-06-15&DurationSeconds=900"),
            ),
            "ci",
        ),
    ));
    cases.push((
        "method GET",
        with_role(
            variant(SignSpec {
                method: "GET".into(),
                ..spec.clone()
            }),
            "ci",
        ),
    ));
    // The server ID header: missing, wrong, present but unsigned.
    cases.push(("no server ID", with_role(signed(&creds, None), "ci")));
    cases.push((
        "wrong server ID",
        with_role(signed(&creds, Some("other.example")), "ci"),
    ));
    let mut unsigned = signed(&creds, None);
    edit_headers(&mut unsigned, |h| {
        h["X-Vault-Aws-Iam-Server-Id"] = json!([SERVER_ID]);
    });
    cases.push(("unsigned server ID", with_role(unsigned, "ci")));
    // A valid request of a principal the role does not bind, and an unknown role.
    cases.push((
        "principal not bound",
        with_role(signed(&other_creds, Some(SERVER_ID)), "ci"),
    ));
    cases.push((
        "unknown role",
        with_role(signed(&creds, Some(SERVER_ID)), "nope"),
    ));
    // A tampered signature: STS refuses it (moto checks no signatures, so the
    // credentials are swapped for unknown ones instead).
    let fake = Credentials::new("AKIAUNKNOWNUNKNOWN00", "x", None, None, "t");
    cases.push((
        "unknown credentials",
        with_role(signed(&fake, Some(SERVER_ID)), "ci"),
    ));
    for (what, body) in cases {
        let (s, b) = f.call("POST", "/v1/auth/aws/login", None, Some(body)).await;
        assert_eq!((s, b), (400, json!({"errors": [INVALID]})), "{what}");
    }

    // Malformed fields: specific 400s.
    let good = with_role(signed(&creds, Some(SERVER_ID)), "ci");
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    for (what, body, needle) in [
        (
            "bad base64",
            with("iam_request_url", json!("%%%")),
            "base64",
        ),
        (
            "bad JSON",
            with("iam_request_headers", json!(STANDARD.encode("{not json"))),
            "JSON",
        ),
        (
            "oversized headers",
            with(
                "iam_request_headers",
                json!(STANDARD.encode(format!("{{\"A\":\"{}\"}}", "a".repeat(40_000)))),
            ),
            "too large",
        ),
        (
            "oversized body",
            with("iam_request_body", json!(STANDARD.encode("a".repeat(5000)))),
            "too large",
        ),
        (
            "missing field",
            {
                let mut b = good.clone();
                b.as_object_mut().unwrap().remove("iam_request_body");
                b
            },
            "missing iam_request_body",
        ),
    ] {
        let (s, b) = f.call("POST", "/v1/auth/aws/login", None, Some(body)).await;
        assert_eq!(s, 400, "{what}: {b}");
        assert!(
            b["errors"][0].as_str().unwrap().contains(needle),
            "{what}: {b}"
        );
    }
    assert_eq!(tokens(&f).await, before, "no token written by any refusal");
}

#[tokio::test]
async fn request_context_login_uses_only_api_gateways_caller_arn() {
    let f = Fixture::new().await;
    let arn = "arn:aws:sts::123456789012:assumed-role/lambda-app/fn-1";
    role(&f, "app", &["arn:aws:iam::123456789012:role/lambda-app"]).await;
    let app = f.app(Function::Login);
    let before = tokens(&f).await;

    let mut req = request(
        "POST",
        "/v1/auth/aws/login",
        None,
        Some(json!({"role": "app"})),
    );
    req.iam_caller_arn = Some(arn.to_owned());
    let resp = app.handle(req).await;
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    let body = resp.body.unwrap();
    assert_eq!(body["auth"]["metadata"]["client_arn"], arn);
    assert_eq!(tokens(&f).await, before + 1);

    // Unbound caller: refused.
    let mut req = request(
        "POST",
        "/v1/auth/aws/login",
        None,
        Some(json!({"role": "app"})),
    );
    req.iam_caller_arn = Some("arn:aws:sts::123456789012:assumed-role/other/fn-1".into());
    let resp = app.handle(req).await;
    assert_eq!(
        (resp.status, resp.body),
        (400, Some(json!({"errors": [INVALID]})))
    );

    // No context: a header or a body field naming an ARN is not the context.
    let mut req = request(
        "POST",
        "/v1/auth/aws/login",
        None,
        Some(json!({"role": "app", "iam_caller_arn": arn, "caller_arn": arn, "userArn": arn})),
    );
    req.headers
        .push(("x-amzn-iam-caller-arn".into(), arn.into()));
    req.headers.push(("iam_caller_arn".into(), arn.into()));
    let resp = app.handle(req).await;
    assert_eq!(resp.status, 400, "{:?}", resp.body);
    let msg = resp.body.unwrap()["errors"][0].as_str().unwrap().to_owned();
    assert!(msg.starts_with("missing AWS credentials"), "{msg}");
    assert_eq!(tokens(&f).await, before + 1, "refusals write nothing");
}

#[tokio::test]
async fn admin_routes_follow_vaults_shapes_and_refuse_what_sigil_cannot_honour() {
    let f = Fixture::new().await;
    let admin = Some(f.admin.as_str());
    let (s, _) = f
        .call("GET", "/v1/auth/aws/config/client", admin, None)
        .await;
    assert_eq!(s, 404, "not configured yet");
    for (body, needle) in [
        (
            json!({"access_key": "AKIA", "secret_key": "x"}),
            "no AWS credentials",
        ),
        (
            json!({"sts_endpoint": "https://user:pw@sts.amazonaws.com"}),
            "user name",
        ),
        (json!({"sts_endpoint": "sts.amazonaws.com"}), "absolute"),
    ] {
        let (s, b) = f
            .call("POST", "/v1/auth/aws/config/client", admin, Some(body))
            .await;
        assert_eq!(s, 400, "{b}");
        assert!(b["errors"][0].as_str().unwrap().contains(needle), "{b}");
    }
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/aws/config/client",
            admin,
            Some(json!({"iam_server_id_header_value": SERVER_ID, "iam_endpoint": "https://iam.example"})),
        )
        .await;
    assert_eq!(s, 200, "a warning for the ignored field: {b}");
    assert!(b["warnings"][0].as_str().unwrap().contains("iam_endpoint"));
    let (s, b) = f
        .call("GET", "/v1/auth/aws/config/client", admin, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["data"]["sts_endpoint"], "https://sts.amazonaws.com");
    assert_eq!(b["data"]["iam_server_id_header_value"], SERVER_ID);

    for (body, needle) in [
        (json!({"auth_type": "ec2", "bound_ami_id": "ami-1"}), "ec2"),
        (
            json!({"bound_iam_principal_arn": "arn:aws:iam::123456789012:role/x", "resolve_aws_unique_ids": true}),
            "resolve_aws_unique_ids",
        ),
        (json!({"token_policies": "ci"}), "bound_iam_principal_arn"),
    ] {
        let (s, b) = f
            .call("POST", "/v1/auth/aws/role/r", admin, Some(body))
            .await;
        assert_eq!(s, 400, "{b}");
        assert!(b["errors"][0].as_str().unwrap().contains(needle), "{b}");
    }
    let (s, _) = f.call("LIST", "/v1/auth/aws/role", admin, None).await;
    assert_eq!(s, 404, "refused writes created nothing");
    let (s, b) = f
        .call(
            "POST",
            "/v1/auth/aws/role/r",
            admin,
            Some(json!({"bound_iam_principal_arn": "arn:aws:iam::123456789012:role/a, arn:aws:iam::123456789012:role/b", "policies": "x", "ttl": "5m"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    let (_, b) = f.call("GET", "/v1/auth/aws/role/r", admin, None).await;
    assert_eq!(
        b["data"]["bound_iam_principal_arn"],
        json!([
            "arn:aws:iam::123456789012:role/a",
            "arn:aws:iam::123456789012:role/b"
        ])
    );
    assert_eq!(b["data"]["token_policies"], json!(["x"]));
    assert_eq!(b["data"]["token_ttl"], 300);
    assert_eq!(b["data"]["auth_type"], "iam");
    assert_eq!(b["data"]["resolve_aws_unique_ids"], false);
    let (_, b) = f.call("LIST", "/v1/auth/aws/role", admin, None).await;
    assert_eq!(b["data"]["keys"], json!(["r"]));
    let (s, _) = f.call("DELETE", "/v1/auth/aws/role/r", admin, None).await;
    assert_eq!(s, 204);
    let (s, _) = f
        .call("DELETE", "/v1/auth/aws/config/client", admin, None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = f
        .call("GET", "/v1/auth/aws/config/client", admin, None)
        .await;
    assert_eq!(s, 404);
    // Without a token: refused.
    let (s, _) = f.call("GET", "/v1/auth/aws/role/r", None, None).await;
    assert_eq!(s, 403);
}

/// Serves HTTP requests on a loopback port by handing them to the in-process login
/// function, for `count` requests: enough HTTP for the `sigil` command to talk to.
fn bridge(f: &Fixture, count: usize) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let app = f.app(Function::Login);
    let rt = tokio::runtime::Handle::current();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap().to_owned(),
                parts.next().unwrap().to_owned(),
            );
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                let (k, v) = h.split_once(':').unwrap();
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
            let len = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let mut req = request(&method, &path, None, None);
            req.headers = headers;
            req.body = body;
            let resp = rt.block_on(app.handle(req));
            let text = resp.body.map(|b| b.to_string()).unwrap_or_default();
            write!(
                stream,
                "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                resp.status,
                text.len()
            )
            .unwrap();
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigil_login_aws_signs_with_the_sdk_credential_chain_and_logs_in() {
    let f = Fixture::new().await;
    configure(&f).await;
    let (arn, creds) = iam_user(&f).await;
    role(&f, "ci", &[&arn]).await;
    let addr = bridge(&f, 2);
    let run = move |args: Vec<String>| {
        let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/debug/sigil");
        std::process::Command::new(bin)
            .args(args)
            .env("SIGIL_ADDR", &addr)
            .env("AWS_ACCESS_KEY_ID", creds.access_key_id())
            .env("AWS_SECRET_ACCESS_KEY", creds.secret_access_key())
            .env("AWS_ENDPOINT_URL", sts_endpoint())
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("SIGIL_TOKEN")
            .env_remove("VAULT_TOKEN")
            .output()
            .expect("target/debug/sigil (cargo build -p sigil-cli)")
    };
    let args = |extra: &[&str]| -> Vec<String> {
        ["login", "aws", "-role=ci", "-field=token"]
            .iter()
            .chain(extra)
            .map(|s| (*s).to_owned())
            .collect()
    };
    let with_header = args(&[&format!("-header-value={SERVER_ID}")]);
    let without = args(&[]);
    let (ok, refused) = tokio::task::spawn_blocking(move || (run(with_header), run(without)))
        .await
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let token = String::from_utf8(ok.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("sgl."), "{token}");
    let (s, l) = f
        .call("GET", "/v1/auth/token/lookup-self", Some(&token), None)
        .await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["data"]["meta"]["client_arn"], arn);
    // Without the server ID header the server requires: refused, exit code 2.
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains(INVALID));
}
