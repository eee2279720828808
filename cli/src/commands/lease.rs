//! `sigil lease ...`: renew and revoke leases (`sys/leases/...`).

use serde_json::{Map, Value, json};

use super::duration_arg;
use crate::args::{LeaseCommand, LeaseList};
use crate::client::{Client, Request};
use crate::error::CliError;
use crate::output::{Output, Shape};

/// Runs a `lease` subcommand.
pub async fn run(client: &Client, out: &Output, cmd: LeaseCommand) -> Result<(), CliError> {
    match cmd {
        LeaseCommand::Renew(args) => {
            let mut body = Map::new();
            body.insert("lease_id".into(), Value::String(args.lease_id));
            if let Some(inc) = &args.increment {
                body.insert("increment".into(), duration_arg("increment", inc)?);
            }
            let req = Request::put("sys/leases/renew", body.into());
            match client.send(req).await? {
                Some(resp) => out.emit(&resp, Shape::Secret).map(drop),
                None => {
                    out.success("Success! Renewed lease");
                    Ok(())
                }
            }
        }
        LeaseCommand::Revoke(args) => {
            let req = if args.force {
                let prefix = args.lease_id.trim_start_matches('/');
                Request::put(format!("sys/leases/revoke-force/{prefix}"), json!({}))
            } else if args.prefix {
                let prefix = args.lease_id.trim_start_matches('/');
                Request::put(format!("sys/leases/revoke-prefix/{prefix}"), json!({}))
            } else {
                Request::put("sys/leases/revoke", json!({ "lease_id": args.lease_id }))
            };
            if let Some(resp) = client.send(req).await?
                && out.emit(&resp, Shape::Secret)?
            {
                return Ok(());
            }
            out.success("All revocation operations queued successfully!");
            Ok(())
        }
        LeaseCommand::RevokePrefix { prefix } => {
            let prefix = prefix.trim_start_matches('/');
            client
                .send(Request::put(
                    format!("sys/leases/revoke-prefix/{prefix}"),
                    json!({}),
                ))
                .await?;
            out.success("All revocation operations queued successfully!");
            Ok(())
        }
        LeaseCommand::List(args) => {
            let req = list_request(&args)?;
            let shown = req.path().to_owned();
            match client.send(req).await? {
                Some(resp) if args.irrevocable => out.emit(&resp, Shape::Secret).map(drop),
                Some(resp) => out.emit(&resp, Shape::List { path: &shown }).map(drop),
                None => Err(CliError::NotFound(shown)),
            }
        }
    }
}

/// The request of `lease list`.
pub fn list_request(args: &LeaseList) -> Result<Request, CliError> {
    if args.irrevocable {
        return Ok(Request::list("sys/leases")?.query("type", "irrevocable"));
    }
    let prefix = args.prefix.as_deref().unwrap_or_default().trim_matches('/');
    Request::list(format!("sys/leases/lookup/{prefix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_requests() {
        let r = list_request(&LeaseList {
            irrevocable: false,
            prefix: Some("aws/creds/x/".into()),
        })
        .unwrap();
        assert!(
            r.path().starts_with("sys/leases/lookup/aws/creds/x"),
            "{}",
            r.path()
        );
        let r = list_request(&LeaseList {
            irrevocable: true,
            prefix: None,
        })
        .unwrap();
        assert!(r.path().starts_with("sys/leases"), "{}", r.path());
    }
}
