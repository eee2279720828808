//! The audit device: every request and every response becomes one JSON line on the
//! function's stdout (CloudWatch Logs in production), Vault's audit shape with
//! Sigil's additions (`request_id`, `function`, `decision`, `status`).
//!
//! Sensitive values never reach a line in the clear: tokens, accessors and every
//! string in request and response data (secret IDs, JWTs, secret values, access keys)
//! (numbers and booleans too) are HMAC-SHA256'd with the audit key ([`AuditKey`], kept KMS-wrapped in the keyring);
//! `sys/audit-hash/stdout` hashes a known value so an operator can search for it.
//! Route names, paths, operations, policies, lease IDs, statuses and error messages
//! (which never carry secrets) stay readable.
//!
//! Fail closed: the request line is written after authorization and before anything
//! is written to the store (a limited-use token's use included); when it cannot be
//! written, the request fails with 500 and nothing happens. When the response line
//! cannot be written, the client gets a 500 instead of the response.
//!
//! A request line:
//! `{"type":"request","time":"2026-11-30T21:00:00Z","request_id":"…","function":"issue",
//! "auth":{"client_token":"hmac-sha256:…","accessor":"hmac-sha256:…","policies":["default","app"],
//! "display_name":"approle","token_type":"service"},"request":{"id":"…","operation":"read",
//! "method":"GET","mount_point":"secret/","path":"secret/data/app","remote_address":"192.0.2.1",
//! "data":{}},"decision":"allow","error":null}`; the response line adds `status`,
//! `lease_id` and `response` (the response body, hashed the same way). `decision` is
//! `allow`, `deny` (authorization refused), `rate_limited` (a rate-limit quota refused
//! a login with 429), or null when the request failed before authorization.

mod exchange;
pub mod key;
pub mod sink;

pub use exchange::Exchange;
pub use key::AuditKey;
pub use sink::{AuditError, AuditSink, MemorySink, StdoutSink};

/// The name of Sigil's one audit device, as `sys/audit-hash/:path` takes it.
pub const DEVICE: &str = "stdout";
