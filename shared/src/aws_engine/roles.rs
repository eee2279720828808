//! AWS engine roles (`aws/roles/:name`) and lease settings (`aws/config/lease`), with
//! Vault's parameter names.

use std::collections::BTreeMap;

/// STS's shortest session, seconds.
pub const STS_MIN_TTL: i64 = 900;
/// STS's longest session for `AssumeRole`, seconds (12 hours).
pub const STS_MAX_TTL: i64 = 43_200;
/// Default session, seconds (1 hour).
pub const STS_DEFAULT_TTL: i64 = 3600;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::Mount;
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::store::{ItemExt, Key, Query, Store, Write, new_item, query_sort_keys};

/// What a role issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialType {
    /// A new IAM user with an access key (`aws/creds`).
    IamUser,
    /// STS `AssumeRole` credentials (`aws/sts`, `aws/creds`).
    AssumedRole,
}

/// An AWS engine role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsRole {
    /// What it issues.
    pub credential_type: CredentialType,
    /// Managed policies attached to the user.
    pub policy_arns: Vec<String>,
    /// An inline policy (JSON text) for the user or the STS session.
    pub policy_document: String,
    /// Groups the user joins.
    pub iam_groups: Vec<String>,
    /// Tags on the user.
    pub iam_tags: BTreeMap<String, String>,
    /// Permissions boundary of the user.
    pub permissions_boundary_arn: String,
    /// IAM path of the user (default `/`).
    pub user_path: String,
    /// Roles an `assumed_role` role may assume.
    pub role_arns: Vec<String>,
    /// STS TTL when none is asked, seconds (0: 1 hour).
    pub default_sts_ttl: i64,
    /// Longest STS TTL, seconds (0: 12 hours, STS's limit).
    pub max_sts_ttl: i64,
}

/// The engine's lease settings: `lease` (TTL) and `lease_max`, seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    /// Default lease TTL (Vault's default for the mount: the system default).
    pub lease: i64,
    /// Max lease TTL.
    pub lease_max: i64,
}

fn role_key(m: Mount<'_>, name: &str) -> Key {
    Key::new(m.roles_partition(), name)
}

fn lease_config_key(m: Mount<'_>) -> Key {
    Key::new(m.config_partition(), "lease")
}

fn check_arn(arn: &str, field: &str) -> Result<(), ApiError> {
    if !arn.starts_with("arn:") || arn.len() > 2048 || arn.chars().any(char::is_whitespace) {
        return Err(ApiError::bad(format!("invalid ARN in \"{field}\"")));
    }
    Ok(())
}

impl AwsRole {
    /// A role from a write's body (Vault's parameters; `credential_type` required).
    pub fn from_body(body: &Body, old: Option<&AwsRole>) -> Result<AwsRole, ApiError> {
        let credential_type = match body.string("credential_type")?.as_deref() {
            Some("iam_user") => CredentialType::IamUser,
            Some("assumed_role") => CredentialType::AssumedRole,
            Some(_) => {
                return Err(ApiError::bad(
                    "credential_type must be \"iam_user\" or \"assumed_role\" (federation_token and session_token are not supported)",
                ));
            }
            None => match old {
                Some(o) => o.credential_type,
                None => return Err(ApiError::bad("missing credential_type")),
            },
        };
        let list = |name: &str, old: Option<&Vec<String>>| -> Result<Vec<String>, ApiError> {
            let v = body
                .list(name)?
                .or_else(|| old.cloned())
                .unwrap_or_default();
            if v.len() > 20 {
                return Err(ApiError::bad(format!("at most 20 entries in \"{name}\"")));
            }
            Ok(v)
        };
        let role = AwsRole {
            credential_type,
            policy_arns: list("policy_arns", old.map(|o| &o.policy_arns))?,
            policy_document: body
                .string("policy_document")?
                .or_else(|| old.map(|o| o.policy_document.clone()))
                .unwrap_or_default(),
            iam_groups: list("iam_groups", old.map(|o| &o.iam_groups))?,
            iam_tags: body
                .string_map("iam_tags")?
                .or_else(|| old.map(|o| o.iam_tags.clone()))
                .unwrap_or_default(),
            permissions_boundary_arn: body
                .string("permissions_boundary_arn")?
                .or_else(|| old.map(|o| o.permissions_boundary_arn.clone()))
                .unwrap_or_default(),
            user_path: body
                .string("user_path")?
                .or_else(|| old.map(|o| o.user_path.clone()))
                .unwrap_or_else(|| "/".into()),
            role_arns: list("role_arns", old.map(|o| &o.role_arns))?,
            default_sts_ttl: body
                .duration("default_sts_ttl")?
                .or(old.map(|o| o.default_sts_ttl))
                .unwrap_or(0),
            max_sts_ttl: body
                .duration("max_sts_ttl")?
                .or(old.map(|o| o.max_sts_ttl))
                .unwrap_or(0),
        };
        for a in role.policy_arns.iter().chain(&role.role_arns) {
            check_arn(a, "policy_arns/role_arns")?;
        }
        if !role.permissions_boundary_arn.is_empty() {
            check_arn(&role.permissions_boundary_arn, "permissions_boundary_arn")?;
        }
        if !role.policy_document.is_empty() {
            if role.policy_document.len() > 10_240 {
                return Err(ApiError::bad("\"policy_document\" is larger than 10 KiB"));
            }
            serde_json::from_str::<Json>(&role.policy_document)
                .map_err(|_| ApiError::bad("\"policy_document\" is not valid JSON"))?;
        }
        let path_ok = role.user_path.starts_with('/')
            && role.user_path.ends_with('/')
            && role.user_path.len() <= 512
            && role.user_path.chars().all(|c| c.is_ascii_graphic());
        if !path_ok {
            return Err(ApiError::bad(
                "\"user_path\" must start and end with '/' (IAM paths)",
            ));
        }
        if role.iam_tags.len() > 40 {
            return Err(ApiError::bad("at most 40 \"iam_tags\""));
        }
        match role.credential_type {
            CredentialType::IamUser
                if role.policy_arns.is_empty()
                    && role.policy_document.is_empty()
                    && role.iam_groups.is_empty() =>
            {
                Err(ApiError::bad(
                    "an iam_user role needs policy_arns, policy_document or iam_groups",
                ))
            }
            CredentialType::AssumedRole if role.role_arns.is_empty() => {
                Err(ApiError::bad("an assumed_role role needs role_arns"))
            }
            _ if role.max_sts_ttl > 0 && role.default_sts_ttl > role.max_sts_ttl => Err(
                ApiError::bad("\"default_sts_ttl\" cannot exceed \"max_sts_ttl\""),
            ),
            // Without max_sts_ttl, STS's own 12 h limit caps every session.
            _ if role.default_sts_ttl > STS_MAX_TTL || role.max_sts_ttl > STS_MAX_TTL => {
                Err(ApiError::bad(
                    "\"default_sts_ttl\" and \"max_sts_ttl\" cannot exceed 12h (STS's limit)",
                ))
            }
            _ => Ok(role),
        }
    }

