//! `sigil login METHOD`: one login request builder per auth method, and the command
//! that sends it and prints the token.
//!
//! To add a method (jwt, kubernetes): a variant in [`crate::args::LoginMethod`], a
//! `*_request` function here that returns the login [`Request`], and a match arm in
//! [`login_request`]. The aws method's builder is in [`super::login_aws`].

use serde_json::{Map, Value};

use crate::args::{ApproleLogin, LoginMethod};
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
    }
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
