//! `sigil auth jwt|kubernetes config|role|roles|delete-role`: configure the JWT/OIDC
//! and Kubernetes auth methods (`auth/{path}/config`, `auth/{path}/role/{name}`).

use crate::args::{AuthCommand, AuthMethodCommand};
use crate::client::{Client, Request};
use crate::error::CliError;
use crate::output::{Output, Shape};
use crate::pairs::{parse_pairs, read_stdin};

/// The request of an `auth` subcommand: a write when pairs are given, else a read.
pub fn request(cmd: &AuthCommand) -> Result<Request, CliError> {
    let (default_mount, sub) = match cmd {
        AuthCommand::Jwt(s) => ("jwt", s),
        AuthCommand::Kubernetes(s) => ("kubernetes", s),
    };
    let mount = |given: &Option<String>| -> Result<String, CliError> {
        let m = given.as_deref().unwrap_or(default_mount).trim_matches('/');
        if m.is_empty() || m.contains('/') {
            return Err(CliError::usage("-path must name one auth mount"));
        }
        Ok(m.to_owned())
    };
    let write_or_read = |path: String, data: &[String]| -> Result<Request, CliError> {
        if data.is_empty() {
            Ok(Request::get(path))
        } else {
            Ok(Request::post(path, parse_pairs(data, read_stdin)?.into()))
        }
    };
    match sub {
        AuthMethodCommand::Config(a) => {
            write_or_read(format!("auth/{}/config", mount(&a.mount.path)?), &a.data)
        }
        AuthMethodCommand::Role(a) => write_or_read(
            format!("auth/{}/role/{}", mount(&a.mount.path)?, a.name),
            &a.data,
        ),
        AuthMethodCommand::Roles(a) => Request::list(format!("auth/{}/role", mount(&a.path)?)),
        AuthMethodCommand::DeleteRole(a) => Ok(Request::delete(format!(
            "auth/{}/role/{}",
            mount(&a.mount.path)?,
            a.name
        ))),
    }
}

/// Runs an `auth` subcommand and prints the response (a success line for a write).
pub async fn run(client: &Client, out: &Output, cmd: AuthCommand) -> Result<(), CliError> {
    let req = request(&cmd)?;
    let path = req.path().to_owned();
    let is_read = matches!(req.method().as_str(), "GET" | "LIST");
    let shape = if req.method().as_str() == "LIST" {
        Shape::List { path: &path }
    } else {
        Shape::Secret
    };
    match client.send(req).await? {
        Some(resp) if out.emit(&resp, shape)? => Ok(()),
        None if is_read => Err(CliError::NotFound(path)),
        _ => {
            out.success(&format!("Success! Data written to: {path}"));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{AuthConfigArgs, AuthMountArg, AuthRoleArgs};
    use serde_json::json;

    #[test]
    fn requests() {
        let r = request(&AuthCommand::Jwt(AuthMethodCommand::Role(AuthRoleArgs {
            mount: AuthMountArg {
                path: Some("github".into()),
            },
            name: "deploy".into(),
            data: vec![
                "user_claim=repository".into(),
                "bound_audiences=sigil".into(),
            ],
        })))
        .unwrap();
        assert_eq!(r.path(), "auth/github/role/deploy");
        assert_eq!(
            r.json(),
            Some(&json!({"user_claim": "repository", "bound_audiences": "sigil"}))
        );
        let r = request(&AuthCommand::Kubernetes(AuthMethodCommand::Config(
            AuthConfigArgs {
                mount: AuthMountArg { path: None },
                data: Vec::new(),
            },
        )))
        .unwrap();
        assert_eq!(
            (r.path(), r.method().as_str()),
            ("auth/kubernetes/config", "GET")
        );
        let bad = request(&AuthCommand::Jwt(AuthMethodCommand::Roles(AuthMountArg {
            path: Some("a/b".into()),
        })));
        assert!(bad.is_err());
    }
}
