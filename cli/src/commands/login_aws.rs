//! `sigil login aws`: signs an `sts:GetCallerIdentity` request with the caller's AWS
//! credentials and builds the login request of the AWS IAM auth method, as Vault's CLI
//! (`vault login -method=aws`) does: the same fields, the same header, the same
//! defaults (region `us-east-1`, endpoint `https://sts.amazonaws.com`). Only the signed
//! request is sent, never the credentials.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use serde_json::{Map, Value};

use crate::args::AwsLogin;
use crate::client::Request;
use crate::error::CliError;
use sigil::auth_aws::config::DEFAULT_STS_ENDPOINT;
use sigil::auth_aws::sign;

/// The region Vault's CLI signs for when none is given.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The login parameters Vault's CLI takes as pairs (besides `mount`, which is `-path`).
const PAIRS: [&str; 3] = ["role", "header_value", "region"];

/// The endpoint to sign for: `-sts-endpoint`, else the AWS SDK's endpoint variables
/// (`AWS_ENDPOINT_URL_STS`, then `AWS_ENDPOINT_URL`), else STS's global endpoint.
pub fn sts_endpoint(flag: Option<&str>, env: impl Fn(&str) -> Option<String>) -> String {
    flag.map(str::to_owned)
        .or_else(|| {
            ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"]
                .iter()
                .find_map(|v| env(v).filter(|x| !x.trim().is_empty()))
        })
        .map(|e| e.trim().to_owned())
        .unwrap_or_else(|| DEFAULT_STS_ENDPOINT.to_owned())
}

/// The login request for `args` and `pairs` (flags win over pairs), signed with
/// `creds` at `time` for the endpoint [`sts_endpoint`] picks through `env`.
pub fn aws_request(
    args: &AwsLogin,
    pairs: Map<String, Value>,
    env: impl Fn(&str) -> Option<String>,
    creds: &Credentials,
    time: SystemTime,
) -> Result<Request, CliError> {
    if let Some(k) = pairs.keys().find(|k| !PAIRS.contains(&k.as_str())) {
        return Err(CliError::usage(format!(
            "unknown login parameter {k:?} (known: role, header_value, region; AWS credentials come from the AWS SDK's default chain: environment, profile, container or instance role)"
        )));
    }
    let pair = |k: &str| -> Result<Option<String>, CliError> {
        match pairs.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(CliError::usage(format!("{k} given more than once"))),
        }
    };
    let role = args.role.clone().or(pair("role")?);
    let header_value = args.header_value.clone().or(pair("header_value")?);
    let region = args
        .region
        .clone()
        .or(pair("region")?)
        .unwrap_or_else(|| DEFAULT_REGION.to_owned());
    let endpoint = sts_endpoint(args.sts_endpoint.as_deref(), env);
    let mount = args.path.trim_matches('/');
    if mount.is_empty() {
        return Err(CliError::usage(
            "-path must name the AWS auth mount (e.g. aws)",
        ));
    }
    let mut body = sign::login_data(creds, &endpoint, &region, header_value.as_deref(), time)
        .map_err(|e| CliError::usage(format!("signing the login request: {e}")))?;
    if let Some(r) = role.filter(|r| !r.is_empty()) {
        body.insert("role".into(), Value::String(r));
    }
    Ok(Request::post(format!("auth/{mount}/login"), body.into()))
}

/// The caller's AWS credentials from the SDK's default chain (environment, shared
/// profile, web identity, container or instance role).
pub async fn credentials() -> Result<Credentials, CliError> {
    let sdk = sigil::aws::sdk_config().await;
    let provider = sdk.credentials_provider().ok_or_else(|| {
        CliError::usage(
            "no AWS credentials provider: set AWS credentials (environment, profile or role)",
        )
    })?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| CliError::usage(format!("no AWS credentials found: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::json;

    fn args() -> AwsLogin {
        AwsLogin {
            role: None,
            header_value: None,
            region: None,
            sts_endpoint: None,
            path: "aws".into(),
            params: Vec::new(),
        }
    }

    fn creds() -> Credentials {
        Credentials::new("AKIDEXAMPLE", "SECRETKEY", None, None, "test")
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn field(r: &Request, k: &str) -> String {
        let v = r.json().unwrap()[k].as_str().unwrap().to_owned();
        String::from_utf8(STANDARD.decode(v).unwrap()).unwrap()
    }

    #[test]
    fn signs_for_the_global_endpoint_by_default() {
        let mut a = args();
        a.role = Some("deploy".into());
        a.header_value = Some("sigil.example".into());
        let r = aws_request(&a, Map::new(), no_env, &creds(), SystemTime::now()).unwrap();
        assert_eq!((r.method().as_str(), r.path()), ("POST", "auth/aws/login"));
        assert_eq!(r.json().unwrap()["role"], "deploy");
        assert_eq!(r.json().unwrap()["iam_http_request_method"], "POST");
        assert_eq!(field(&r, "iam_request_url"), "https://sts.amazonaws.com/");
        let headers = field(&r, "iam_request_headers");
        assert!(headers.contains("/us-east-1/sts/aws4_request"), "{headers}");
        assert!(
            headers.contains("\"X-Vault-Aws-Iam-Server-Id\":[\"sigil.example\"]"),
            "{headers}"
        );
        assert!(!r.json().unwrap().to_string().contains("SECRETKEY"));
    }

    #[test]
    fn pairs_endpoints_and_errors() {
        let pairs: Map<String, Value> =
            serde_json::from_value(json!({"role": "r", "region": "eu-west-1"})).unwrap();
        let env = |k: &str| (k == "AWS_ENDPOINT_URL").then(|| "http://127.0.0.1:8211".to_owned());
        let r = aws_request(&args(), pairs, env, &creds(), SystemTime::now()).unwrap();
        assert_eq!(r.json().unwrap()["role"], "r");
        assert_eq!(field(&r, "iam_request_url"), "http://127.0.0.1:8211/");
        assert!(field(&r, "iam_request_headers").contains("/eu-west-1/sts/"));
        assert_eq!(
            sts_endpoint(Some("https://sts.eu-west-1.amazonaws.com"), env),
            "https://sts.eu-west-1.amazonaws.com"
        );
        let sts_env = |k: &str| match k {
            "AWS_ENDPOINT_URL_STS" => Some("http://sts.local:1".to_owned()),
            "AWS_ENDPOINT_URL" => Some("http://other:2".to_owned()),
            _ => None,
        };
        assert_eq!(sts_endpoint(None, sts_env), "http://sts.local:1");
        let bad: Map<String, Value> =
            serde_json::from_value(json!({"aws_secret_access_key": "x"})).unwrap();
        let e = aws_request(&args(), bad, no_env, &creds(), SystemTime::now()).unwrap_err();
        assert!(e.to_string().contains("unknown login parameter"), "{e}");
        let mut a = args();
        a.sts_endpoint = Some("sts.amazonaws.com".into());
        assert!(aws_request(&a, Map::new(), no_env, &creds(), SystemTime::now()).is_err());
    }
}
