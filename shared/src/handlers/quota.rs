//! `sys/quotas/rate-limit` (LIST) and `sys/quotas/rate-limit/:name` (GET, POST/PUT,
//! DELETE): rate-limit quotas on logins ([`crate::quota`]).

use super::approle::keys_reply;
use crate::app::App;
use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::Body;
use crate::quota::{self, RateLimitQuota};
use crate::route::{Operation, Route};

pub(crate) async fn handle(
    app: &App,
    route: &Route,
    op: Operation,
    body: &Body,
) -> Result<Reply, ApiError> {
    let store = app.store.as_ref();
    match (route, op) {
        (Route::Quotas, _) => keys_reply(
            quota::list(store)
                .await?
                .into_iter()
                .map(|q| q.name)
                .collect(),
        ),
        (Route::Quota { name }, Operation::Read) => {
            let q = quota::read(store, name).await?.ok_or(ApiError::NotFound)?;
            Ok(Envelope::data(q.to_json()).mount("system").ok())
        }
        (Route::Quota { name }, Operation::Update) => {
            let cfg = &app.config;
            let is_login_mount = |m: &str| {
                matches!(m, "approle" | "aws")
                    || cfg.jwt_mounts.iter().any(|j| j == m)
                    || cfg.kubernetes_mounts.iter().any(|k| k == m)
            };
            let q = RateLimitQuota::from_body(name, body, is_login_mount)?;
            quota::write(store, &q).await?;
            Ok(Reply::NoContent)
        }
        (Route::Quota { name }, Operation::Delete) => {
            quota::delete(store, name).await?;
            Ok(Reply::NoContent)
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
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
