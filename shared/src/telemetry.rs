//! Logging set-up for the functions: JSON lines on stdout (CloudWatch Logs), level from
//! `RUST_LOG` (default `info`). Nothing Sigil logs carries a secret: fields are route
//! names, codes and counts.

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .without_time()
        .with_target(false)
        .try_init();
}
