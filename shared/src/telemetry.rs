//! Logging set-up for the functions: JSON lines on stdout (CloudWatch Logs), levels from
//! `RUST_LOG` (default `info`): a level, and `target=level` pairs, comma-separated
//! (`warn,sigil::sweeper=debug`; tracing-subscriber's `Targets` syntax, without the
//! span and field filters of `EnvFilter`, whose regex engine would cost the binaries
//! several hundred KB of their 10 MB budget). A value that does not parse means `info`. Nothing Sigil logs carries a secret: fields are route
//! names, codes and counts.
//!
//! Each line is one JSON object whose event fields sit under `fields`, the message as
//! `fields.message` (e.g. `{"level":"INFO","fields":{"message":"sweep finished",
//! "irrevocable":0,...}}`): the deployment's metric filters select on that shape.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| filter("info"));
    let _ = subscriber(filter, std::io::stdout).try_init();
}

/// The filter `spec` describes (`info`, `warn,sigil::sweeper=debug`); `info` when it
/// does not parse.
pub fn filter(spec: &str) -> Targets {
    spec.parse()
        .unwrap_or_else(|_| Targets::new().with_default(tracing::Level::INFO))
}

/// The functions' subscriber: JSON lines with `filter`, written to `writer` (stdout in
/// the functions; a buffer in tests that check what a log line holds).
pub fn subscriber<W>(filter: Targets, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_current_span(true)
        .without_time()
        .with_target(false)
        .with_writer(writer)
        .finish()
        .with(filter)
}
