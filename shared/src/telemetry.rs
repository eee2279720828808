//! Logging set-up for the functions: JSON lines on stdout (CloudWatch Logs), level from
//! `RUST_LOG` (default `info`). Nothing Sigil logs carries a secret: fields are route
//! names, codes and counts.
//!
//! Each line is one JSON object whose event fields sit under `fields`, the message as
//! `fields.message` (e.g. `{"level":"INFO","fields":{"message":"sweep finished",
//! "irrevocable":0,...}}`): the deployment's metric filters select on that shape.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = subscriber(filter, std::io::stdout).try_init();
}

/// The functions' subscriber: JSON lines with `filter`, written to `writer` (stdout in
/// the functions; a buffer in tests that check what a log line holds).
pub fn subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .without_time()
        .with_target(false)
        .with_writer(writer)
        .finish()
}
