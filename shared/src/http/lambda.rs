//! The Lambda adapter: API Gateway (HTTP API, payload 2.0) events to [`ApiRequest`] and
//! [`ApiResponse`] back, through `lambda_http`.

use futures::FutureExt;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use super::{ApiRequest, ApiResponse};
use crate::app::App;
use crate::crypto;

/// Converts a Lambda HTTP request. The caller's address, the request ID and the IAM
/// caller ARN come from API Gateway's request context (payload 2.0 or REST), which
/// API Gateway writes and the caller cannot.
pub fn to_api_request(req: &Request) -> ApiRequest {
    let (remote_addr, request_id, iam_caller_arn) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => (
            c.http.source_ip.clone(),
            c.request_id.clone(),
            c.authorizer
                .as_ref()
                .and_then(|a| a.iam.as_ref())
                .and_then(|i| i.user_arn.clone()),
        ),
        Some(RequestContext::ApiGatewayV1(c)) => (
            c.identity.source_ip.clone(),
            c.request_id.clone(),
            c.identity.user_arn.clone(),
        ),
        _ => (None, None, None),
    };
    let iam_caller_arn = iam_caller_arn.filter(|a| !a.is_empty());
    let request_id = request_id
        .filter(|r| !r.is_empty())
        .or_else(|| crypto::random_uuid().ok())
        .unwrap_or_default();
    let query = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let headers = req
        .headers()
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_ascii_lowercase(), v.to_owned()))
        })
        .collect();
    let body = match req.body() {
        Body::Empty => Vec::new(),
        Body::Text(t) => t.as_bytes().to_vec(),
        Body::Binary(b) => b.clone(),
        _ => Vec::new(),
    };
    ApiRequest {
        method: req.method().as_str().to_ascii_uppercase(),
        path: req.uri().path().to_owned(),
        query,
        headers,
        body,
        remote_addr,
        request_id,
        iam_caller_arn,
    }
}

