//! STS credentials for `assumed_role` roles: the STS port (with an AWS adapter and a
//! fake), and the issue of a non-renewable lease whose duration is the credentials'
//! real lifetime. Revoking such a lease only removes the record: STS credentials cannot
//! be withdrawn, they expire (VAULT-NOTES.md, "AWS secrets engine").

use std::collections::BTreeMap;

use async_trait::async_trait;
use secrecy::SecretString;

use super::iam::IamError;
use super::roles::AwsRole;
use crate::error::ApiError;
use crate::lease::{self, Lease, LeaseState, RevokeError, Revoker};
use crate::store::Store;
use crate::token::TokenEntry;

/// Lease kind of STS credentials.
pub const KIND_STS: &str = "aws.sts";
pub use super::roles::{STS_DEFAULT_TTL, STS_MAX_TTL, STS_MIN_TTL};

/// Temporary credentials. `Debug` prints only the key ID.
pub struct StsCredentials {
    /// Access key ID.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: SecretString,
    /// Session token.
    pub session_token: SecretString,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for StsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsCredentials")
            .field("access_key", &self.access_key)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The STS calls of the AWS engine.
#[async_trait]
pub trait StsApi: Send + Sync {
    /// `AssumeRole` for `duration` seconds with an optional session policy.
    async fn assume_role(
        &self,
        role_arn: &str,
        session_name: &str,
        duration: i64,
        policy: Option<&str>,
    ) -> Result<StsCredentials, IamError>;
}

/// A fake STS: credentials that expire after the asked duration from `now`.
#[derive(Debug, Default)]
pub struct FakeSts {
    now: std::sync::atomic::AtomicI64,
}

impl FakeSts {
    /// A fake whose clock reads `now`.
    pub fn new(now: i64) -> Self {
        Self {
            now: std::sync::atomic::AtomicI64::new(now),
        }
    }
}

#[async_trait]
impl StsApi for FakeSts {
    async fn assume_role(
        &self,
        _arn: &str,
        _session: &str,
        duration: i64,
        _policy: Option<&str>,
    ) -> Result<StsCredentials, IamError> {
        Ok(StsCredentials {
            access_key: "ASIAFAKE".into(),
            secret_key: SecretString::from("fake-secret".to_owned()),
            session_token: SecretString::from("fake-session".to_owned()),
            expires_at: self.now.load(std::sync::atomic::Ordering::SeqCst) + duration,
        })
    }
}

/// Revocation of STS leases: nothing to undo outside Sigil.
#[derive(Clone, Copy, Debug, Default)]
pub struct StsRevoker;

#[async_trait]
impl Revoker for StsRevoker {
    async fn revoke(&self, _lease: &Lease) -> Result<(), RevokeError> {
        Ok(())
    }
}

/// The session TTL by Vault's rules: `ttl` if given, else the role's `default_sts_ttl`
/// (else 1 hour), at most the role's `max_sts_ttl` (else STS's 12 hours), at least
/// STS's 15 minutes. 400 when `ttl` is out of range.
pub fn session_ttl(role: &AwsRole, ttl: Option<i64>) -> Result<i64, ApiError> {
    let max = if role.max_sts_ttl > 0 {
        role.max_sts_ttl.min(STS_MAX_TTL)
    } else {
        STS_MAX_TTL
    };
    let wanted = ttl
        .filter(|t| *t > 0)
        .unwrap_or(if role.default_sts_ttl > 0 {
            role.default_sts_ttl
        } else {
            STS_DEFAULT_TTL
        });
    if wanted > max {
        return Err(ApiError::bad(format!(
            "ttl exceeds the role's max_sts_ttl of {max} seconds"
        )));
    }
    if wanted < STS_MIN_TTL {
        return Err(ApiError::bad(format!(
            "ttl must be at least {STS_MIN_TTL} seconds (STS's minimum)"
        )));
    }
    Ok(wanted)
}

/// Picks the role ARN: the one asked for (which the role must list), or the role's only one.
pub fn pick_role_arn(role: &AwsRole, asked: Option<&str>) -> Result<String, ApiError> {
    match asked {
        Some(a) if role.role_arns.iter().any(|r| r == a) => Ok(a.to_owned()),
        Some(_) => Err(ApiError::bad("role_arn is not one of the role's role_arns")),
        None if role.role_arns.len() == 1 => Ok(role.role_arns[0].clone()),
        None => Err(ApiError::bad(
            "the role has several role_arns: give role_arn",
        )),
    }
}

/// Assumes the role and records a non-renewable lease whose duration is the
/// credentials' lifetime. Returns the lease and the credentials.
#[allow(clippy::too_many_arguments)]
pub async fn issue_sts(
    store: &dyn Store,
    m: super::Mount<'_>,
    sts: &dyn StsApi,
    role_name: &str,
    role: &AwsRole,
    role_arn: &str,
    ttl: i64,
    caller: &TokenEntry,
    now: i64,
) -> Result<(Lease, StsCredentials), ApiError> {
    // The token's last use: its lease could not be filed, so no session is made.
    if caller.num_uses == crate::token::REVOCATION_PENDING {
        return Err(crate::token::lease_refused(caller));
    }
    // A batch token's session ends with it (STS's minimum allowing).
    let ttl = ttl.min((crate::token::lease_cap(caller) - now).max(STS_MIN_TTL));
    let session =
        super::names::user_name(&caller.display_name, role_name).map_err(|_| ApiError::Internal)?;
    let policy = (!role.policy_document.is_empty()).then_some(role.policy_document.as_str());
    let creds = sts
        .assume_role(role_arn, &session, ttl, policy)
        .await
        .map_err(|e| match e {
            IamError::Retryable(_) => ApiError::Unavailable,
            IamError::NoSuchEntity => ApiError::bad("AWS refused AssumeRole: NoSuchEntity"),
            IamError::Failed(code) => ApiError::bad(format!("AWS refused AssumeRole: {code}")),
        })?;
    let expires = creds.expires_at.max(now);
    let mut lease = Lease {
        id: lease::new_id(&m.lease_path("sts", role_name))?,
        path: m.lease_path("sts", role_name),
        kind: KIND_STS.into(),
        state: LeaseState::Pending,
        issued_at: now,
        expire_at: expires,
        max_expire_at: expires,
        renewable: false,
        token_hash: crate::token::lease_owner(caller),
        data: BTreeMap::from([("role_arn".to_owned(), role_arn.to_owned())]),
        attempts: 0,
        last_error: None,
    };
    store.transact(lease.pending_writes()).await.map_err(|e| {
        if e.is_condition() {
            crate::token::lease_refused(caller)
        } else {
            e.into()
        }
    })?;
    lease::activate(store, &mut lease, now).await?;
    Ok((lease, creds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws_engine::roles::CredentialType;

    fn role(default: i64, max: i64) -> AwsRole {
        AwsRole {
            credential_type: CredentialType::AssumedRole,
            policy_arns: vec![],
            policy_document: String::new(),
            iam_groups: vec![],
            iam_tags: Default::default(),
            permissions_boundary_arn: String::new(),
            user_path: "/".into(),
            role_arns: vec![
                "arn:aws:iam::123456789012:role/a".into(),
                "arn:aws:iam::123456789012:role/b".into(),
            ],
            default_sts_ttl: default,
            max_sts_ttl: max,
        }
    }

    #[test]
    fn ttl_bounds() {
        assert_eq!(session_ttl(&role(0, 0), None).unwrap(), 3600);
        assert_eq!(session_ttl(&role(1800, 0), None).unwrap(), 1800);
        assert_eq!(session_ttl(&role(1800, 7200), Some(7200)).unwrap(), 7200);
        assert!(session_ttl(&role(1800, 7200), Some(7201)).is_err());
        assert!(session_ttl(&role(0, 0), Some(60)).is_err());
        assert!(session_ttl(&role(0, 0), Some(50_000)).is_err());
    }

    #[test]
    fn role_arn_choice() {
        let r = role(0, 0);
        assert!(pick_role_arn(&r, None).is_err());
        assert!(pick_role_arn(&r, Some("arn:aws:iam::123456789012:role/c")).is_err());
        assert_eq!(
            pick_role_arn(&r, Some("arn:aws:iam::123456789012:role/b")).unwrap(),
            "arn:aws:iam::123456789012:role/b"
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let c = StsCredentials {
            access_key: "ASIA1".into(),
            secret_key: SecretString::from("SECRETKEY".to_owned()),
            session_token: SecretString::from("SESSIONTOKEN".to_owned()),
            expires_at: 1,
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("SECRETKEY") && !shown.contains("SESSIONTOKEN"),
            "{shown}"
        );
    }
}
