//! `sigil login METHOD`: one login request builder per auth method, and the command
//! that sends it and prints the token.
//!
//! To add a method: a variant in [`crate::args::LoginMethod`], a `*_request` function
//! here that returns the login [`Request`], and a match arm in [`login_request`]. The
//! aws method's builder is in [`super::login_aws`].

use serde_json::{Map, Value};

use crate::args::{ApproleLogin, JwtLogin, KubernetesLogin, LoginMethod};
use crate::client::{Client, Request};
use crate::error::CliError;
use crate::output::{Output, Shape};
use crate::pairs::{parse_pairs, read_stdin};

/// The login request of `method`.
pub async fn login_request(method: &LoginMethod) -> Result<Request, CliError> {
    match method {
        LoginMethod::Approle(args) => approle_request(args, parse_pairs(&args.params, read_stdin)?),
        LoginMethod::Aws(args) => super::login_aws::aws_request(
            args,
            parse_pairs(&args.params, read_stdin)?,
            |k| std::env::var(k).ok(),
            &super::login_aws::credentials().await?,
            std::time::SystemTime::now(),
        ),
        LoginMethod::Jwt(args) => {
            let mut body = parse_pairs(&args.params, read_stdin)?;
            if args.jwt.is_none() && !body.contains_key("jwt") {
                let env = |k: &str| std::env::var(k).ok();
                let jwt = github_actions_token(env, args.audience.as_deref()).await?;
                body.insert("jwt".into(), Value::String(jwt));
            }
            jwt_request(args, body)
        }
        LoginMethod::Kubernetes(args) => {
            let mut body = parse_pairs(&args.params, read_stdin)?;
            if !body.contains_key("jwt") {
                let jwt = std::fs::read_to_string(&args.jwt_file).map_err(|e| {
                    CliError::usage(format!(
                        "cannot read the service-account token {}: {e}",
                        args.jwt_file
                    ))
                })?;
                body.insert("jwt".into(), Value::String(jwt));
            }
            kubernetes_request(args, body)
        }
    }
}

fn mount_of(path: &str, what: &str) -> Result<String, CliError> {
    let mount = path.trim_matches('/');
    if mount.is_empty() || mount.contains('/') {
        return Err(CliError::usage(format!(
            "-path must name the {what} mount (e.g. {what})"
        )));
    }
    Ok(mount.to_owned())
}

/// Trims the `jwt` field (a token read from a file ends in a newline) and requires it.
fn take_jwt(body: &mut Map<String, Value>) -> Result<(), CliError> {
    match body.get("jwt") {
        Some(Value::String(t)) if !t.trim().is_empty() => {
            let t = t.trim().to_owned();
            body.insert("jwt".into(), Value::String(t));
            Ok(())
        }
        _ => Err(CliError::usage("missing JWT: pass -jwt=TOKEN or jwt=@file")),
    }
}

/// JWT/OIDC: `POST auth/{path}/login {role, jwt}`. Flags win over pairs.
pub fn jwt_request(args: &JwtLogin, mut body: Map<String, Value>) -> Result<Request, CliError> {
    if let Some(r) = &args.role {
        body.insert("role".into(), Value::String(r.clone()));
    }
    if let Some(j) = &args.jwt {
        body.insert("jwt".into(), Value::String(j.clone()));
    }
    take_jwt(&mut body)?;
    let mount = mount_of(&args.path, "jwt")?;
    Ok(Request::post(format!("auth/{mount}/login"), body.into()))
}

/// Kubernetes: `POST auth/{path}/login {role, jwt}`; the role is required.
pub fn kubernetes_request(
    args: &KubernetesLogin,
    mut body: Map<String, Value>,
) -> Result<Request, CliError> {
    if let Some(r) = &args.role {
        body.insert("role".into(), Value::String(r.clone()));
    }
    if !body.contains_key("role") {
        return Err(CliError::usage(
            "missing role: pass -role=NAME or role=NAME",
        ));
    }
    take_jwt(&mut body)?;
    let mount = mount_of(&args.path, "kubernetes")?;
    Ok(Request::post(format!("auth/{mount}/login"), body.into()))
}

/// The GitHub Actions job's OIDC token for `audience`, from the runner's token
/// endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL` with the bearer
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, GitHub's documented protocol). A usage error
/// outside GitHub Actions or without `permissions: id-token: write`.
pub async fn github_actions_token(
    env: impl Fn(&str) -> Option<String>,
    audience: Option<&str>,
) -> Result<String, CliError> {
    let (Some(url), Some(bearer)) = (
        env("ACTIONS_ID_TOKEN_REQUEST_URL"),
        env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) else {
        return Err(CliError::usage(
            "missing JWT: pass -jwt=TOKEN or jwt=@file (in GitHub Actions, grant \
             `permissions: id-token: write` and the job's token is used)",
        ));
    };
    let mut url = reqwest::Url::parse(&url)
        .map_err(|_| CliError::usage("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL"))?;
    if let Some(aud) = audience {
        url.query_pairs_mut().append_pair("audience", aud);
    }
    let resp = sigil::http::client::builder()
        .build()
        .map_err(|e| CliError::usage(format!("building the HTTP client: {e}")))?
        .get(url)
        .bearer_auth(bearer)
        .send()
        .await
        .map_err(|_| CliError::usage("cannot reach the GitHub Actions token endpoint"))?;
    if !resp.status().is_success() {
        return Err(CliError::usage(format!(
            "the GitHub Actions token endpoint answered {}",
            resp.status().as_u16()
        )));
    }
    let v: Value = resp
        .json()
        .await
        .map_err(|_| CliError::usage("the GitHub Actions token endpoint sent no JSON"))?;
    v.get("value")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| CliError::usage("the GitHub Actions token endpoint sent no token"))
}

