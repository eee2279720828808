//! The client side of Vault's `iam` login: signs an `sts:GetCallerIdentity` request
//! with the caller's AWS credentials (SigV4, with the AWS SDK's `aws-sigv4`) and
//! returns the login fields, built as Vault's CLI builds them (`vault login
//! -method=aws`, through `awsutil.GenerateLoginData`): method `POST`, the URL of the
//! STS endpoint with path `/`, the body `Action=GetCallerIdentity&Version=2011-06-15`,
//! and the headers as a JSON object of lists (Go's `http.Header`, names in Go's
//! canonical case, no `Host`: it is implied by the URL), each base64. With a server
//! ID, the `X-Vault-AWS-IAM-Server-ID` header is added before signing, so it is signed.
//!
//! `sigil login aws` and the tests use it; a Lambda function never does.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign as sigv4};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value as Json, json};

use super::SERVER_ID_HEADER;
use super::config::parse_endpoint;
use super::iam_request::{ACTION, VERSION};
use crate::http::params::Body;

/// Why a login request could not be built. Never holds credentials.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The endpoint is not an `http(s)` origin.
    #[error("invalid STS endpoint {0:?}")]
    Endpoint(String),
    /// SigV4 refused the request or the parameters.
    #[error("could not sign the request: {0}")]
    Signing(String),
}

/// What to sign: the parts of the request, so that tests can sign variants (another
/// action, another host) exactly as a client would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignSpec {
    /// Method (`POST`).
    pub method: String,
    /// Full URL, e.g. `https://sts.amazonaws.com/`.
    pub url: String,
    /// Region of the SigV4 credential scope.
    pub region: String,
    /// Form body.
    pub body: String,
    /// Headers to sign besides `Host` (which SigV4 takes from the URL): name, value.
    pub headers: Vec<(String, String)>,
}

impl SignSpec {
    /// Vault's login request: `POST {endpoint}/` with the `GetCallerIdentity` form, its
    /// `Content-Type` and `Content-Length`, and the server ID header when given. An
    /// endpoint that does not parse is kept as given (signing then fails).
    pub fn get_caller_identity(endpoint: &str, region: &str, server_id: Option<&str>) -> Self {
        let url = parse_endpoint(endpoint)
            .map(|e| e.url.to_string())
            .unwrap_or_else(|_| endpoint.to_owned());
        let body = format!("{}={}&{}={}", ACTION.0, ACTION.1, VERSION.0, VERSION.1);
        let mut headers = vec![
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
            ("content-length".to_owned(), body.len().to_string()),
        ];
        if let Some(id) = server_id.filter(|s| !s.is_empty()) {
            headers.push((SERVER_ID_HEADER.to_owned(), id.to_owned()));
        }
        Self {
            method: "POST".into(),
            url,
            region: region.into(),
            body,
            headers,
        }
    }
}

impl SignSpec {
    /// The same request with another body; its `Content-Length` header follows.
    pub fn with_body(mut self, body: &str) -> Self {
        self.body = body.to_owned();
        for (k, v) in &mut self.headers {
            if k == "content-length" {
                *v = body.len().to_string();
            }
        }
        self
    }
}

/// A header name in Go's canonical form (`x-amz-date` → `X-Amz-Date`), as Vault's CLI
/// serializes them.
pub fn go_canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// Signs `spec` with `creds` at `time` and returns the four `iam_*` login fields.
pub fn sign(creds: &Credentials, spec: &SignSpec, time: SystemTime) -> Result<Body, SignError> {
    let identity: Identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&spec.region)
        .name("sts")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| SignError::Signing(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        &spec.method,
        spec.url.as_str(),
        spec.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(spec.body.as_bytes()),
    )
    .map_err(|_| SignError::Endpoint(spec.url.clone()))?;
    let (instructions, _signature) = sigv4(signable, &params)
        .map_err(|e| SignError::Signing(e.to_string()))?
        .into_parts();
    let mut headers = Map::new();
    for (k, v) in &spec.headers {
        headers.insert(go_canonical(k), json!([v]));
    }
    for (k, v) in instructions.headers() {
        headers.insert(go_canonical(k), json!([v]));
    }
    let headers = Json::Object(headers).to_string();
    let mut out = Body::new();
    for (k, v) in [
        ("iam_http_request_method", spec.method.clone()),
        ("iam_request_url", STANDARD.encode(&spec.url)),
        ("iam_request_body", STANDARD.encode(&spec.body)),
        ("iam_request_headers", STANDARD.encode(headers)),
    ] {
        out.insert(k.to_owned(), Json::String(v));
    }
    Ok(out)
}

/// Vault's login fields for `creds`: a `GetCallerIdentity` for `endpoint` (e.g.
/// `https://sts.amazonaws.com`), signed for `region`, carrying `server_id` when given.
pub fn login_data(
    creds: &Credentials,
    endpoint: &str,
    region: &str,
    server_id: Option<&str>,
    time: SystemTime,
) -> Result<Body, SignError> {
    parse_endpoint(endpoint).map_err(|_| SignError::Endpoint(endpoint.to_owned()))?;
    sign(
        creds,
        &SignSpec::get_caller_identity(endpoint, region, server_id),
        time,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth_aws::config::ClientConfig;
    use crate::auth_aws::iam_request::IamLogin;

    fn decoded(b: &Body, k: &str) -> String {
        String::from_utf8(STANDARD.decode(b[k].as_str().unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn builds_what_vaults_cli_sends() {
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "SECRETKEY",
            Some("SESSIONTOKEN".into()),
            None,
            "t",
        );
        let b = login_data(
            &creds,
            "https://sts.amazonaws.com",
            "us-east-1",
            Some("sigil.example"),
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(b["iam_http_request_method"], "POST");
        assert_eq!(decoded(&b, "iam_request_url"), "https://sts.amazonaws.com/");
        assert_eq!(
            decoded(&b, "iam_request_body"),
            "Action=GetCallerIdentity&Version=2011-06-15"
        );
        let h: Json = serde_json::from_str(&decoded(&b, "iam_request_headers")).unwrap();
        let auth = h["Authorization"][0].as_str().unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/us-east-1/sts/aws4_request"), "{auth}");
        assert!(
            auth.contains("host;") && auth.contains("x-vault-aws-iam-server-id"),
            "{auth}"
        );
        assert_eq!(h["X-Amz-Security-Token"][0], "SESSIONTOKEN");
        assert_eq!(h["X-Vault-Aws-Iam-Server-Id"][0], "sigil.example");
        assert!(h["X-Amz-Date"][0].is_string());
        assert!(!decoded(&b, "iam_request_headers").contains("SECRETKEY"));
        // And the server accepts exactly that.
        let cfg = ClientConfig {
            iam_server_id_header_value: "sigil.example".into(),
            sts_region: "us-east-1".into(),
            ..ClientConfig::default()
        };
        IamLogin::from_body(&b).unwrap().verify(&cfg).unwrap();
        assert!(
            login_data(
                &creds,
                "sts.amazonaws.com",
                "us-east-1",
                None,
                SystemTime::now()
            )
            .is_err()
        );
    }

    #[test]
    fn canonical_names() {
        assert_eq!(
            go_canonical("x-vault-aws-iam-server-id"),
            "X-Vault-Aws-Iam-Server-Id"
        );
        assert_eq!(go_canonical("AUTHORIZATION"), "Authorization");
    }
}
