//! Where audit lines go: the [`AuditSink`] port, stdout in the functions (CloudWatch
//! Logs), memory in tests.

use std::io::Write;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicBool, Ordering};

/// An audit line could not be written: the request fails (fail closed).
#[derive(Debug, thiserror::Error)]
#[error("audit device unavailable")]
pub struct AuditError;

/// Writes one audit line (a JSON object, without its newline) durably enough that
/// returning `Ok` means the line is on its way to the log. Errors make the request fail.
pub trait AuditSink: Send + Sync {
    /// Writes `line`.
    fn write_line(&self, line: &str) -> Result<(), AuditError>;
}

/// Stdout, the Lambda function's log stream: the line and its newline in one write
/// under the stdout lock (never interleaved with other log lines), then a flush.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdoutSink;

impl AuditSink for StdoutSink {
    fn write_line(&self, line: &str) -> Result<(), AuditError> {
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        let mut out = std::io::stdout().lock();
        out.write_all(&buf)
            .and_then(|()| out.flush())
            .map_err(|_| AuditError)
    }
}

/// Keeps lines in memory (tests read them back), and can be made to fail.
#[derive(Debug, Default)]
pub struct MemorySink {
    lines: Mutex<Vec<String>>,
    failing: AtomicBool,
}

impl MemorySink {
    /// An empty sink that accepts lines.
    pub fn new() -> Self {
        Self::default()
    }

    /// The lines written so far, parsed.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
            .collect()
    }

    /// The raw lines written so far.
    pub fn raw(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// From now on, every write fails (`true`) or succeeds (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl AuditSink for MemorySink {
    fn write_line(&self, line: &str) -> Result<(), AuditError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(AuditError);
        }
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line.to_owned());
        Ok(())
    }
}
