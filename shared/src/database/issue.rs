//! Issuing database users (`{mount}/creds/:role`), write-ahead as the AWS engine's IAM
//! users ([`crate::aws_engine::issue`]): the lease is recorded (pending) before the
//! user exists, the role's creation statements create it with `VALID UNTIL` a little
//! past the lease's expiry (OpenBao's 5 s), then the lease becomes active. A failure
//! the database stated (a statement failed in its transaction, the login was refused)
//! created nothing: the lease goes and no user is dropped (one of that name may be
//! someone else's: `role "..." already exists`). Any other failure drops the user
//! again (an unreachable database or a lost answer never proves it did not commit),
//! and the lease remains only when that drop failed, for the sweeper. A crash (a [`Failpoints`]
//! stop, in tests) leaves a pending lease that the sweeper revokes after
//! [`crate::lease::PENDING_GRACE_SECS`]: no database user outlives its lease.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use super::Mount;
use super::config::{self, ConnectionConfig, db_call_error, with_root};
use super::failpoints::{Failpoints, Step, crashed};
use super::port::DatabaseApi;
use super::revoke::{
    DATA_DB_NAME, DATA_MOUNT_PREFIX, DATA_ROLE, DATA_USERNAME, KIND_DB_USER,
    VALID_UNTIL_BUFFER_SECS, drop_user,
};
use super::roles::DbRole;
use super::statements::{self, Kind, Values};
use super::username;
use crate::error::ApiError;
use crate::keyring::Keyring;
use crate::lease::{self, Lease, LeaseState};
use crate::store::Store;
use crate::token::TokenEntry;

/// Issued credentials. `Debug` never prints the password.
pub struct Issued {
    /// The active lease.
    pub lease: Lease,
    /// The database user.
    pub username: String,
    /// Its password.
    pub password: SecretString,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("lease", &self.lease.id)
            .field("username", &self.username)
            .field("password", &"redacted")
            .finish()
    }
}

/// What an issue needs besides the role: the ports and the lease's limits.
pub struct IssueCtx<'a> {
    /// Storage.
    pub store: &'a dyn Store,
    /// Keyring (opens the root password).
    pub keyring: &'a Keyring,
    /// The database.
    pub db: &'a dyn DatabaseApi,
    /// Crash injection.
    pub failpoints: &'a dyn Failpoints,
    /// The mount.
    pub mount: Mount<'a>,
    /// The mount's default lease TTL, seconds.
    pub default_ttl: i64,
    /// The mount's max lease TTL, seconds.
    pub max_ttl: i64,
    /// Now, Unix seconds.
    pub now: i64,
}

