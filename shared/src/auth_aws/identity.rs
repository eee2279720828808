//! `auth/aws/config/identity`: how an AWS login names its entity alias and which of
//! the login's fields become alias metadata (Vault's aws auth "Configure Identity
//! Integration" API, `builtin/credential/aws/path_config_identity.go`, and its
//! `authmetadata` fields).
//!
//! - `iam_alias`: `role_id` (the default: the Sigil role's `role_id`), `unique_id`
//!   (the caller's unique ID from STS, `AIDA...`/`AROA...`, without a session part),
//!   `full_arn` (the caller's ARN as STS gives it, an assumed-role session's included)
//!   or `canonical_arn` (`arn:aws:iam::<account>:role/<name>` or `.../user/<name>`).
//! - `iam_metadata`: the alias metadata fields, `default` (`account_id`, `auth_type`)
//!   or a list of `account_id`, `auth_type`, `canonical_arn`, `client_arn`,
//!   `client_user_id`, `inferred_aws_region`, `inferred_entity_id`,
//!   `inferred_entity_type`, `inferred_hostname`; an empty value is left out, as Vault.
//! - `ec2_alias` (`role_id`, `instance_id`, `image_id`) and `ec2_metadata`: checked and
//!   kept as Vault does, with no effect: Sigil has no `ec2` login.
//!
//! Stored beside the client configuration (`{prefix}/config` / `identity`), so a login
//! reads it in the batch read it already makes.

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::Mount;
use super::stored::{self, Stored};
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::store::{Key, Store};

/// `iam_alias` values (Vault's order).
pub const IAM_ALIASES: &[&str] = &["role_id", "unique_id", "full_arn", "canonical_arn"];
/// `ec2_alias` values (Vault's order).
pub const EC2_ALIASES: &[&str] = &["role_id", "instance_id", "image_id"];
/// `iam_metadata`'s default fields.
pub const IAM_DEFAULT: &[&str] = &["account_id", "auth_type"];
/// `iam_metadata`'s fields: the default ones, then those that may be added.
pub const IAM_FIELDS: &[&str] = &[
    "account_id",
    "auth_type",
    "canonical_arn",
    "client_arn",
    "client_user_id",
    "inferred_aws_region",
    "inferred_entity_id",
    "inferred_entity_type",
    "inferred_hostname",
];
/// `ec2_metadata`'s default fields.
pub const EC2_DEFAULT: &[&str] = &["account_id", "auth_type"];
/// `ec2_metadata`'s fields.
pub const EC2_FIELDS: &[&str] = &["account_id", "auth_type", "ami_id", "instance_id", "region"];

/// The configuration's name in the error for a malformed item.
pub(crate) const WHAT: &str = "aws auth identity config";

/// The stored key of the identity configuration.
pub(crate) fn key(m: Mount<'_>) -> Key {
    Key::new(m.config_partition(), "identity")
}

/// The identity configuration (Vault's names). `None` metadata: the default fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentityConfig {
    /// How IAM logins name their alias ([`IAM_ALIASES`]).
    pub iam_alias: String,
    /// The IAM alias metadata fields chosen (`None`: [`IAM_DEFAULT`]).
    pub iam_metadata: Option<Vec<String>>,
    /// Kept for Vault's clients; Sigil has no EC2 login ([`EC2_ALIASES`]).
    pub ec2_alias: String,
    /// Kept for Vault's clients (`None`: [`EC2_DEFAULT`]).
    pub ec2_metadata: Option<Vec<String>>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            iam_alias: "role_id".into(),
            iam_metadata: None,
            ec2_alias: "role_id".into(),
            ec2_metadata: None,
        }
    }
}

/// Checks an alias choice against `allowed`, with Vault's text.
fn alias_choice(body: &Body, field: &str, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    let Some(v) = body.string(field)? else {
        return Ok(None);
    };
    if allowed.contains(&v.as_str()) {
        return Ok(Some(v));
    }
    let list = allowed.join(" ");
    Err(ApiError::bad(format!(
        "{field} of {v:?} not in set of allowed values: [{list}]"
    )))
}

/// Parses a metadata field choice as Vault's `authmetadata` does: absent, unchanged;
/// `default` alone, the defaults (`Some(None)`); else a subset of `fields`,
/// deduplicated and lowercased.
fn metadata_choice(
    body: &Body,
    field: &str,
    fields: &[&str],
) -> Result<Option<Option<Vec<String>>>, ApiError> {
    let Some(list) = body.list(field)? else {
        return Ok(None);
    };
    let mut chosen: Vec<String> = Vec::with_capacity(list.len());
    for f in list {
        let f = f.trim().to_lowercase();
        if !f.is_empty() && !chosen.contains(&f) {
            chosen.push(f);
        }
    }
    if chosen == ["default"] {
        return Ok(Some(None));
    }
    if chosen.iter().any(|f| f == "default") {
        let quoted: Vec<String> = chosen.iter().map(|f| format!("{f:?}")).collect();
        return Err(ApiError::bad(format!(
            "[{}] contains default - default can't be used in combination with other fields",
            quoted.join(" ")
        )));
    }
    if chosen.iter().any(|f| !fields.contains(&f.as_str())) {
        return Err(ApiError::bad(format!(
            "{:?} contains an unavailable field, please select from {:?}",
            chosen.join(", "),
            fields.join(", ")
        )));
    }
    Ok(Some(Some(chosen)))
}

