//! One request/response exchange as the audit device records it: the facts gathered
//! while the request is handled (already hashed, so an [`Exchange`] never holds a
//! secret), and the two lines it writes.

use std::sync::Arc;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::key::AuditKey;
use super::sink::{AuditError, AuditSink};
use crate::backend::spec::Operation;
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse};
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
    auth: Option<AuthSection>,
    /// The request's parameters, hashed and serialized once for both lines.
    data: Option<Box<RawValue>>,
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

/// A line's `auth`: the caller's token and accessor hashed.
#[derive(Serialize)]
struct AuthSection {
    client_token: String,
    accessor: String,
    policies: Vec<String>,
    display_name: String,
    token_type: &'static str,
}

/// A line's `request`.
#[derive(Serialize)]
struct RequestSection<'a> {
    id: &'a str,
    operation: Option<&'static str>,
    method: &'a str,
    mount_point: Option<&'a str>,
    path: &'a str,
    remote_address: Option<&'a str>,
    data: Option<&'a RawValue>,
}

/// One audit line. The response fields are left out of request lines.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    time: &'a str,
    request_id: &'a str,
    function: &'static str,
    auth: Option<&'a AuthSection>,
    request: RequestSection<'a>,
    decision: Option<&'static str>,
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_id: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<Option<ResponseSection<'a>>>,
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

    /// Records the resolved route: logical path, operation and the mount's path
    /// (`secret/`, `auth/approle/`).
    pub fn resolved(&mut self, path: &str, op: Operation, mount_point: &str) {
        self.path = crate::token::redact_tokens_in_path(path).into_owned();
        self.operation = Some(op.name());
        self.mount_point = Some(mount_point.to_owned());
    }

    /// Records the caller: the token and its accessor hashed, policies, display name.
    pub fn caller(&mut self, token: &str, entry: &TokenEntry) {
        self.auth = Some(AuthSection {
            client_token: self.key.hash(token),
            accessor: self.key.hash(&entry.accessor),
            policies: entry.policies.clone(),
            display_name: entry.display_name.clone(),
            token_type: crate::token::token_type(entry),
        });
    }

    /// Records the request's parameters (body, or query for reads), every scalar hashed.
    pub fn data(&mut self, params: &crate::http::params::Body) {
        // A map of JSON values always serializes; on the impossible failure the line
        // says `null` rather than leaving a secret in the clear.
        self.data = serde_json::value::to_raw_value(&HashedMap(&self.key, params)).ok();
    }

    /// Records the authorization decision: `allow` or `deny`.
    pub fn decide(&mut self, allowed: bool) {
        self.decision = Some(if allowed { "allow" } else { "deny" });
    }

    /// Records a refusal by a rate-limit quota (429): decision `rate_limited`.
    pub fn rate_limited(&mut self) {
        self.decision = Some("rate_limited");
    }

    fn line(&self, kind: &'static str, error: Option<&ApiError>) -> Line<'_> {
        Line {
            kind,
            time: &self.time,
            request_id: &self.request_id,
            function: self.function,
            auth: self.auth.as_ref(),
            request: RequestSection {
                id: &self.request_id,
                operation: self.operation,
                method: &self.method,
                mount_point: self.mount_point.as_deref(),
                path: &self.path,
                remote_address: self.remote_address.as_deref(),
                data: self.data.as_deref(),
            },
            decision: self.decision,
            error: error.map(ToString::to_string),
            status: None,
            lease_id: None,
            response: None,
        }
    }

    fn write(&self, line: &Line<'_>) -> Result<(), AuditError> {
        let text = serde_json::to_string(line).map_err(|_| AuditError)?;
        self.sink.write_line(&text)
    }

    /// Writes the request line (once). `error` is set when the request was refused
    /// before its handler ran.
    pub fn write_request(&mut self, error: Option<&ApiError>) -> Result<(), AuditError> {
        if self.request_written {
            return Ok(());
        }
        self.write(&self.line("request", error))?;
        self.request_written = true;
        Ok(())
    }

    /// Writes the response line for `resp` (and `error`, when the request failed).
    pub fn write_response(
        &self,
        resp: &ApiResponse,
        error: Option<&ApiError>,
    ) -> Result<(), AuditError> {
        let lease_id = resp
            .body
            .as_ref()
            .and_then(|b| b.get("lease_id"))
            .and_then(Value::as_str)
            .filter(|l| !l.is_empty());
        let line = Line {
            status: Some(resp.status),
            lease_id: Some(lease_id),
            response: Some(resp.body.as_ref().map(|body| ResponseSection {
                key: &self.key,
                body,
            })),
            ..self.line("response", error)
        };
        self.write(&line)
    }
}

