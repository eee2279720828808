//! The Lambda adapter: API Gateway (HTTP API, payload 2.0) events to [`ApiRequest`] and
//! [`ApiResponse`] back, through `lambda_http`.

use futures::FutureExt;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use super::{ApiRequest, ApiResponse, MAX_BODY_BYTES};
use crate::app::App;
use crate::crypto;

/// Converts a Lambda HTTP request.
pub fn to_api_request(req: &Request) -> ApiRequest {
    let (remote_addr, request_id) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => (c.http.source_ip.clone(), c.request_id.clone()),
        Some(RequestContext::ApiGatewayV1(c)) => {
            (c.identity.source_ip.clone(), c.request_id.clone())
        }
        _ => (None, None),
    };
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
    let api = to_api_request(&req);
    if api.body.len() > MAX_BODY_BYTES {
        return Ok(to_lambda_response(ApiResponse::error(
            &crate::error::ApiError::TooLarge,
        )));
    }
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
