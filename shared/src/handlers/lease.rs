//! Lease routes (`sys/leases/...`). Sigil's first engines (KV v2) issue no leases, so
//! every lease ID is unknown until the AWS engine lands: lookup and renew answer 400
//! as Vault does for an unknown lease, revoke succeeds (it is idempotent in Vault).

use crate::error::ApiError;
use crate::http::envelope::Reply;
use crate::http::params::{Body, BodyExt};
use crate::route::Route;

pub(crate) fn handle(route: &Route, body: &Body) -> Result<Reply, ApiError> {
    if let Route::LeaseRevokePrefix { .. } = route {
        return Ok(Reply::NoContent);
    }
    let has_id = body
        .string("lease_id")?
        .or(body.string("url_lease_id")?)
        .is_some_and(|s| !s.is_empty());
    match (route, has_id) {
        (_, false) => Err(ApiError::bad("missing lease_id")),
        (Route::LeaseRevoke, true) => Ok(Reply::NoContent),
        (_, true) => Err(ApiError::bad("invalid lease")),
    }
}
