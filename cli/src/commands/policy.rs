//! `sigil policy write|read|list|delete`: ACL policies through `sys/policies/acl`.

use serde_json::json;

use crate::args::PolicyCommand;
use crate::client::{Client, Request};
use crate::error::CliError;
use crate::output::{Output, Shape};

/// Largest policy file read, in bytes (the server takes at most 64 KiB).
const MAX_POLICY_BYTES: u64 = 64 * 1024;

/// Reads a policy from `file` (`-`: stdin).
pub fn read_policy(file: &str) -> Result<String, CliError> {
    use std::io::Read;
    let mut text = String::new();
    let res = if file == "-" {
        std::io::stdin()
            .take(MAX_POLICY_BYTES + 1)
            .read_to_string(&mut text)
    } else {
        std::fs::File::open(file)
            .and_then(|f| f.take(MAX_POLICY_BYTES + 1).read_to_string(&mut text))
    };
    res.map_err(|e| CliError::usage(format!("reading policy {file:?}: {e}")))?;
    if text.len() as u64 > MAX_POLICY_BYTES {
        return Err(CliError::usage(format!(
            "policy {file:?} is larger than 64 KiB"
        )));
    }
    Ok(text)
}

/// The request of `policy write NAME` with `text`.
pub fn write_request(name: &str, text: String) -> Request {
    Request::put(
        format!("sys/policies/acl/{name}"),
        json!({ "policy": text }),
    )
}

/// Runs a `policy` subcommand.
pub async fn run(client: &Client, out: &Output, cmd: PolicyCommand) -> Result<(), CliError> {
    match cmd {
        PolicyCommand::Write { name, file } => {
            let text = read_policy(&file)?;
            client.send(write_request(&name, text)).await?;
            out.success(&format!("Success! Uploaded policy: {name}"));
            Ok(())
        }
        PolicyCommand::Read { name } => {
            let path = format!("sys/policies/acl/{name}");
            let resp = client
                .send(Request::get(&path))
                .await?
                .ok_or(CliError::NotFound(path))?;
            if out.is_table() && out.field.is_none() {
                println!("{}", resp["data"]["policy"].as_str().unwrap_or_default());
                return Ok(());
            }
            out.emit(&resp, Shape::Secret).map(drop)
        }
        PolicyCommand::List => {
            let req = Request::list("sys/policies/acl")?;
            let shown = req.path().to_owned();
            match client.send(req).await? {
                Some(resp) => out.emit(&resp, Shape::List { path: &shown }).map(drop),
                None => Err(CliError::NotFound(shown)),
            }
        }
        PolicyCommand::Delete { name } => {
            client
                .send(Request::delete(format!("sys/policies/acl/{name}")))
                .await?;
            out.success(&format!("Success! Deleted policy: {name}"));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_request_shape() {
        let r = write_request("app", "path \"x\" {}".into());
        assert_eq!(r.path(), "sys/policies/acl/app");
        assert_eq!(r.json(), Some(&json!({"policy": "path \"x\" {}"})));
    }

    #[test]
    fn missing_file_is_a_usage_error() {
        let e = read_policy("/nonexistent/policy.hcl").unwrap_err();
        assert!(e.to_string().contains("reading policy"));
    }
}
