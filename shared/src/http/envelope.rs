//! Vault's response envelope: `request_id`, `lease_id`, `renewable`, `lease_duration`,
//! `data`, `wrap_info`, `warnings`, `auth`, `mount_type`.

use serde_json::{Value, json};

use super::ApiResponse;

/// What a handler returns on success.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// 204 No Content.
    NoContent,
    /// A JSON envelope with a status (200, or 404 for KV's "deleted version" answer).
    Envelope(u16, Envelope),
    /// A bare JSON body (Vault's `sys/health` answers without the envelope).
    Raw(u16, Value),
    /// A status with no body (Vault's KV patch of a missing secret: a bare 404).
    Empty(u16),
}

/// The envelope's fields other than `request_id`. `Debug` leaves out `data`, `auth`,
/// `top_level` and `wrap_info` (they carry secrets and tokens).
#[derive(Clone, Default, PartialEq)]
pub struct Envelope {
    /// `data`.
    pub data: Option<Value>,
    /// `auth` (on login and token renewal).
    pub auth: Option<Value>,
    /// `lease_id` (empty when none).
    pub lease_id: String,
    /// `lease_duration`, seconds.
    pub lease_duration: i64,
    /// `renewable`.
    pub renewable: bool,
    /// `warnings` (null when empty).
    pub warnings: Vec<String>,
    /// `mount_type`, e.g. `kv`, `approle`, `token`.
    pub mount_type: &'static str,
    /// Extra top-level fields some of Vault's `sys/` endpoints answer with besides
    /// `data` (e.g. `sys/audit-hash`'s `hash`).
    pub top_level: serde_json::Map<String, Value>,
    /// `wrap_info` (a wrapped response: the wrapping token, its accessor, TTL and
    /// creation time and path; see [`crate::wrapping`]). Null otherwise.
    pub wrap_info: Option<Value>,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("lease_id", &self.lease_id)
            .field("lease_duration", &self.lease_duration)
            .field("renewable", &self.renewable)
            .field("mount_type", &self.mount_type)
            .finish_non_exhaustive()
    }
}

impl Envelope {
    /// An envelope with `data`.
    pub fn data(data: Value) -> Self {
        Self {
            data: Some(data),
            ..Self::default()
        }
    }

    /// Sets `mount_type`.
    pub fn mount(mut self, mount_type: &'static str) -> Self {
        self.mount_type = mount_type;
        self
    }

    /// A 200 reply.
    pub fn ok(self) -> Reply {
        Reply::Envelope(200, self)
    }

    /// Renders with `request_id`.
    pub fn render(&self, request_id: &str) -> Value {
        let mut body = json!({
            "request_id": request_id,
            "lease_id": self.lease_id,
            "renewable": self.renewable,
            "lease_duration": self.lease_duration,
            "data": self.data,
            "wrap_info": self.wrap_info,
            "warnings": if self.warnings.is_empty() { Value::Null } else { json!(self.warnings) },
            "auth": self.auth,
            "mount_type": self.mount_type,
        });
        if let Value::Object(fields) = &mut body {
            for (k, v) in &self.top_level {
                fields.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        body
    }
}

impl Reply {
    /// Renders the reply as a response.
    pub fn into_response(self, request_id: &str) -> ApiResponse {
        match self {
            Reply::NoContent => ApiResponse {
                status: 204,
                body: None,
            },
            Reply::Envelope(status, env) => ApiResponse {
                status,
                body: Some(env.render(request_id)),
            },
            Reply::Raw(status, body) => ApiResponse {
                status,
                body: Some(body),
            },
            Reply::Empty(status) => ApiResponse { status, body: None },
        }
    }
}
