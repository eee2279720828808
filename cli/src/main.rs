//! `sigil`: the command-line client of Sigil's Vault-compatible API, and its
//! bootstrap tool (`sigil admin`). This file only wires the pieces together.

mod admin;
mod args;
mod client;
mod commands;
mod error;
mod flags;
mod output;
mod pairs;

use std::process::ExitCode;

use clap::Parser;

use crate::error::EXIT_LOCAL;

#[tokio::main]
async fn main() -> ExitCode {
    let argv = flags::rewrite_single_dash(std::env::args_os());
    let cli = match args::Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // Usage errors: stderr, exit 1. Clap echoes arguments: hide token-shaped ones.
            eprint!("{}", error::redact_tokens(&e.render().to_string()));
            return exit(EXIT_LOCAL);
        }
        Err(e) => {
            // Help and version: stdout, exit 0.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    match commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            exit(e.exit_code())
        }
    }
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
