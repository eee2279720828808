//! `sys/audit-hash/:device`: the audit HMAC of a value, so an operator can find it in
//! the audit log (Vault's endpoint; Sigil has one device, [`crate::audit::DEVICE`]).

use serde_json::json;

use crate::audit::DEVICE;
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::BodyExt;

use crate::backend::ctx::Ctx;

/// Largest `input` hashed, in bytes (the request body limit bounds it anyway).
const MAX_INPUT_BYTES: usize = 64 * 1024;

/// Answers `{"hash": "hmac-sha256:…"}`, at the top level as Vault does and in `data`
/// (where client libraries such as hvac read it). 400 for another device name or a
/// missing, non-string or oversized `input`.
pub(super) async fn hash(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (key, device, body) = (c.svc.audit_key, c.param("device"), c.body);
    if device != DEVICE {
        return Err(ApiError::bad(format!(
            "unknown audit device; Sigil's one device is \"{DEVICE}\""
        )));
    }
    let input = body
        .string("input")?
        .ok_or_else(|| ApiError::bad("missing \"input\""))?;
    if input.len() > MAX_INPUT_BYTES {
        return Err(ApiError::bad("\"input\" is longer than 65536 bytes"));
    }
    let hashed = key.hash(&input);
    let mut env = Envelope::data(json!({ "hash": hashed })).mount("system");
    env.top_level.insert("hash".into(), json!(hashed));
    Ok(env.ok())
}