/// AppRole: `POST auth/{path}/login {role_id, secret_id}`. Flags win over pairs.
/// A secret ID may be left out (roles with `bind_secret_id=false`).
pub fn approle_request(
    args: &ApproleLogin,
    mut body: Map<String, Value>,
) -> Result<Request, CliError> {
    if let Some(id) = &args.role_id {
        body.insert("role_id".into(), Value::String(id.clone()));
    }
    if let Some(id) = &args.secret_id {
        body.insert("secret_id".into(), Value::String(id.clone()));
    }
    if !body.contains_key("role_id") {
        return Err(CliError::usage(
            "missing role ID: pass -role-id=ID or role_id=ID",
        ));
    }
    let mount = args.path.trim_matches('/');
    if mount.is_empty() {
        return Err(CliError::usage(
            "-path must name the AppRole mount (e.g. approle)",
        ));
    }
    Ok(Request::post(format!("auth/{mount}/login"), body.into()))
}

/// Logs in and prints the auth response (table: token, accessor, duration, policies).
pub async fn run(client: &Client, out: &Output, method: LoginMethod) -> Result<(), CliError> {
    let req = login_request(&method).await?;
    let path = req.path().to_owned();
    match client.send(req).await? {
        Some(resp) => out.emit(&resp, Shape::Secret).map(drop),
        None => Err(CliError::NotFound(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jwt_and_kubernetes_requests() {
        let args = JwtLogin {
            role: Some("deploy".into()),
            jwt: None,
            audience: None,
            path: "/github/".into(),
            params: Vec::new(),
        };
        let mut body = Map::new();
        body.insert("jwt".into(), json!("a.b.c\n"));
        let req = jwt_request(&args, body).unwrap();
        assert_eq!(req.path(), "auth/github/login");
        assert_eq!(req.json(), Some(&json!({"role": "deploy", "jwt": "a.b.c"})));
        assert!(jwt_request(&args, Map::new()).is_err(), "no JWT");
        let k = KubernetesLogin {
            role: None,
            jwt_file: "/nonexistent".into(),
            path: "kubernetes".into(),
            params: Vec::new(),
        };
        let mut body = Map::new();
        body.insert("jwt".into(), json!("a.b.c"));
        assert!(kubernetes_request(&k, body.clone()).is_err(), "no role");
        body.insert("role".into(), json!("api"));
        assert_eq!(
            kubernetes_request(&k, body).unwrap().path(),
            "auth/kubernetes/login"
        );
    }

    #[tokio::test]
    async fn outside_github_actions_a_jwt_is_required() {
        let e = github_actions_token(|_| None, Some("sigil"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("id-token: write"), "{e}");
    }

    fn args(role: Option<&str>, secret: Option<&str>) -> ApproleLogin {
        ApproleLogin {
            role_id: role.map(Into::into),
            secret_id: secret.map(Into::into),
            path: "approle".into(),
            params: Vec::new(),
        }
    }

    #[test]
    fn approle_from_flags_or_pairs() {
        let r = approle_request(&args(Some("r"), Some("s")), Map::new()).unwrap();
        assert_eq!(
            (r.method().as_str(), r.path()),
            ("POST", "auth/approle/login")
        );
        assert_eq!(r.json(), Some(&json!({"role_id": "r", "secret_id": "s"})));
        let pairs: Map<String, Value> =
            serde_json::from_value(json!({"role_id": "r", "secret_id": "s"})).unwrap();
        let r = approle_request(&args(None, None), pairs.clone()).unwrap();
        assert_eq!(r.json(), Some(&Value::Object(pairs.clone())));
        // A flag wins over a pair.
        let r = approle_request(&args(Some("flag"), None), pairs).unwrap();
        assert_eq!(
            r.json(),
            Some(&json!({"role_id": "flag", "secret_id": "s"}))
        );
        let e = approle_request(&args(None, Some("s")), Map::new()).unwrap_err();
        assert!(e.to_string().contains("missing role ID"));
        let mut custom = args(Some("r"), None);
        custom.path = "/ci-approle/".into();
        assert_eq!(
            approle_request(&custom, Map::new()).unwrap().path(),
            "auth/ci-approle/login"
        );
    }
}
