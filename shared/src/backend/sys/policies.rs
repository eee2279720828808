//! `sys/policies/acl` and `sys/capabilities-self` (rules: [`crate::policies`],
//! [`crate::policy`]).

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::BodyExt;
use crate::policies;
use crate::policy::ROOT_POLICY_NAME;

use crate::backend::ctx::Ctx;
use crate::backend::reply::keys_reply;

pub(super) async fn list(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    keys_reply(policies::list(c.store()).await?)
}

pub(super) async fn read(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = c.param("name");
    let stored = policies::read(c.store(), name)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(json!({
        "name": name,
        "policy": stored.text,
        "allow_slashes_in_identity_templates": stored.allow_slashes_in_identity_templates,
        "allow_wildcards_in_identity_templates": false,
    }))
    .mount("system")
    .ok())
}

/// OpenBao's templating options of a policy write: `allow_slashes_in_identity_templates`
/// (kept with the policy), and `allow_wildcards_in_identity_templates`, refused when
/// true (a claim holding `*` or `+` would widen the rule; docs/policies.md).
fn templating_options(c: &Ctx<'_>, text: String) -> Result<policies::StoredPolicy, ApiError> {
    if c.body.boolean("allow_wildcards_in_identity_templates")? == Some(true) {
        return Err(ApiError::bad(
            "allow_wildcards_in_identity_templates is not supported by Sigil: a templated value holding \"*\" or \"+\" would widen the rule",
        ));
    }
    Ok(policies::StoredPolicy {
        text,
        allow_slashes_in_identity_templates: c
            .body
            .boolean("allow_slashes_in_identity_templates")?
            .unwrap_or(false),
    })
}

pub(super) async fn write(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let text = c
        .body
        .string("policy")?
        .ok_or_else(|| ApiError::bad("'policy' parameter not supplied or empty"))?;
    let policy = templating_options(c, text)?;
    policies::write(c.store(), c.param("name"), &policy, c.now).await?;
    c.svc.acl_cache.clear();
    Ok(Reply::NoContent)
}

pub(super) async fn delete(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    policies::delete(c.store(), c.param("name")).await?;
    c.svc.acl_cache.clear();
    Ok(Reply::NoContent)
}

/// Most paths one capabilities request may name.
const MAX_PATHS: usize = 100;

/// Whether a request could name `path` (a logical path, no `/v1/`): the request
/// path rules of [`crate::request_path::logical_path`] (no empty, `.` or `..` segment, no
/// control characters).
fn requestable(path: &str) -> bool {
    !path.chars().any(char::is_control) && crate::request_path::clean_segments(path)
}

/// `sys/capabilities-self`: the caller's capabilities on each of `paths` (or `path`).
pub(super) async fn capabilities_self(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    capabilities_of(c, &c.caller()?.entry).await
}

/// `sys/capabilities`: the capabilities of the token in `token` on each of `paths`.
pub(super) async fn capabilities_token(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let token = c
        .body
        .string("token")?
        .filter(|t| !t.is_empty())
        .map(secrecy::SecretString::from)
        .ok_or_else(|| ApiError::bad("missing token"))?;
    let entry = c
        .find_token(&token)
        .await?
        .filter(|e| c.token_usable(e))
        .ok_or_else(|| ApiError::bad("invalid token"))?;
    capabilities_of(c, &entry).await
}

/// `sys/capabilities-accessor`: the capabilities of the token with `accessor` on each
/// of `paths`.
pub(super) async fn capabilities_accessor(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let accessor = c
        .body
        .string("accessor")?
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::bad("missing accessor"))?;
    let entry = crate::token::find_by_accessor(c.store(), &accessor, c.now)
        .await?
        .filter(|e| c.token_usable(e))
        .ok_or_else(|| ApiError::bad("invalid accessor"))?;
    capabilities_of(c, &entry).await
}

/// A token's capabilities on each of `paths` (or `path`), as Vault answers: one key
/// per path, in `data` and at the top level, plus `capabilities` when one path was
/// asked. A path no request could name (`secret/data/a/../b`) is `deny`, whatever the
/// policies say: Vault matches such a path literally, but Sigil refuses the request.
async fn capabilities_of(c: &Ctx<'_>, entry: &crate::token::TokenEntry) -> Result<Reply, ApiError> {
    let body = c.body;
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
    let root = entry.policies.iter().any(|p| p == ROOT_POLICY_NAME);
    let acl = c.token_acl(entry).await?;
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
    if let [only] = paths.as_slice()
        && let Some(caps) = data.get(only).cloned()
    {
        data.insert("capabilities".into(), caps);
    }
    let mut env = Envelope::data(Value::Object(data.clone()));
    env.top_level = data;
    Ok(env.ok())
}

/// `GET sys/policy`: policy names, as `keys` and `policies` (Vault's older policy API).
pub(super) async fn legacy_list(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let names = policies::list(c.store()).await?;
    let data = json!({ "keys": names, "policies": names });
    let mut env = Envelope::data(data.clone()).mount("system");
    if let Value::Object(m) = data {
        env.top_level = m;
    }
    Ok(env.ok())
}

/// `GET sys/policy/:name`: `name` and `rules` (the policy text).
pub(super) async fn legacy_read(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = c.param("name");
    let stored = policies::read(c.store(), name)
        .await?
        .ok_or(ApiError::NotFound)?;
    let data = json!({
        "name": name,
        "rules": stored.text,
        "allow_slashes_in_identity_templates": stored.allow_slashes_in_identity_templates,
        "allow_wildcards_in_identity_templates": false,
    });
    let mut env = Envelope::data(data.clone()).mount("system");
    if let Value::Object(m) = data {
        env.top_level = m;
    }
    Ok(env.ok())
}

/// `PUT sys/policy/:name`: the text in `policy` or `rules` (Vault's older name).
/// Answers 200 with Vault's deprecation warning when `rules` was used, else 204.
pub(super) async fn legacy_write(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (text, deprecated) = match c.body.string("policy")? {
        Some(t) if !t.is_empty() => (t, false),
        _ => (
            c.body
                .string("rules")?
                .filter(|t| !t.is_empty())
                .ok_or_else(|| ApiError::bad("'policy' parameter not supplied or empty"))?,
            true,
        ),
    };
    let policy = templating_options(c, text)?;
    policies::write(c.store(), c.param("name"), &policy, c.now).await?;
    c.svc.acl_cache.clear();
    if deprecated {
        return Ok(Envelope {
            warnings: vec!["'rules' is deprecated, please use 'policy' instead".into()],
            ..Envelope::default()
        }
        .mount("system")
        .ok());
    }
    Ok(Reply::NoContent)
}
