//! `sigil token ...`: look up, renew and revoke a token (your own, another by its
//! value, or one by its accessor).

use serde_json::{Map, Value, json};

use super::duration_arg;
use crate::args::{TokenCapabilities, TokenCommand, TokenLookup, TokenRenew, TokenRevoke};
use crate::client::{Client, Request};
use crate::error::CliError;
use crate::output::{Output, Shape};

/// The request of `token lookup`.
pub fn lookup_request(args: &TokenLookup) -> Request {
    match (&args.accessor, &args.token) {
        (Some(accessor), _) => Request::post(
            "auth/token/lookup-accessor",
            json!({ "accessor": accessor }),
        ),
        (None, Some(token)) => Request::post("auth/token/lookup", json!({ "token": token })),
        (None, None) => Request::get("auth/token/lookup-self"),
    }
}

/// The request of `token renew`.
pub fn renew_request(args: &TokenRenew) -> Result<Request, CliError> {
    let mut body = Map::new();
    if let Some(inc) = &args.increment {
        body.insert("increment".into(), duration_arg("increment", inc)?);
    }
    Ok(match &args.token {
        Some(token) => {
            body.insert("token".into(), Value::String(token.clone()));
            Request::post("auth/token/renew", body.into())
        }
        None => Request::post("auth/token/renew-self", body.into()),
    })
}

/// The request of `token revoke`.
pub fn revoke_request(args: &TokenRevoke) -> Result<Request, CliError> {
    Ok(match (args.revoke_self, &args.accessor, &args.token) {
        (true, None, None) => Request::post("auth/token/revoke-self", json!({})),
        (false, Some(accessor), None) => Request::post(
            "auth/token/revoke-accessor",
            json!({ "accessor": accessor }),
        ),
        (false, None, Some(token)) => Request::post("auth/token/revoke", json!({ "token": token })),
        _ => {
            return Err(CliError::usage(
                "give exactly one of -self, -accessor=ACCESSOR or TOKEN",
            ));
        }
    })
}

/// The token (if given) and request of `token capabilities`.
pub fn capabilities_request(
    args: &TokenCapabilities,
) -> Result<(Option<String>, Request), CliError> {
    let (token, paths) = match args.args.split_first() {
        Some((first, rest)) if first.starts_with(sigil::token::TOKEN_PREFIX) => {
            (Some(first.clone()), rest)
        }
        _ => (None, args.args.as_slice()),
    };
    if paths.is_empty() {
        return Err(CliError::usage("give at least one PATH"));
    }
    Ok((
        token,
        Request::post("sys/capabilities-self", json!({ "paths": paths })),
    ))
}

/// Runs a `token` subcommand.
pub async fn run(client: &Client, out: &Output, cmd: TokenCommand) -> Result<(), CliError> {
    match cmd {
        TokenCommand::Lookup(args) => show(client, out, lookup_request(&args)).await,
        TokenCommand::Renew(args) => show(client, out, renew_request(&args)?).await,
        TokenCommand::Capabilities(args) => {
            let (token, req) = capabilities_request(&args)?;
            let other;
            let client = match token {
                Some(t) => {
                    other = client.with_token(secrecy::SecretString::from(t));
                    &other
                }
                None => client,
            };
            let resp = client.send(req).await?.unwrap_or_default();
            if out.is_table() && out.field.is_none() {
                let data = resp
                    .get("data")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                for (path, caps) in data.iter().filter(|(k, _)| k.as_str() != "capabilities") {
                    let names: Vec<&str> = caps
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    println!("{path}: {}", names.join(", "));
                }
                return Ok(());
            }
            out.emit(&resp, Shape::Secret).map(drop)
        }
        TokenCommand::Revoke(args) => {
            if let Some(resp) = client.send(revoke_request(&args)?).await?
                && out.emit(&resp, Shape::Secret)?
            {
                return Ok(());
            }
            out.success("Success! Revoked token (if it existed)");
            Ok(())
        }
    }
}

async fn show(client: &Client, out: &Output, req: Request) -> Result<(), CliError> {
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
    fn lookup_paths() {
        let own = TokenLookup {
            accessor: None,
            token: None,
        };
        assert_eq!(lookup_request(&own).path(), "auth/token/lookup-self");
        let by_token = TokenLookup {
            accessor: None,
            token: Some("t".into()),
        };
        assert_eq!(lookup_request(&by_token).path(), "auth/token/lookup");
        let by_acc = TokenLookup {
            accessor: Some("a".into()),
            token: None,
        };
        assert_eq!(lookup_request(&by_acc).path(), "auth/token/lookup-accessor");
    }

    #[test]
    fn renew_and_revoke_paths() {
        let own = TokenRenew {
            increment: Some("1h".into()),
            token: None,
        };
        let req = renew_request(&own).unwrap();
        assert_eq!(req.path(), "auth/token/renew-self");
        assert_eq!(req.json(), Some(&json!({"increment": "1h"})));
        let other = TokenRenew {
            increment: None,
            token: Some("t".into()),
        };
        let req = renew_request(&other).unwrap();
        assert_eq!(req.path(), "auth/token/renew");
        assert_eq!(req.json(), Some(&json!({"token": "t"})));
        assert!(
            renew_request(&TokenRenew {
                increment: Some("soon".into()),
                token: None
            })
            .is_err()
        );
        let r = |s: bool, a: Option<&str>, t: Option<&str>| {
            revoke_request(&TokenRevoke {
                revoke_self: s,
                accessor: a.map(Into::into),
                token: t.map(Into::into),
            })
        };
        assert_eq!(
            r(true, None, None).unwrap().path(),
            "auth/token/revoke-self"
        );
        assert_eq!(
            r(false, Some("a"), None).unwrap().path(),
            "auth/token/revoke-accessor"
        );
        assert_eq!(
            r(false, None, Some("t")).unwrap().path(),
            "auth/token/revoke"
        );
        assert!(r(true, Some("a"), None).is_err());
        assert!(r(false, None, None).is_err());
    }
}
