//! One request/response exchange as the audit device records it: the facts gathered
//! while the request is handled (already hashed, so an [`Exchange`] never holds a
//! secret), and the two lines it writes.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::key::AuditKey;
use super::sink::{AuditError, AuditSink};
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
use crate::route::{Operation, Resolved};
use crate::token::TokenEntry;

/// The audit record of one request. Build it with [`Exchange::start`], feed it what the
/// dispatcher learns, write the request line once authorized ([`Exchange::write_request`])
/// and the response line at the end ([`Exchange::write_response`]).
pub struct Exchange {
    sink: Arc<dyn AuditSink>,
    key: Arc<AuditKey>,
    time: String,
    request_id: String,
    function: &'static str,
    remote_address: Option<String>,
    method: String,
    path: String,
    operation: Option<&'static str>,
    mount_point: Option<String>,
    auth: Option<Value>,
    data: Option<Value>,
    decision: Option<&'static str>,
    request_written: bool,
}

/// Shows the route facts only (they hold no secret; hashes are left out anyway).
impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("request_id", &self.request_id)
            .field("path", &self.path)
            .field("operation", &self.operation)
            .finish_non_exhaustive()
    }
}

fn operation_name(op: Operation) -> &'static str {
    match op {
        Operation::Read => "read",
        Operation::List => "list",
        Operation::Update => "update",
        Operation::Delete => "delete",
    }
}

/// The mount a logical path belongs to, Vault-style with a trailing slash:
/// `auth/<name>/` under `auth/`, else the first segment (`secret/`, `sys/`, `aws/`).
fn mount_point(path: &str) -> String {
    let mut parts = path.split('/');
    match (parts.next(), parts.next()) {
        (Some("auth"), Some(name)) => format!("auth/{name}/"),
        (Some(first), _) => format!("{first}/"),
        (None, _) => String::new(),
    }
}

impl Exchange {
    /// Starts the record of `req`, served by `function` at `now` (Unix seconds).
    pub fn start(
        sink: Arc<dyn AuditSink>,
        key: Arc<AuditKey>,
        req: &ApiRequest,
        function: &'static str,
        now: i64,
    ) -> Self {
        Self {
            sink,
            key,
            time: crate::clock::rfc3339(now),
            request_id: req.request_id.clone(),
            function,
            remote_address: req.remote_addr.clone(),
            method: req.method.clone(),
            path: crate::token::redact_tokens_in_path(
                req.path.strip_prefix("/v1/").unwrap_or(&req.path),
            )
            .into_owned(),
            operation: None,
            mount_point: None,
            auth: None,
            data: None,
            decision: None,
            request_written: false,
        }
    }

    /// The audit key (for `sys/audit-hash`).
    pub fn key(&self) -> &AuditKey {
        &self.key
    }

    /// Records the resolved route: logical path, operation and mount.
    pub fn resolved(&mut self, resolved: &Resolved) {
        self.path = crate::token::redact_tokens_in_path(&resolved.path).into_owned();
        self.operation = Some(operation_name(resolved.op));
        self.mount_point = Some(mount_point(&resolved.path));
    }

    /// Records the caller: the token and its accessor hashed, policies, display name.
    pub fn caller(&mut self, token: &str, entry: &TokenEntry) {
        self.auth = Some(json!({
            "client_token": self.key.hash(token),
            "accessor": self.key.hash(&entry.accessor),
            "policies": entry.policies,
            "display_name": entry.display_name,
            "token_type": "service",
        }));
    }

    /// Records the request's parameters (body, or query for reads), every string hashed.
    pub fn data(&mut self, params: &crate::http::params::Body) {
        let mut data = Value::Object(params.clone());
        self.key.hash_scalars(&mut data);
        self.data = Some(data);
    }

    /// Records the authorization decision: `allow` or `deny`.
    pub fn decide(&mut self, allowed: bool) {
        self.decision = Some(if allowed { "allow" } else { "deny" });
    }

    /// Records a refusal by a rate-limit quota (429): decision `rate_limited`.
    pub fn rate_limited(&mut self) {
        self.decision = Some("rate_limited");
    }

    fn request_section(&self) -> Value {
        json!({
            "id": self.request_id,
            "operation": self.operation,
            "method": self.method,
            "mount_point": self.mount_point,
            "path": self.path,
            "remote_address": self.remote_address,
            "data": self.data,
        })
    }

    fn line(&self, kind: &str, error: Option<&ApiError>) -> Map<String, Value> {
        let mut line = Map::new();
        line.insert("type".into(), json!(kind));
        line.insert("time".into(), json!(self.time));
        line.insert("request_id".into(), json!(self.request_id));
        line.insert("function".into(), json!(self.function));
        line.insert("auth".into(), self.auth.clone().unwrap_or(Value::Null));
        line.insert("request".into(), self.request_section());
        line.insert("decision".into(), json!(self.decision));
        line.insert("error".into(), json!(error.map(ToString::to_string)));
        line
    }

    fn write(&self, line: Map<String, Value>) -> Result<(), AuditError> {
        let text = serde_json::to_string(&Value::Object(line)).map_err(|_| AuditError)?;
        self.sink.write_line(&text)
    }

    /// Writes the request line (once). `error` is set when the request was refused
    /// before its handler ran.
    pub fn write_request(&mut self, error: Option<&ApiError>) -> Result<(), AuditError> {
        if self.request_written {
            return Ok(());
        }
        self.write(self.line("request", error))?;
        self.request_written = true;
        Ok(())
    }

