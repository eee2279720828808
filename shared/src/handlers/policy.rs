//! Policy routes (`sys/policies/acl`) and `sys/capabilities-self`.

use serde_json::{Map, Value, json};

use super::Caller;
use crate::app::App;
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::{Body, BodyExt};
use crate::policies;
use crate::policy::ROOT_POLICY_NAME;
use crate::route::{Operation, Route};

pub(crate) async fn handle(
    app: &App,
    route: &Route,
    op: Operation,
    body: &Body,
    now: i64,
) -> Result<Reply, ApiError> {
    let store = app.store.as_ref();
    match (route, op) {
        (Route::Policies, _) => super::approle::keys_reply(policies::list(store).await?),
        (Route::Policy { name }, Operation::Read) => {
            let text = policies::read(store, name)
                .await?
                .ok_or(ApiError::NotFound)?;
            Ok(Envelope::data(json!({ "name": name, "policy": text }))
                .mount("system")
                .ok())
        }
        (Route::Policy { name }, Operation::Update) => {
            let text = body
                .string("policy")?
                .ok_or_else(|| ApiError::bad("'policy' parameter not supplied or empty"))?;
            policies::write(store, name, &text, now).await?;
            app.acl_cache.clear();
            Ok(Reply::NoContent)
        }
        (Route::Policy { name }, Operation::Delete) => {
            policies::delete(store, name).await?;
            app.acl_cache.clear();
            Ok(Reply::NoContent)
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// Most paths one capabilities request may name.
const MAX_PATHS: usize = 100;

/// Whether a request could name `path` (a logical path, no `/v1/`): the request
/// path rules of [`crate::route::logical_path`] (no empty, `.` or `..` segment, no
/// control characters).
fn requestable(path: &str) -> bool {
    !path.chars().any(char::is_control) && crate::route::clean_segments(path)
}

/// `sys/capabilities-self`: the caller's capabilities on each of `paths` (or `path`),
/// as Vault answers: one key per path, plus `capabilities` for the single or first one.
/// A path no request could name (`secret/data/a/../b`) is `deny`, whatever the
/// policies say: Vault matches such a path literally, but Sigil refuses the request.
pub(crate) async fn capabilities_self(
    app: &App,
    caller: Option<Caller>,
    body: &Body,
    now: i64,
) -> Result<Reply, ApiError> {
    let caller = caller.ok_or(ApiError::PermissionDenied)?;
    let paths = body
        .list("paths")?
        .or(body.list("path")?)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad("missing paths"))?;
    if paths.len() > MAX_PATHS {
        return Err(ApiError::bad(format!(
            "at most {MAX_PATHS} paths per request"
        )));
    }
    let root = caller.entry.policies.iter().any(|p| p == ROOT_POLICY_NAME);
    let acl = app
        .acl_cache
        .acl(
            app.store.as_ref(),
            &caller.entry.policies,
            now,
            app.config.policy_cache_ttl,
        )
        .await?;
    let mut data = Map::new();
    for p in &paths {
        let path = p.trim_start_matches('/');
        let caps = if !requestable(path) {
            vec!["deny"]
        } else if root {
            vec!["root"]
        } else {
            let names = acl.capabilities(path).names();
            if names.is_empty() {
                vec!["deny"]
            } else {
                names
            }
        };
        data.insert(p.clone(), json!(caps));
    }
    if let Some(first) = paths.first().and_then(|p| data.get(p)).cloned() {
        data.insert("capabilities".into(), first);
    }
    Ok(Envelope::data(Value::Object(data)).ok())
}
