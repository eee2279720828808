//! Bootstrap operations behind `sigil admin`: initialize the keyring and the sweeper
//! cursor, and mint the first admin token.

use crate::error::ApiError;
use crate::keyring::{Keyring, KeyringError};
use crate::store::{Store, StoreError};
use crate::sweeper;
use crate::token::{self, Limits, Minted, ROOT_POLICY, TokenParams};

/// What `init` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitReport {
    /// The keyring's newest data key version.
    pub key_version: u32,
    /// Whether this run created that version (false: it existed).
    pub created_key: bool,
}

/// Creates the first data key unless one exists, the audit HMAC key unless it exists,
/// and the sweeper cursor. Idempotent.
pub async fn init(
    store: &dyn Store,
    keyring: &Keyring,
    kms_key_id: &str,
    now: i64,
) -> Result<InitReport, KeyringError> {
    sweeper::init_cursor(store, now)
        .await
        .map_err(KeyringError::Store)?;
    keyring.ensure_audit_key(kms_key_id, now).await?;
    if let Some(v) = keyring.newest_version().await? {
        return Ok(InitReport {
            key_version: v,
            created_key: false,
        });
    }
    match keyring.add_version(kms_key_id, now).await {
        Ok(v) => Ok(InitReport {
            key_version: v,
            created_key: true,
        }),
        // A concurrent init created it first.
        Err(KeyringError::Store(StoreError::ConditionFailed)) => Ok(InitReport {
            key_version: keyring.newest_version().await?.unwrap_or(1),
            created_key: false,
        }),
        Err(e) => Err(e),
    }
}

/// Mints an admin token (the `root` policy) with `ttl` seconds, stores only its hash,
/// and returns it. The caller prints it once.
pub async fn admin_token(
    store: &dyn Store,
    limits: Limits,
    ttl: i64,
    now: i64,
) -> Result<Minted, ApiError> {
    let params = TokenParams {
        policies: vec![ROOT_POLICY.to_owned()],
        no_default_policy: true,
        ttl,
        max_ttl: limits.max_ttl,
        display_name: "bootstrap".into(),
        path: "sigil/admin/bootstrap-token".into(),
        ..TokenParams::default()
    };
    let minted = token::mint(&params, limits, now)?;
    store.transact(minted.writes()).await?;
    Ok(minted)
}