impl IdentityConfig {
    /// Applies the parameters present in `body` (Vault updates what is given); 400
    /// with Vault's texts for values outside the allowed sets, changing nothing.
    pub fn apply(&mut self, body: &Body) -> Result<(), ApiError> {
        let iam_alias = alias_choice(body, "iam_alias", IAM_ALIASES)?;
        let ec2_alias = alias_choice(body, "ec2_alias", EC2_ALIASES)?;
        let iam_metadata = metadata_choice(body, "iam_metadata", IAM_FIELDS)?;
        let ec2_metadata = metadata_choice(body, "ec2_metadata", EC2_FIELDS)?;
        if let Some(v) = iam_alias {
            self.iam_alias = v;
        }
        if let Some(v) = ec2_alias {
            self.ec2_alias = v;
        }
        if let Some(v) = iam_metadata {
            self.iam_metadata = v;
        }
        if let Some(v) = ec2_metadata {
            self.ec2_metadata = v;
        }
        Ok(())
    }

    /// The IAM alias metadata fields in effect.
    pub fn iam_fields(&self) -> Vec<&str> {
        match &self.iam_metadata {
            Some(v) => v.iter().map(String::as_str).collect(),
            None => IAM_DEFAULT.to_vec(),
        }
    }

    /// The configuration as Vault reads it.
    pub fn to_json(&self) -> Json {
        let or_default = |v: &Option<Vec<String>>, d: &[&str]| match v {
            Some(v) => json!(v),
            None => json!(d),
        };
        json!({
            "iam_alias": self.iam_alias,
            "iam_metadata": or_default(&self.iam_metadata, IAM_DEFAULT),
            "ec2_alias": self.ec2_alias,
            "ec2_metadata": or_default(&self.ec2_metadata, EC2_DEFAULT),
        })
    }
}

/// Reads the configuration (the defaults when never written: Vault reads them too).
pub async fn read(
    store: &dyn Store,
    m: Mount<'_>,
) -> Result<Option<Stored<IdentityConfig>>, ApiError> {
    match store.get(&key(m)).await? {
        Some(item) => Ok(Some(stored::decode(&item, WHAT)?)),
        None => Ok(None),
    }
}

/// Updates the configuration from `body`: one conditional write (a concurrent update
/// makes it 400, to be retried).
pub async fn write(store: &dyn Store, m: Mount<'_>, body: &Body) -> Result<(), ApiError> {
    stored::update(store, &key(m), WHAT, |cfg: &mut IdentityConfig| {
        cfg.apply(body)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Json) -> Body {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn choices_follow_vault_and_refusals_change_nothing() {
        let mut c = IdentityConfig::default();
        assert_eq!(
            c.to_json(),
            json!({"iam_alias": "role_id", "iam_metadata": ["account_id", "auth_type"],
                   "ec2_alias": "role_id", "ec2_metadata": ["account_id", "auth_type"]})
        );
        c.apply(&body(json!({"iam_alias": "full_arn", "iam_metadata": "canonical_arn,Client_ARN,canonical_arn"})))
            .unwrap();
        assert_eq!(c.iam_alias, "full_arn");
        assert_eq!(c.iam_fields(), ["canonical_arn", "client_arn"]);
        let before = c.clone();
        for (b, want) in [
            (
                json!({"iam_alias": "arn", "iam_metadata": "default"}),
                "iam_alias of \"arn\" not in set of allowed values: [role_id unique_id full_arn canonical_arn]",
            ),
            (
                json!({"ec2_alias": "instance-id"}),
                "ec2_alias of \"instance-id\" not in set of allowed values: [role_id instance_id image_id]",
            ),
            (
                json!({"iam_metadata": ["account_id", "nope"]}),
                "\"account_id, nope\" contains an unavailable field, please select from \"account_id, auth_type, canonical_arn, client_arn, client_user_id, inferred_aws_region, inferred_entity_id, inferred_entity_type, inferred_hostname\"",
            ),
            (
                json!({"iam_alias": "unique_id", "iam_metadata": ["default", "client_arn"]}),
                "[\"default\" \"client_arn\"] contains default - default can't be used in combination with other fields",
            ),
            (
                json!({"ec2_metadata": "ami_id,bogus"}),
                "contains an unavailable field",
            ),
        ] {
            let e = c.apply(&body(b.clone())).unwrap_err();
            assert_eq!(e.status(), 400);
            assert!(e.to_string().contains(want), "{b}: {e}");
            assert_eq!(c, before, "{b}");
        }
        c.apply(&body(
            json!({"iam_metadata": "default", "ec2_alias": "image_id"}),
        ))
        .unwrap();
        assert_eq!(c.iam_metadata, None);
        assert_eq!(c.to_json()["ec2_alias"], json!("image_id"));
    }
}
