//! `sigil aws creds|sts ROLE`: dynamic AWS credentials.

use serde_json::{Map, Value};

use super::duration_arg;
use crate::args::{AwsCommand, AwsCredsArgs};
use crate::client::{Client, Request};
use crate::error::CliError;
use crate::output::{Output, Shape};

/// The request of `aws creds` (GET with query parameters) or `aws sts` (POST).
pub fn request(cmd: &AwsCommand) -> Result<Request, CliError> {
    let (sts, args): (bool, &AwsCredsArgs) = match cmd {
        AwsCommand::Creds(a) => (false, a),
        AwsCommand::Sts(a) => (true, a),
    };
    let ttl = args
        .ttl
        .as_deref()
        .map(|t| duration_arg("ttl", t))
        .transpose()?;
    if sts {
        let mut body = Map::new();
        if let Some(t) = ttl {
            body.insert("ttl".into(), t);
        }
        if let Some(a) = &args.role_arn {
            body.insert("role_arn".into(), Value::String(a.clone()));
        }
        return Ok(Request::post(format!("aws/sts/{}", args.role), body.into()));
    }
    let mut req = Request::get(format!("aws/creds/{}", args.role));
    if let Some(Value::String(t)) = ttl {
        req = req.query("ttl", t);
    }
    if let Some(a) = &args.role_arn {
        req = req.query("role_arn", a.clone());
    }
    Ok(req)
}

/// Runs an `aws` subcommand.
pub async fn run(client: &Client, out: &Output, cmd: AwsCommand) -> Result<(), CliError> {
    let req = request(&cmd)?;
    let path = req.path().to_owned();
    match client.send(req).await? {
        Some(resp) => out.emit(&resp, Shape::Secret).map(drop),
        None => Err(CliError::NotFound(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        let a = AwsCredsArgs {
            ttl: Some("1h".into()),
            role_arn: None,
            role: "deploy".into(),
        };
        let r = request(&AwsCommand::Sts(a)).unwrap();
        assert_eq!((r.method().as_str(), r.path()), ("POST", "aws/sts/deploy"));
        assert_eq!(r.json(), Some(&serde_json::json!({"ttl": "1h"})));
        let a = AwsCredsArgs {
            ttl: None,
            role_arn: None,
            role: "deploy".into(),
        };
        let r = request(&AwsCommand::Creds(a)).unwrap();
        assert_eq!((r.method().as_str(), r.path()), ("GET", "aws/creds/deploy"));
        let bad = AwsCredsArgs {
            ttl: Some("soon".into()),
            role_arn: None,
            role: "x".into(),
        };
        assert!(request(&AwsCommand::Sts(bad)).is_err());
    }
}