    /// Writes the response line for `resp` (and `error`, when the request failed).
    pub fn write_response(
        &self,
        resp: &ApiResponse,
        error: Option<&ApiError>,
    ) -> Result<(), AuditError> {
        let mut line = self.line("response", error);
        let lease_id = resp
            .body
            .as_ref()
            .and_then(|b| b.get("lease_id"))
            .and_then(Value::as_str)
            .filter(|l| !l.is_empty());
        line.insert("status".into(), json!(resp.status));
        line.insert("lease_id".into(), json!(lease_id));
        line.insert(
            "response".into(),
            resp.body
                .as_ref()
                .map_or(Value::Null, |b| self.response_section(b)),
        );
        self.write(line)
    }

    /// The response body with Vault's envelope fields readable and everything else
    /// (data, auth secrets, bare bodies) hashed.
    fn response_section(&self, body: &Value) -> Value {
        const READABLE: &[&str] = &[
            "lease_id",
            "renewable",
            "lease_duration",
            "mount_type",
            "warnings",
            "errors",
        ];
        const AUTH_READABLE: &[&str] = &[
            "policies",
            "token_policies",
            "identity_policies",
            "lease_duration",
            "renewable",
            "token_type",
            "orphan",
            "num_uses",
            "entity_id",
        ];
        let Value::Object(fields) = body else {
            return self.hashed(body);
        };
        let mut out = Map::new();
        for (name, value) in fields {
            let value = match name.as_str() {
                "request_id" => continue,
                n if READABLE.contains(&n) => value.clone(),
                "auth" => match value {
                    Value::Object(auth) => Value::Object(
                        auth.iter()
                            .map(|(k, v)| {
                                let v = if AUTH_READABLE.contains(&k.as_str()) {
                                    v.clone()
                                } else {
                                    self.hashed(v)
                                };
                                (k.clone(), v)
                            })
                            .collect(),
                    ),
                    other => other.clone(),
                },
                _ => self.hashed(value),
            };
            out.insert(name.clone(), value);
        }
        Value::Object(out)
    }

    /// A copy of `value` with every scalar hashed.
    fn hashed(&self, value: &Value) -> Value {
        let mut v = value.clone();
        self.key.hash_scalars(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::MemorySink;

    fn exchange(sink: &Arc<MemorySink>) -> Exchange {
        let req = ApiRequest {
            method: "POST".into(),
            path: "/v1/auth/approle/login".into(),
            request_id: "r-1".into(),
            remote_addr: Some("192.0.2.1".into()),
            ..ApiRequest::default()
        };
        Exchange::start(
            sink.clone(),
            Arc::new(AuditKey::new(&[3; 32])),
            &req,
            "login",
            1_700_000_000,
        )
    }

    #[test]
    fn lines_hash_secrets_and_keep_route_facts() {
        let sink = Arc::new(MemorySink::new());
        let mut ex = exchange(&sink);
        let body = json!({"role_id": "RID", "secret_id": "SID"});
        ex.data(body.as_object().unwrap());
        ex.decide(true);
        ex.write_request(None).unwrap();
        ex.write_request(None).unwrap();
        let resp = ApiResponse {
            status: 200,
            body: Some(json!({
                "request_id": "r-1", "lease_id": "", "data": null,
                "auth": {"client_token": "sgl.TOKEN", "accessor": "ACC", "policies": ["default"],
                         "metadata": {"role_name": "app"}, "lease_duration": 60},
            })),
        };
        ex.write_response(&resp, None).unwrap();
        let raw = sink.raw().join("\n");
        for secret in ["RID", "SID", "sgl.TOKEN", "\"ACC\""] {
            assert!(!raw.contains(secret), "{secret} in {raw}");
        }
        let lines = sink.lines();
        assert_eq!(lines.len(), 2, "the request line is written once");
        let (req, resp) = (&lines[0], &lines[1]);
        assert_eq!(req["type"], "request");
        assert_eq!(req["time"], "2023-11-14T22:13:20Z");
        assert_eq!(req["request"]["path"], "auth/approle/login");
        assert_eq!(req["request"]["remote_address"], "192.0.2.1");
        assert_eq!(req["decision"], "allow");
        assert_eq!(resp["type"], "response");
        assert_eq!(resp["status"], 200);
        assert_eq!(resp["response"]["auth"]["policies"], json!(["default"]));
        assert_eq!(
            resp["response"]["auth"]["accessor"],
            json!(ex.key().hash("ACC"))
        );
        assert_eq!(resp["response"]["auth"]["lease_duration"], 60);
    }

    #[test]
    fn a_failing_sink_fails_the_write() {
        let sink = Arc::new(MemorySink::new());
        sink.set_failing(true);
        let mut ex = exchange(&sink);
        assert!(ex.write_request(None).is_err());
        assert!(
            !ex.request_written,
            "a failed line is not counted as written"
        );
        sink.set_failing(false);
        ex.write_request(None).expect("written once the sink works");
        ex.write_request(None).expect("and only once");
        assert_eq!(sink.lines().len(), 1);
    }

    #[test]
    fn mounts() {
        assert_eq!(mount_point("auth/approle/login"), "auth/approle/");
        assert_eq!(mount_point("secret/data/a/b"), "secret/");
        assert_eq!(mount_point("sys/leases/renew"), "sys/");
    }
}