/// Issues a user of role `role_name` to `caller`.
pub async fn issue(
    x: &IssueCtx<'_>,
    role_name: &str,
    role: &DbRole,
    cfg: &ConnectionConfig,
    caller: &TokenEntry,
) -> Result<Issued, ApiError> {
    if role.creation_statements.is_empty() {
        return Err(ApiError::bad("empty creation statements"));
    }
    let now = x.now;
    let max = match role.max_ttl {
        0 => x.max_ttl,
        m => m.min(x.max_ttl),
    };
    let ttl = match role.default_ttl {
        0 => x.default_ttl,
        d => d,
    }
    .min(max);
    let template = if cfg.username_template.is_empty() {
        username::DEFAULT_TEMPLATE
    } else {
        &cfg.username_template
    };
    let user = username::generate(
        template,
        &username::Input {
            display_name: &caller.display_name,
            role_name,
            now,
        },
    )?;
    let password = SecretString::from(username::random_alnum(24).map_err(|_| ApiError::Internal)?);
    let cap = crate::token::lease_cap(caller);
    let mut lease = Lease {
        id: lease::new_id(&x.mount.lease_path(role_name))?,
        path: x.mount.lease_path(role_name),
        kind: KIND_DB_USER.into(),
        state: LeaseState::Pending,
        issued_at: now,
        expire_at: (now + ttl).min(cap),
        max_expire_at: (now + max).min(cap),
        renewable: true,
        token_hash: crate::token::lease_owner(caller),
        data: BTreeMap::from([
            (DATA_USERNAME.to_owned(), user.clone()),
            (DATA_DB_NAME.to_owned(), role.db_name.clone()),
            (DATA_ROLE.to_owned(), role_name.to_owned()),
            (DATA_MOUNT_PREFIX.to_owned(), x.mount.prefix.to_owned()),
        ]),
        attempts: 0,
        last_error: None,
    };
    let stmt_password = cfg.statement_password(password.expose_secret())?;
    let expiration = statements::expiration(lease.expire_at + VALID_UNTIL_BUFFER_SECS);
    let queries = statements::render(
        Kind::Creation,
        &role.creation_statements,
        &Values {
            username: &user,
            password: stmt_password.expose_secret(),
            expiration: &expiration,
        },
    )?;
    x.store
        .transact(lease.pending_writes())
        .await
        .map_err(|e| {
            if e.is_condition() {
                crate::token::lease_refused(caller)
            } else {
                e.into()
            }
        })?;
    if x.failpoints.crash_after(Step::LeaseWritten) {
        return Err(crashed());
    }
    let created = with_root(x.store, x.keyring, x.mount, &role.db_name, cfg, |conn| {
        let queries = &queries;
        let user = &user;
        async move { x.db.new_user(&conn, user, queries).await }
    })
    .await;
    if let Err(e) = created {
        let nothing = e.changed_nothing();
        let err = db_call_error(e, "failed to execute query");
        if nothing {
            // The creation statements rolled back (or never ran): no user of this
            // lease exists, and one of that name may be someone else's (a name a
            // template made twice, a user created outside Sigil). Never drop it.
            forget(x, &lease).await;
        } else {
            undo(x, &lease, role, cfg).await;
        }
        return Err(err);
    }
    if x.failpoints.crash_after(Step::UserCreated) {
        return Err(crashed());
    }
    if let Err(e) = lease::activate(x.store, &mut lease, now).await {
        tracing::warn!(error = %e, "lease activation failed; dropping the database user");
        undo(x, &lease, role, cfg).await;
        return Err(if e.is_condition() {
            crate::token::lease_refused(caller)
        } else {
            ApiError::Unavailable
        });
    }
    Ok(Issued {
        lease,
        username: user,
        password,
    })
}

/// Deletes the lease records of a failed issue whose user does not exist (never
/// created, or dropped by [`undo`]); if that fails, the sweeper revokes the pending
/// lease (dropping a user of that name, which for a never-created user may be
/// someone else's: docs/database.md).
async fn forget(x: &IssueCtx<'_>, lease: &Lease) {
    if let Err(e) = x.store.transact(lease.delete_writes()).await {
        tracing::error!(error = %e, "lease record of a failed issue left for the sweeper");
    }
}

/// Drops the user of a failed issue (whatever the error said, it may exist); once it is
/// gone the lease records go too, else the pending lease stays for the sweeper.
async fn undo(x: &IssueCtx<'_>, lease: &Lease, role: &DbRole, cfg: &ConnectionConfig) {
    let Some(user) = lease.data.get(DATA_USERNAME) else {
        return;
    };
    let dropped = drop_user(
        x.store,
        x.keyring,
        x.db,
        x.mount,
        &role.db_name,
        cfg,
        role,
        user,
    )
    .await;
    match dropped {
        Ok(()) => forget(x, lease).await,
        Err(e) => {
            tracing::error!(error = %e, "undo failed; the pending lease is left for the sweeper")
        }
    }
}

/// Reads what an issue needs and checks OpenBao's preconditions: the role exists (400
/// `unknown role: NAME`), its connection exists and allows it.
pub async fn load(
    store: &dyn Store,
    m: Mount<'_>,
    role_name: &str,
) -> Result<(DbRole, ConnectionConfig), ApiError> {
    let role = super::roles::read(store, m, role_name)
        .await?
        .ok_or_else(|| ApiError::bad(format!("unknown role: {role_name}")))?;
    let cfg = config::read(store, m, &role.db_name)
        .await?
        .ok_or_else(|| {
            ApiError::bad(format!(
                "failed to find entry for connection with name: {:?}",
                role.db_name
            ))
        })?;
    if !cfg.allows(role_name) {
        return Err(ApiError::bad(format!(
            "{role_name:?} is not an allowed role"
        )));
    }
    Ok((role, cfg))
}
