//! The KV version 2 backend's paths (engine: [`crate::kv`]). Items are kept under the
//! mount's storage prefix ([`crate::mounts::MountEntry::storage`]).

use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::kv::{ConfigUpdate, Kv, MetadataUpdate, ReadOutcome, Versions, WriteRequest};
use crate::op;

use super::ctx::Ctx;
use super::reply::keys_reply;
use super::spec::{PathSpec, PrefetchArgs};

/// KV v2's paths. Reads go to the issue function, writes to admin.
pub static PATHS: &[PathSpec] = &[
    PathSpec::new(
        "config",
        &[
            op!(Read, Admin, read_config),
            op!(Update, Admin, write_config),
        ],
    ),
    PathSpec::new(
        "data/{*path}",
        &[
            op!(Read, Issue, read, prefetch = read_keys),
            op!(Update, Admin, write),
            op!(Patch, Admin, patch),
            op!(Delete, Admin, delete_latest),
        ],
    )
    .existence_check(),
    PathSpec::new("metadata", METADATA_OPS).existence_check(),
    PathSpec::new("metadata/{*path}", METADATA_OPS).existence_check(),
    PathSpec::new("delete/{*path}", &[op!(Update, Admin, delete_versions)]),
    PathSpec::new("undelete/{*path}", &[op!(Update, Admin, undelete)]),
    PathSpec::new("destroy/{*path}", &[op!(Update, Admin, destroy)]),
];

const METADATA_OPS: &[super::spec::OpSpec] = &[
    op!(Read, Issue, read_metadata),
    op!(List, Issue, list),
    op!(Update, Admin, write_metadata),
    op!(Delete, Admin, delete_metadata),
];

fn kv<'a>(c: &'a Ctx<'a>) -> Kv<'a> {
    Kv {
        store: c.svc.store,
        keyring: c.svc.keyring,
    }
}

fn mount<'a>(c: &'a Ctx<'a>) -> &'a str {
    &c.mount.storage
}

/// The `version` query parameter of a read (0, the newest, when absent or empty).
fn version(req: &crate::http::ApiRequest) -> Result<i64, ApiError> {
    match req.query_param("version") {
        None | Some("") => Ok(0),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .ok_or_else(|| ApiError::bad("invalid version")),
    }
}

/// A read's metadata and version items, when they can be named up front
/// ([`crate::kv::read_keys`]).
fn read_keys(a: &PrefetchArgs<'_>) -> Vec<crate::store::Key> {
    version(a.req)
        .ok()
        .and_then(|v| crate::kv::read_keys(&a.mount.storage, a.param("path"), v, a.kv_latest))
        .map(Vec::from)
        .unwrap_or_default()
}

async fn read(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let version = version(c.req)?;
    match kv(c)
        .read_with(mount(c), c.param("path"), version, c.svc.kv_latest)
        .await?
    {
        ReadOutcome::Found(d) => Ok(Envelope::data(d).mount("kv").ok()),
        ReadOutcome::Gone(d) => Ok(Reply::Envelope(404, Envelope::data(d).mount("kv"))),
        ReadOutcome::Missing => Err(ApiError::NotFound),
    }
}

async fn write(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let meta = kv(c)
        .write(
            mount(c),
            c.param("path"),
            &WriteRequest::from_body(c.body)?,
            c.grant,
            c.now,
        )
        .await?;
    Ok(Envelope::data(meta).mount("kv").ok())
}

/// `PATCH data/:path`: Vault's JSON merge patch, which must say so in its
/// `Content-Type` (415 otherwise, as Vault: a plain JSON body would be a full write).
async fn patch(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let media = c.req.header("content-type").unwrap_or("");
    let essence = media.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/merge-patch+json") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "PATCH requires Content-Type of application/merge-patch+json, provided {:?}",
            essence.chars().take(64).collect::<String>()
        )));
    }
    // Vault answers a patch of a missing, deleted or destroyed secret with a bare 404.
    let meta = match kv(c)
        .patch(
            mount(c),
            c.param("path"),
            &WriteRequest::from_body(c.body)?,
            c.now,
        )
        .await
    {
        Err(ApiError::NotFound) => return Ok(Reply::Empty(404)),
        other => other?,
    };
    Ok(Envelope::data(meta).mount("kv").ok())
}

async fn delete_latest(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    kv(c)
        .soft_delete(mount(c), c.param("path"), None, c.now)
        .await?;
    Ok(Reply::NoContent)
}

async fn delete_versions(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    kv(c)
        .soft_delete(
            mount(c),
            c.param("path"),
            Some(&Versions::from_body(c.body)?),
            c.now,
        )
        .await?;
    Ok(Reply::NoContent)
}

async fn undelete(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    kv(c)
        .undelete(
            mount(c),
            c.param("path"),
            &Versions::from_body(c.body)?,
            c.now,
        )
        .await?;
    Ok(Reply::NoContent)
}

async fn destroy(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    kv(c)
        .destroy(
            mount(c),
            c.param("path"),
            &Versions::from_body(c.body)?,
            c.now,
        )
        .await?;
    Ok(Reply::NoContent)
}

async fn list(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let keys = kv(c)
        .list(mount(c), c.param("path"))
        .await?
        .ok_or(ApiError::NotFound)?;
    keys_reply(keys)
}

async fn read_metadata(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let m = kv(c)
        .read_metadata(mount(c), c.param("path"))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(m).mount("kv").ok())
}

async fn write_metadata(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    kv(c)
        .write_metadata(
            mount(c),
            c.param("path"),
            &MetadataUpdate::from_body(c.body)?,
            c.grant,
            c.now,
        )
        .await?;
    Ok(Reply::NoContent)
}

async fn delete_metadata(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    kv(c).delete_all(mount(c), c.param("path")).await?;
    Ok(Reply::NoContent)
}

async fn read_config(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    Ok(Envelope::data(kv(c).read_config(mount(c)).await?)
        .mount("kv")
        .ok())
}

async fn write_config(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    kv(c)
        .write_config(mount(c), &ConfigUpdate::from_body(c.body)?)
        .await?;
    Ok(Reply::NoContent)
}
