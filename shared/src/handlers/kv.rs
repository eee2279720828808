//! KV v2 routes.

use crate::app::App;
use crate::authz::Grant;
use crate::error::ApiError;
use crate::http::ApiRequest;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::Body;
use crate::kv::{Kv, ReadOutcome};
use crate::route::{Operation, Route};

pub(crate) async fn handle(
    app: &App,
    req: &ApiRequest,
    route: &Route,
    op: Operation,
    body: &Body,
    grant: Grant,
    now: i64,
) -> Result<Reply, ApiError> {
    let kv = Kv {
        store: app.store.as_ref(),
        keyring: &app.keyring,
    };
    match (route, op) {
        (Route::KvData { mount, path }, Operation::Read) => {
            let version = match req.query_param("version") {
                None | Some("") => 0,
                Some(v) => v
                    .parse::<i64>()
                    .ok()
                    .filter(|v| *v >= 0)
                    .ok_or_else(|| ApiError::bad("invalid version"))?,
            };
            match kv.read(mount, path, version).await? {
                ReadOutcome::Found(d) => Ok(Envelope::data(d).mount("kv").ok()),
                ReadOutcome::Gone(d) => Ok(Reply::Envelope(404, Envelope::data(d).mount("kv"))),
                ReadOutcome::Missing => Err(ApiError::NotFound),
            }
        }
        (Route::KvData { mount, path }, Operation::Update) => {
            let meta = kv.write(mount, path, body, grant, now).await?;
            Ok(Envelope::data(meta).mount("kv").ok())
        }
        (Route::KvData { mount, path }, Operation::Delete) => {
            kv.soft_delete(mount, path, None, now).await?;
            Ok(Reply::NoContent)
        }
        (Route::KvDelete { mount, path }, _) => {
            kv.soft_delete(mount, path, Some(body), now).await?;
            Ok(Reply::NoContent)
        }
        (Route::KvUndelete { mount, path }, _) => {
            kv.undelete(mount, path, body, now).await?;
            Ok(Reply::NoContent)
        }
        (Route::KvDestroy { mount, path }, _) => {
            kv.destroy(mount, path, body, now).await?;
            Ok(Reply::NoContent)
        }
        (Route::KvMetadata { mount, path }, Operation::List) => {
            let keys = kv.list(mount, path).await?.ok_or(ApiError::NotFound)?;
            super::approle::keys_reply(keys)
        }
        (Route::KvMetadata { mount, path }, Operation::Read) => {
            let m = kv
                .read_metadata(mount, path)
                .await?
                .ok_or(ApiError::NotFound)?;
            Ok(Envelope::data(m).mount("kv").ok())
        }
        (Route::KvMetadata { mount, path }, Operation::Update) => {
            kv.write_metadata(mount, path, body, grant, now).await?;
            Ok(Reply::NoContent)
        }
        (Route::KvMetadata { mount, path }, Operation::Delete) => {
            kv.delete_all(mount, path).await?;
            Ok(Reply::NoContent)
        }
        (Route::KvConfig { mount }, Operation::Read) => {
            Ok(Envelope::data(kv.read_config(mount).await?)
                .mount("kv")
                .ok())
        }
        (Route::KvConfig { mount }, _) => {
            kv.write_config(mount, body).await?;
            Ok(Reply::NoContent)
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}
