//! `sys/quotas/rate-limit` (LIST) and `sys/quotas/rate-limit/:name` (GET, POST/PUT,
//! DELETE): rate-limit quotas on logins ([`crate::quota`]).

use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::mounts::{BackendKind, Table};
use crate::quota::{self, RateLimitQuota};

use crate::backend::ctx::Ctx;
use crate::backend::reply::keys_reply;

pub(super) async fn list(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    keys_reply(
        quota::list(c.store())
            .await?
            .into_iter()
            .map(|q| q.name)
            .collect(),
    )
}

pub(super) async fn read(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let q = quota::read(c.store(), c.param("name"))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(q.to_json()).mount("system").ok())
}

pub(super) async fn write(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    // A quota's path names an auth mount that has a login path.
    let is_login_mount = |m: &str| {
        c.table
            .get(Table::Auth, &format!("{m}/"))
            .is_some_and(|e| e.kind != BackendKind::Token)
    };
    let q = RateLimitQuota::from_body(c.param("name"), c.body, is_login_mount)?;
    quota::write(c.store(), &q).await?;
    Ok(Reply::NoContent)
}

pub(super) async fn delete(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    quota::delete(c.store(), c.param("name")).await?;
    Ok(Reply::NoContent)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_read_shape_is_vaults() {
        let q = super::RateLimitQuota {
            name: "q".into(),
            path: "auth/approle/".into(),
            role: String::new(),
            rate: 5,
            interval: 1,
            block_interval: 0,
        };
        assert_eq!(q.to_json()["type"], serde_json::json!("rate-limit"));
    }
}