    /// The role as Vault's read returns it.
    pub fn to_json(&self) -> Json {
        json!({
            "credential_type": match self.credential_type { CredentialType::IamUser => "iam_user", CredentialType::AssumedRole => "assumed_role" },
            "policy_arns": self.policy_arns,
            "policy_document": self.policy_document,
            "iam_groups": self.iam_groups,
            "iam_tags": self.iam_tags,
            "permissions_boundary_arn": self.permissions_boundary_arn,
            "user_path": self.user_path,
            "role_arns": self.role_arns,
            "default_sts_ttl": self.default_sts_ttl,
            "max_sts_ttl": self.max_sts_ttl,
        })
    }
}

/// Checks a role name (Vault's AppRole rule, reused).
pub fn valid_name(name: &str) -> bool {
    crate::approle::valid_name(name)
}

/// Reads a role.
pub async fn read(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
) -> Result<Option<AwsRole>, ApiError> {
    Ok(crate::store::get_doc(store, &role_key(m, name), "role", "aws role").await?)
}

/// Writes a role (create or update, merging given fields into the existing ones).
pub async fn write(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    body: &Body,
) -> Result<(), ApiError> {
    if !valid_name(name) {
        return Err(ApiError::bad("invalid role name"));
    }
    let old = read(store, m, name).await?;
    let role = AwsRole::from_body(body, old.as_ref())?;
    Ok(crate::store::put_doc(store, &role_key(m, name), "role", &role).await?)
}

/// Deletes a role (idempotent). Leases it issued stay until they expire or are revoked.
pub async fn delete(store: &dyn Store, m: Mount<'_>, name: &str) -> Result<(), ApiError> {
    Ok(crate::store::delete_key(store, role_key(m, name)).await?)
}

/// Role names.
pub async fn list(store: &dyn Store, m: Mount<'_>) -> Result<Vec<String>, ApiError> {
    Ok(query_sort_keys(store, Query::partition(m.roles_partition())).await?)
}

/// The lease settings (defaults: `default_ttl` and `max_ttl` of the system).
pub async fn lease_config(
    store: &dyn Store,
    m: Mount<'_>,
    default_ttl: i64,
    max_ttl: i64,
) -> Result<LeaseConfig, ApiError> {
    Ok(match store.get(&lease_config_key(m)).await? {
        Some(i) => LeaseConfig {
            lease: i.n("lease")?,
            lease_max: i.n("lease_max")?,
        },
        None => LeaseConfig {
            lease: default_ttl,
            lease_max: max_ttl,
        },
    })
}

/// Writes the lease settings (`lease`, `lease_max`; lease may not exceed lease_max).
pub async fn write_lease_config(
    store: &dyn Store,
    m: Mount<'_>,
    body: &Body,
    max_ttl: i64,
) -> Result<(), ApiError> {
    let lease = body
        .duration("lease")?
        .ok_or_else(|| ApiError::bad("missing lease"))?;
    let lease_max = body
        .duration("lease_max")?
        .ok_or_else(|| ApiError::bad("missing lease_max"))?;
    if lease == 0 || lease_max == 0 || lease > lease_max {
        return Err(ApiError::bad(
            "\"lease\" must be positive and at most \"lease_max\"",
        ));
    }
    let mut item = new_item(&lease_config_key(m));
    item.insert("lease".into(), lease.min(max_ttl).into());
    item.insert("lease_max".into(), lease_max.min(max_ttl).into());
    store.write(Write::Put { item, cond: None }).await?;
    Ok(())
}
