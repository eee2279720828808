//! `sys/seal-status`, `sys/leader` and `sys/audit`: what clients ask of a server's state.
//! Sigil has no seal, no standby and one audit device.

use serde_json::{Map, Value, json};

use crate::audit::DEVICE;
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};

use crate::backend::ctx::Ctx;

/// `GET sys/seal-status` (no token): always initialized and unsealed, in Vault's
/// shape (bare object, no envelope), so `vault status` works.
pub(super) async fn seal_status(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::Raw(
        200,
        json!({
            "type": "shamir",
            "initialized": true,
            "sealed": false,
            "t": 1,
            "n": 1,
            "progress": 0,
            "nonce": "",
            "version": concat!("sigil-", env!("CARGO_PKG_VERSION")),
            "commit_date": env!("SIGIL_COMMIT_DATE"),
            "migration": false,
            "cluster_name": "sigil",
            "cluster_id": cluster_id(c),
            "recovery_seal": false,
            "storage_type": "dynamodb",
        }),
    ))
}

/// The deployment's cluster ID: a UUID derived from its table's name, the same in
/// every function (Vault's `cluster_id`).
pub(super) fn cluster_id(c: &Ctx<'_>) -> String {
    crate::mounts::names::uuid_for(&format!("cluster\0{}", c.svc.config.table))
}

/// `GET sys/leader` (no token): Sigil has no HA mode, as a single Vault server.
pub(super) async fn leader(_: &Ctx<'_>) -> Result<Reply, ApiError> {
    Ok(Reply::Raw(200, json!({ "ha_enabled": false })))
}

/// `GET sys/audit`: the one built-in device, `stdout/` (a file device writing to the
/// function's standard output, read by CloudWatch Logs).
pub(super) async fn list(_: &Ctx<'_>) -> Result<Reply, ApiError> {
    let path = format!("{DEVICE}/");
    let mut data = Map::new();
    data.insert(
        path.clone(),
        json!({
            "type": "file",
            "description": "Sigil's audit device: JSON lines on the function's standard output",
            "options": { "file_path": "stdout" },
            "local": false,
            "path": path,
        }),
    );
    let mut env = Envelope::data(Value::Object(data.clone())).mount("system");
    env.top_level = data;
    Ok(env.ok())
}

/// `PUT sys/audit/:path`: refused; Sigil's one device is built in.
pub(super) async fn enable(_: &Ctx<'_>) -> Result<Reply, ApiError> {
    Err(ApiError::bad(format!(
        "Sigil has one built-in audit device, \"{DEVICE}\"; devices cannot be enabled or disabled"
    )))
}

/// `DELETE sys/audit/:path`: 400 for the built-in device; 204 for any other path,
/// where nothing is enabled (Vault answers so).
pub(super) async fn disable(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    if c.param("path").trim_end_matches('/') == DEVICE {
        return enable(c).await;
    }
    Ok(Reply::NoContent)
}
