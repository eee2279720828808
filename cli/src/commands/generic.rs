//! The path commands, as in Vault: `read`, `write`, `delete` and `list` of any path
//! below `/v1/`.

use crate::args::WriteArgs;
use crate::client::{Client, Request};
use crate::error::CliError;
use crate::output::{Output, Shape};
use crate::pairs::{parse_pairs, read_stdin};

/// `sigil read PATH`: GET.
pub async fn read(client: &Client, out: &Output, path: &str) -> Result<(), CliError> {
    let req = Request::get(path);
    let shown = req.path().to_owned();
    match client.send(req).await? {
        Some(resp) => out.emit(&resp, Shape::Secret).map(drop),
        None => Err(CliError::NotFound(shown)),
    }
}

/// `sigil write [-f] PATH KEY=VALUE...`: PUT with the pairs as a JSON object.
pub async fn write(client: &Client, out: &Output, args: WriteArgs) -> Result<(), CliError> {
    let data = parse_pairs(&args.data, read_stdin)?;
    if data.is_empty() && !args.force {
        return Err(CliError::usage("Must supply data or use -force"));
    }
    let req = Request::put(args.path, data.into());
    let message = format!("Success! Data written to: {}", req.path());
    match client.send(req).await? {
        Some(resp) if out.emit(&resp, Shape::Secret)? => {}
        _ => out.success(&message),
    }
    Ok(())
}

/// `sigil delete PATH`: DELETE.
pub async fn delete(client: &Client, out: &Output, path: &str) -> Result<(), CliError> {
    let req = Request::delete(path);
    let message = format!("Success! Data deleted (if it existed) at: {}", req.path());
    match client.send(req).await? {
        Some(resp) if out.emit(&resp, Shape::Secret)? => {}
        _ => out.success(&message),
    }
    Ok(())
}

/// `sigil list PATH`: LIST PATH/.
pub async fn list(client: &Client, out: &Output, path: &str) -> Result<(), CliError> {
    let req = Request::list(path)?;
    let shown = req.path().to_owned();
    match client.send(req).await? {
        Some(resp) => out.emit(&resp, Shape::List { path: &shown }).map(drop),
        None => Err(CliError::NotFound(shown)),
    }
}