/// Converts a response.
pub fn to_lambda_response(resp: ApiResponse) -> Response<Body> {
    let mut builder = Response::builder()
        .status(resp.status)
        .header("cache-control", "no-store");
    let body = match resp.body {
        Some(b) => {
            builder = builder.header("content-type", "application/json");
            Body::Text(b.to_string())
        }
        None => Body::Empty,
    };
    builder.body(body).unwrap_or_else(|_| {
        let mut r = Response::new(Body::Text(r#"{"errors":["internal error"]}"#.to_owned()));
        *r.status_mut() = lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// Handles one Lambda HTTP event with `app`: the function body of every HTTP function.
pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
    // Size limits (413 for a body over 1 MiB) are checked in `App::handle`, so a refused
    // request still gets its audit lines.
    let api = to_api_request(&req);
    let request_id = api.request_id.clone();
    // A panic in a handler is a bug; the client gets a 500 in Vault's shape with the
    // request ID, the log gets the rest, and the function keeps serving.
    match std::panic::AssertUnwindSafe(app.handle(api))
        .catch_unwind()
        .await
    {
        Ok(resp) => Ok(to_lambda_response(resp)),
        Err(_) => {
            tracing::error!(request_id = %request_id, "handler panicked");
            Ok(to_lambda_response(ApiResponse {
                status: 500,
                body: Some(
                    serde_json::json!({ "errors": [format!("internal error (request {request_id})")] }),
                ),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v2_event(authorizer: serde_json::Value) -> String {
        json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/v1/auth/aws/login",
            "rawQueryString": "",
            "headers": {
                "content-type": "application/json",
                "x-amzn-iam-caller-arn": "arn:aws:iam::123456789012:user/spoofed",
                "iam_caller_arn": "arn:aws:iam::123456789012:user/spoofed",
                "useragent": "arn:aws:iam::123456789012:user/spoofed"
            },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "authorizer": authorizer,
                "domainName": "sigil.example",
                "domainPrefix": "sigil",
                "http": {
                    "method": "POST",
                    "path": "/v1/auth/aws/login",
                    "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.1",
                    "userAgent": "test"
                },
                "requestId": "req-1",
                "routeKey": "$default",
                "stage": "$default",
                "time": "01/Jan/2025:00:00:00 +0000",
                "timeEpoch": 1735689600000u64
            },
            "body": "{\"role\":\"ci\",\"iam_caller_arn\":\"arn:aws:iam::123456789012:user/spoofed\"}",
            "isBase64Encoded": false
        })
        .to_string()
    }

    #[test]
    fn the_iam_caller_arn_comes_only_from_the_request_context() {
        // The shape API Gateway sends for a route with AWS_IAM authorization (the IAM
        // login API of infra/template.yaml): "Working with AWS Lambda proxy
        // integrations for HTTP APIs", payload format 2.0.
        let with_iam = v2_event(json!({"iam": {
            "accessKey": "ASIAEXAMPLE",
            "accountId": "123456789012",
            "callerId": "AROAEXAMPLE:s1",
            "cognitoIdentity": null,
            "principalOrgId": null,
            "userArn": "arn:aws:sts::123456789012:assumed-role/deploy/s1",
            "userId": "AROAEXAMPLE:s1"
        }}));
        let req = lambda_http::request::from_str(&with_iam).unwrap();
        let api = to_api_request(&req);
        assert_eq!(
            api.iam_caller_arn.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/deploy/s1")
        );
        assert_eq!(api.remote_addr.as_deref(), Some("192.0.2.1"));
        // Without IAM authorization, headers and body naming an ARN change nothing.
        let without = v2_event(json!({"jwt": {"claims": {"sub": "x"}, "scopes": null}}));
        let api = to_api_request(&lambda_http::request::from_str(&without).unwrap());
        assert_eq!(api.iam_caller_arn, None);
        assert!(api.header("x-amzn-iam-caller-arn").is_some());
    }

    fn memory_app(
        store: &std::sync::Arc<crate::store::memory::MemoryStore>,
        keyring: &std::sync::Arc<crate::keyring::Keyring>,
        f: crate::route::Function,
    ) -> App {
        App {
            keyring: keyring.clone(),
            ..App::in_memory(
                f,
                store.clone(),
                std::sync::Arc::new(crate::clock::ManualClock::new(1_000)),
            )
        }
    }

    /// API Gateway hands a body that is not UTF-8 text to the function base64-encoded
    /// (`isBase64Encoded`); every route answers it with Vault's 400 and changes nothing.
    /// (`cargo lambda watch` instead answers 500 itself for such a body sent as
    /// `application/json` or `text/*`, before the function runs: see docs/ops.md.)
    #[tokio::test]
    async fn a_body_that_is_not_utf8_is_a_400_on_every_route() {
        use crate::route::Function;
        use base64::Engine as _;
        let store = std::sync::Arc::new(crate::store::memory::MemoryStore::new());
        let keyring = std::sync::Arc::new(crate::keyring::Keyring::new(
            store.clone(),
            std::sync::Arc::new(crate::kms::FakeKms::new()),
            "memory",
        ));
        keyring.ensure_audit_key("k", 0).await.unwrap();
        let admin_app = memory_app(&store, &keyring, Function::Admin);
        let admin = crate::bootstrap::admin_token(store.as_ref(), admin_app.limits(), 3600, 1_000)
            .await
            .unwrap();
        let token = secrecy::ExposeSecret::expose_secret(&admin.token).to_owned();
        let before = store.dump().len();
        let body = base64::engine::general_purpose::STANDARD.encode(b"{\"role\":\"\xff\xfe\"}");
        for (f, method, path, auth) in [
            (Function::Login, "POST", "/v1/auth/jwt/login", false),
            (Function::Login, "POST", "/v1/auth/kubernetes/login", false),
            (Function::Login, "POST", "/v1/auth/aws/login", false),
            (Function::Login, "POST", "/v1/auth/approle/login", false),
            (Function::Admin, "POST", "/v1/auth/jwt/config", true),
            (Function::Admin, "POST", "/v1/auth/jwt/role/r", true),
            (Function::Admin, "POST", "/v1/auth/kubernetes/config", true),
            (Function::Admin, "POST", "/v1/auth/aws/config/client", true),
            (Function::Admin, "POST", "/v1/auth/aws/role/r", true),
            (Function::Admin, "PUT", "/v1/sys/policies/acl/p", true),
            (Function::Admin, "POST", "/v1/secret/data/x", true),
            (Function::Renew, "POST", "/v1/auth/token/renew-self", true),
            (Function::Revoke, "PUT", "/v1/sys/leases/revoke", true),
        ] {
            let mut headers = json!({"content-type": "application/json"});
            if auth {
                headers["x-vault-token"] = json!(token);
            }
            let event = json!({
                "version": "2.0",
                "routeKey": "$default",
                "rawPath": path,
                "rawQueryString": "",
                "headers": headers,
                "requestContext": {
                    "accountId": "123456789012", "apiId": "api", "domainName": "sigil.example",
                    "domainPrefix": "sigil", "requestId": "req-utf8", "routeKey": "$default",
                    "stage": "$default", "time": "01/Jan/2025:00:00:00 +0000",
                    "timeEpoch": 1735689600000u64,
                    "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                             "sourceIp": "192.0.2.1", "userAgent": "test"}
                },
                "body": body,
                "isBase64Encoded": true
            })
            .to_string();
            let req = lambda_http::request::from_str(&event).unwrap();
            let resp = handle(&memory_app(&store, &keyring, f), req).await.unwrap();
            assert_eq!(resp.status(), 400, "{method} {path}");
            let Body::Text(text) = resp.body() else {
                panic!("{path}: no JSON body")
            };
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            assert!(v["errors"][0].as_str().is_some(), "{path}: {text}");
        }
        assert_eq!(store.dump().len(), before, "nothing was written");
    }

    #[test]
    fn rest_api_identity_user_arn() {
        let event = json!({
            "resource": "/{proxy+}",
            "path": "/v1/auth/aws/login",
            "httpMethod": "POST",
            "headers": {"content-type": "application/json"},
            "multiValueHeaders": {"content-type": ["application/json"]},
            "queryStringParameters": null,
            "multiValueQueryStringParameters": null,
            "pathParameters": null,
            "stageVariables": null,
            "requestContext": {
                "accountId": "123456789012",
                "resourceId": "r",
                "stage": "prod",
                "requestId": "req-2",
                "identity": {
                    "sourceIp": "192.0.2.2",
                    "userArn": "arn:aws:iam::123456789012:user/alice"
                },
                "resourcePath": "/{proxy+}",
                "httpMethod": "POST",
                "apiId": "api"
            },
            "body": "{}",
            "isBase64Encoded": false
        })
        .to_string();
        let api = to_api_request(&lambda_http::request::from_str(&event).unwrap());
        assert_eq!(
            api.iam_caller_arn.as_deref(),
            Some("arn:aws:iam::123456789012:user/alice")
        );
    }
}
