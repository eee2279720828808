//! Runs a parsed command line: API commands through the HTTP [`Client`], `admin`
//! commands directly against AWS.

mod auth;
mod aws;
mod generic;
mod kv;
mod lease;
mod login;
mod login_aws;
mod policy;
mod token;

use crate::args::{Cli, Command};
use crate::client::Client;
use crate::error::CliError;
use crate::output::Output;

/// Runs `cli`; the error decides the message and exit code.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let out = Output {
        format: cli.global.format,
        field: cli.global.field,
    };
    let client = match cli.command {
        Command::Version => {
            println!("Sigil v{}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Command::Admin(cmd) => return crate::admin::run(cmd, &out).await,
        _ => Client::from_env()?,
    };
    match cli.command {
        Command::Read(a) => generic::read(&client, &out, &a.path).await,
        Command::Write(a) => generic::write(&client, &out, a).await,
        Command::Delete(a) => generic::delete(&client, &out, &a.path).await,
        Command::List(a) => generic::list(&client, &out, &a.path).await,
        Command::Login(method) => login::run(&client, &out, method).await,
        Command::Auth(cmd) => auth::run(&client, &out, cmd).await,
        Command::Kv(cmd) => kv::run(&client, &out, cmd).await,
        Command::Token(cmd) => token::run(&client, &out, cmd).await,
        Command::Lease(cmd) => lease::run(&client, &out, cmd).await,
        Command::Policy(cmd) => policy::run(&client, &out, cmd).await,
        Command::Aws(cmd) => aws::run(&client, &out, cmd).await,
        Command::Version | Command::Admin(_) => Ok(()),
    }
}

/// Checks a duration argument (`-increment=1h`) locally, so a typo is a usage error,
/// and returns it as given (the server parses it the same way).
fn duration_arg(flag: &str, text: &str) -> Result<serde_json::Value, CliError> {
    let value = serde_json::Value::String(text.to_owned());
    sigil::http::params::parse_duration(&value)
        .map_err(|e| CliError::usage(format!("invalid -{flag}: {e}")))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    #[test]
    fn duration_args() {
        assert_eq!(
            super::duration_arg("increment", "1h").unwrap(),
            serde_json::json!("1h")
        );
        assert_eq!(
            super::duration_arg("increment", "90").unwrap(),
            serde_json::json!("90")
        );
        let e = super::duration_arg("increment", "1x").unwrap_err();
        assert!(e.to_string().contains("invalid -increment"));
    }
}
