//! Records the commit date of the source being built (`git log -1`, UTC, RFC 3339), for
//! `sys/seal-status`'s `commit_date` as Vault reports its own. Empty when the source is
//! not a git checkout; never fails the build.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SIGIL_COMMIT_DATE");
    let date = std::env::var("SIGIL_COMMIT_DATE").ok().or_else(|| {
        Command::new("git")
            .env("TZ", "UTC")
            .args([
                "log",
                "-1",
                "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
                "--format=%cd",
            ])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
    });
    println!(
        "cargo:rustc-env=SIGIL_COMMIT_DATE={}",
        date.unwrap_or_default()
    );
}
