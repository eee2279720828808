//! `sigil lease ...`: renew and revoke leases (`sys/leases/...`).

use serde_json::{Map, Value, json};

use super::duration_arg;
use crate::args::LeaseCommand;
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
            let req = if args.prefix {
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
    }
}
