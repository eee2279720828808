//! Revocation and renewal of the database engine's leases: the user is dropped with
//! the role's `revocation_statements`, or the plugin's default (end its sessions,
//! revoke its privileges, `REASSIGN OWNED`, `DROP OWNED`, `DROP ROLE`); a renewal
//! moves its `VALID UNTIL` with the role's `renew_statements` or OpenBao's default
//! `ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}'`. Both use the role's statements
//! as they are at that moment (OpenBao's rule); a deleted role means the defaults.

use std::sync::Arc;

use async_trait::async_trait;

use super::Mount;
use super::config::{self, ConnectionConfig, DbCallError, with_root};
use super::failpoints::{Failpoints, Step};
use super::port::DatabaseApi;
use super::roles::{self, DbRole};
use super::statements::{self, Kind, Values};
use crate::keyring::Keyring;
use crate::lease::{Lease, RevokeError, Revoker};
use crate::store::Store;

/// Lease kind of a user issued by `database/creds/:role`.
pub const KIND_DB_USER: &str = "database.user";
/// Lease data key naming the database user.
pub const DATA_USERNAME: &str = "username";
/// Lease data key naming the connection.
pub const DATA_DB_NAME: &str = "db_name";
/// Lease data key naming the role.
pub const DATA_ROLE: &str = "role";
/// Lease data key naming the mount's storage prefix.
pub const DATA_MOUNT_PREFIX: &str = "mount_prefix";

/// Seconds a user's `VALID UNTIL` passes its lease's expiry (OpenBao's buffer, so the
/// user never expires before its lease).
pub const VALID_UNTIL_BUFFER_SECS: i64 = 5;

/// OpenBao's default renewal.
pub const DEFAULT_RENEW: &str = "ALTER ROLE \"{{name}}\" VALID UNTIL '{{expiration}}'";

/// Drops `user` of connection `db_name` with `role`'s revocation statements (or the
/// default). A user that does not exist is dropped already.
#[allow(clippy::too_many_arguments)]
pub async fn drop_user(
    store: &dyn Store,
    keyring: &Keyring,
    db: &dyn DatabaseApi,
    m: Mount<'_>,
    db_name: &str,
    cfg: &ConnectionConfig,
    role: &DbRole,
    user: &str,
) -> Result<(), DbCallError> {
    let custom = if role.revocation_statements.is_empty() {
        None
    } else {
        Some(statements::render(
            Kind::Revocation,
            &role.revocation_statements,
            &Values {
                username: user,
                ..Values::default()
            },
        )?)
    };
    with_root(store, keyring, m, db_name, cfg, |conn| {
        let custom = custom.as_deref();
        async move { db.delete_user(&conn, user, custom).await }
    })
    .await
}

/// Revokes and renews `database.user` leases through the issuing mount's connection.
pub struct DbRevoker {
    store: Arc<dyn Store>,
    keyring: Arc<Keyring>,
    db: Arc<dyn DatabaseApi>,
    failpoints: Arc<dyn Failpoints>,
}

impl DbRevoker {
    /// A revoker over the engine's ports.
    pub fn new(
        store: Arc<dyn Store>,
        keyring: Arc<Keyring>,
        engine: &super::engine::Engine,
    ) -> Self {
        Self {
            store,
            keyring,
            db: engine.db.clone(),
            failpoints: engine.failpoints.clone(),
        }
    }

    async fn context(
        &self,
        lease: &Lease,
    ) -> Result<Option<(String, ConnectionConfig, DbRole, String)>, RevokeError> {
        let (Some(user), Some(db_name), Some(prefix)) = (
            lease.data.get(DATA_USERNAME),
            lease.data.get(DATA_DB_NAME),
            lease.data.get(DATA_MOUNT_PREFIX),
        ) else {
            return Ok(None);
        };
        let m = Mount {
            prefix,
            name: lease.path.split('/').next().unwrap_or_default(),
        };
        let unavailable = |e: crate::error::ApiError| {
            tracing::warn!(error = %e, "reading the database engine's configuration failed");
            RevokeError("storage unavailable".into())
        };
        let cfg = config::read(self.store.as_ref(), m, db_name)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| RevokeError("the lease's database connection is gone".into()))?;
        let role = match lease.data.get(DATA_ROLE) {
            Some(r) => roles::read(self.store.as_ref(), m, r)
                .await
                .map_err(unavailable)?
                .unwrap_or_default(),
            None => DbRole::default(),
        };
        Ok(Some((user.clone(), cfg, role, db_name.clone())))
    }
}

fn revoke_error(e: DbCallError) -> RevokeError {
    RevokeError(match e {
        DbCallError::Db(d) => d.to_string(),
        DbCallError::Api(a) => a.to_string(),
    })
}

fn mount_of(lease: &Lease) -> Mount<'_> {
    Mount {
        prefix: lease.data.get(DATA_MOUNT_PREFIX).map_or("", String::as_str),
        name: lease.path.split('/').next().unwrap_or_default(),
    }
}

#[async_trait]
impl Revoker for DbRevoker {
    async fn revoke(&self, lease: &Lease) -> Result<(), RevokeError> {
        let Some((user, cfg, role, db_name)) = self.context(lease).await? else {
            return Ok(());
        };
        drop_user(
            self.store.as_ref(),
            &self.keyring,
            self.db.as_ref(),
            mount_of(lease),
            &db_name,
            &cfg,
            &role,
            &user,
        )
        .await
        .map_err(revoke_error)?;
        if self.failpoints.crash_after(Step::UserDropped) {
            return Err(RevokeError(
                "stopped by a failpoint (simulated crash)".into(),
            ));
        }
        Ok(())
    }

    async fn renew(&self, lease: &Lease, expire_at: i64) -> Result<(), RevokeError> {
        let Some((user, cfg, role, db_name)) = self.context(lease).await? else {
            return Ok(());
        };
        let stmts = if role.renew_statements.is_empty() {
            vec![DEFAULT_RENEW.to_owned()]
        } else {
            role.renew_statements.clone()
        };
        let expiration = statements::expiration(expire_at + VALID_UNTIL_BUFFER_SECS);
        let queries = statements::render(
            Kind::Renew,
            &stmts,
            &Values {
                username: &user,
                password: "",
                expiration: &expiration,
            },
        )
        .map_err(|e| RevokeError(e.to_string()))?;
        let db = self.db.as_ref();
        with_root(
            self.store.as_ref(),
            &self.keyring,
            mount_of(lease),
            &db_name,
            &cfg,
            |conn| {
                let queries = &queries;
                let user = &user;
                async move { db.update_user(&conn, user, queries).await }
            },
        )
        .await
        .map_err(revoke_error)
    }
}