/// A request's parameters with every scalar hashed.
struct HashedMap<'a>(&'a AuditKey, &'a crate::http::params::Body);

impl Serialize for HashedMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.1.iter().map(|(k, v)| (k, self.0.hashed(v))))
    }
}

/// Envelope fields a response line shows as they are.
const READABLE: &[&str] = &[
    "lease_id",
    "renewable",
    "lease_duration",
    "mount_type",
    "warnings",
    "errors",
];

/// Fields of a response's `auth` a response line shows as they are.
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

/// A response line's `response`: the body with Vault's envelope fields readable and
/// everything else (data, auth secrets, bare bodies) hashed; `request_id` left out
/// (the line has it).
struct ResponseSection<'a> {
    key: &'a AuditKey,
    body: &'a Value,
}

impl Serialize for ResponseSection<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let key = self.key;
        let Value::Object(fields) = self.body else {
            return key.hashed(self.body).serialize(s);
        };
        let mut map = s.serialize_map(None)?;
        for (name, value) in fields {
            match (name.as_str(), value) {
                ("request_id", _) => {}
                (n, _) if READABLE.contains(&n) => map.serialize_entry(name, value)?,
                ("auth", Value::Object(auth)) => {
                    map.serialize_entry(name, &AuthResponse { key, auth })?;
                }
                ("auth", _) => map.serialize_entry(name, value)?,
                ("wrap_info", Value::Object(info)) => {
                    map.serialize_entry(name, &WrapInfoResponse { key, info })?;
                }
                ("wrap_info", Value::Null) => map.serialize_entry(name, value)?,
                _ => map.serialize_entry(name, &key.hashed(value))?,
            }
        }
        map.end()
    }
}

/// A response's `auth` with its secrets (token, accessor, metadata) hashed.
struct AuthResponse<'a> {
    key: &'a AuditKey,
    auth: &'a serde_json::Map<String, Value>,
}

impl Serialize for AuthResponse<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.auth.len()))?;
        for (name, value) in self.auth {
            if AUTH_READABLE.contains(&name.as_str()) {
                map.serialize_entry(name, value)?;
            } else {
                map.serialize_entry(name, &self.key.hashed(value))?;
            }
        }
        map.end()
    }
}

/// Fields of a response's `wrap_info` a response line shows as they are (the
/// wrapping token and the accessors are hashed, as Vault's audit devices do).
const WRAP_INFO_READABLE: &[&str] = &["ttl", "creation_time", "creation_path"];

/// A response's `wrap_info` with the wrapping token and accessors hashed.
struct WrapInfoResponse<'a> {
    key: &'a AuditKey,
    info: &'a serde_json::Map<String, Value>,
}

impl Serialize for WrapInfoResponse<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.info.len()))?;
        for (name, value) in self.info {
            if WRAP_INFO_READABLE.contains(&name.as_str()) {
                map.serialize_entry(name, value)?;
            } else {
                map.serialize_entry(name, &self.key.hashed(value))?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
        assert_eq!(
            resp["response"]["auth"]["metadata"]["role_name"],
            json!(ex.key().hash("app"))
        );
        assert_eq!(resp["response"]["lease_id"], "");
        assert!(resp["response"].get("request_id").is_none());
        assert_eq!(resp["lease_id"], Value::Null);
        assert_eq!(
            req["request"]["data"]["secret_id"],
            json!(ex.key().hash("SID"))
        );
        for field in ["status", "lease_id", "response"] {
            assert!(req.get(field).is_none(), "request lines have no {field}");
        }
    }

    #[test]
    fn bare_bodies_and_errors() {
        let sink = Arc::new(MemorySink::new());
        let mut ex = exchange(&sink);
        let err = ApiError::PermissionDenied;
        ex.write_request(Some(&err)).unwrap();
        let resp = ApiResponse {
            status: 200,
            body: Some(json!(["a", 1])),
        };
        ex.write_response(&resp, None).unwrap();
        let empty = ApiResponse {
            status: 204,
            body: None,
        };
        ex.write_response(&empty, None).unwrap();
        let lines = sink.lines();
        assert_eq!(lines[0]["error"], "permission denied");
        assert_eq!(lines[0]["request"]["data"], Value::Null);
        assert_eq!(lines[0]["auth"], Value::Null);
        assert_eq!(
            lines[1]["response"],
            json!([ex.key().hash("a"), ex.key().hash("1")])
        );
        assert_eq!(lines[2]["response"], Value::Null);
        assert_eq!(lines[2]["status"], 204);
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
}
