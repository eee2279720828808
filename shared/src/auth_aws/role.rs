//! `auth/aws/role/:name`: who may log in through a role and what the login mints
//! (Vault's aws auth role API, `auth_type=iam`).
//!
//! Sigil supports the `iam` auth type bound by `bound_iam_principal_arn` only. It never
//! looks principals up in IAM, so `resolve_aws_unique_ids` is `false` (Vault's default
//! is `true`: a role deleted and re-created under the same name is the same principal
//! to Sigil). The `ec2` auth type, `inferred_entity_type` and the EC2 bindings are
//! refused with a clear message rather than ignored, since ignoring a binding would
//! widen who may log in.

use super::Mount;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use super::arn;
use super::stored::{self, Stored};
use crate::crypto;
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::store::{Key, Query, Store, Write, query_sort_keys};
use crate::token::TokenParams;
use crate::token_fields::{MAX_LIST_ITEMS, TokenFields};

/// The stored key of role `name`.
pub(crate) fn key(m: Mount<'_>, name: &str) -> Key {
    Key::new(m.roles_partition(), name)
}

/// Role parameters that only Vault's `ec2` auth type (or inference) uses.
const EC2_ONLY: &[&str] = &[
    "bound_ami_id",
    "bound_account_id",
    "bound_region",
    "bound_vpc_id",
    "bound_subnet_id",
    "bound_iam_role_arn",
    "bound_iam_instance_profile_arn",
    "bound_ec2_instance_id",
    "role_tag",
    "inferred_aws_region",
];

/// An aws auth role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsAuthRole {
    /// The role's ID (a random UUID, fixed at creation; Vault's `role_id`, copied to
    /// tokens' metadata).
    pub role_id: String,
    /// ARNs allowed to log in; `*` matches any run of characters. Assumed-role
    /// sessions are matched as their role (`arn:aws:iam::ACCT:role/NAME`).
    pub bound_iam_principal_arn: Vec<String>,
    /// What a login mints.
    #[serde(flatten)]
    pub token: TokenFields,
}

/// Checks a role name: Vault's role name rule (as AppRole's).
pub fn valid_name(name: &str) -> bool {
    crate::approle::valid_name(name)
}

impl AwsAuthRole {
    /// A new role from a write's body.
    pub fn create(body: &Body) -> Result<Self, ApiError> {
        let mut role = Self {
            role_id: crypto::random_uuid().map_err(|_| ApiError::Internal)?,
            bound_iam_principal_arn: Vec::new(),
            token: TokenFields::default(),
        };
        role.apply(body)?;
        Ok(role)
    }

    /// Applies the parameters present in `body` (Vault updates only what is given).
    /// 400 for an `auth_type` other than `iam`, `resolve_aws_unique_ids=true`,
    /// `inferred_entity_type`, EC2 bindings, invalid ARNs, invalid `token_*` values,
    /// and a role left without any `bound_iam_principal_arn`.
    pub fn apply(&mut self, body: &Body) -> Result<(), ApiError> {
        match body.string("auth_type")?.as_deref() {
            None | Some("iam") => {}
            Some("ec2") => {
                return Err(ApiError::bad(
                    "auth_type \"ec2\" is not supported by Sigil: use \"iam\"",
                ));
            }
            Some(_) => return Err(ApiError::bad("auth_type must be \"iam\"")),
        }
        if body.boolean("resolve_aws_unique_ids")? == Some(true) {
            return Err(ApiError::bad(
                "\"resolve_aws_unique_ids\" must be false: Sigil matches principals by ARN and makes no IAM lookups",
            ));
        }
        if body
            .string("inferred_entity_type")?
            .is_some_and(|v| !v.is_empty())
        {
            return Err(ApiError::bad(
                "\"inferred_entity_type\" is not supported by Sigil",
            ));
        }
        for field in EC2_ONLY {
            let set = match body.get(*field) {
                None | Some(Json::Null) => false,
                Some(Json::String(s)) => !s.trim().is_empty(),
                Some(Json::Array(a)) => !a.is_empty(),
                Some(_) => true,
            };
            if set {
                return Err(ApiError::bad(format!(
                    "\"{field}\" binds EC2 instances, which Sigil does not support: bind \"bound_iam_principal_arn\""
                )));
            }
        }
        for field in ["allow_instance_migration", "disallow_reauthentication"] {
            if body.boolean(field)? == Some(true) {
                return Err(ApiError::bad(format!(
                    "\"{field}\" applies to EC2 logins, which Sigil does not support"
                )));
            }
        }
        if let Some(list) = body.list("bound_iam_principal_arn")? {
            if list.len() > MAX_LIST_ITEMS {
                return Err(ApiError::bad(format!(
                    "at most {MAX_LIST_ITEMS} entries in \"bound_iam_principal_arn\""
                )));
            }
            for a in &list {
                arn::check_binding(a).map_err(ApiError::bad)?;
            }
            let mut list = list;
            list.dedup();
            self.bound_iam_principal_arn = list;
        }
        self.token.apply(body)?;
        if self.bound_iam_principal_arn.is_empty() {
            return Err(ApiError::bad(
                "at least one \"bound_iam_principal_arn\" is required",
            ));
        }
        Ok(())
    }

    /// The role as Vault's read returns it.
    pub fn to_json(&self) -> Json {
        let mut out = Map::new();
        for (k, v) in [
            ("auth_type", json!("iam")),
            (
                "bound_iam_principal_arn",
                json!(self.bound_iam_principal_arn),
            ),
            ("bound_iam_principal_id", json!([])),
            ("resolve_aws_unique_ids", json!(false)),
            ("inferred_entity_type", json!("")),
            ("inferred_aws_region", json!("")),
            ("allow_instance_migration", json!(false)),
            ("disallow_reauthentication", json!(false)),
            ("role_id", json!(self.role_id)),
        ] {
            out.insert(k.to_owned(), v);
        }
        for field in EC2_ONLY
            .iter()
            .filter(|f| !matches!(**f, "role_tag" | "inferred_aws_region"))
        {
            out.insert((*field).to_owned(), json!([]));
        }
        out.insert("role_tag".into(), json!(""));
        self.token.write_json(&mut out);
        Json::Object(out)
    }

    /// The parameters of a token minted through the role for a caller.
    pub fn token_params(
        &self,
        m: Mount<'_>,
        display_name: &str,
        meta: BTreeMap<String, String>,
    ) -> TokenParams {
        self.token
            .params(display_name, meta, &format!("auth/{}/login", m.name))
    }
}

/// Reads a role.
pub async fn read(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
) -> Result<Option<Stored<AwsAuthRole>>, ApiError> {
    if !valid_name(name) {
        return Ok(None);
    }
    match store.get(&key(m, name)).await? {
        Some(item) => Ok(Some(stored::decode(&item, "aws auth role")?)),
        None => Ok(None),
    }
}

/// Creates or updates a role from `body`. `existing` is the role as read for the
/// caller's existence check; the write is conditional on it being still current.
pub async fn write(
    store: &dyn Store,
    m: Mount<'_>,
    name: &str,
    existing: Option<Stored<AwsAuthRole>>,
    body: &Body,
) -> Result<(), ApiError> {
    if !valid_name(name) {
        return Err(ApiError::bad("invalid role name"));
    }
    let (role, rev) = match existing {
        Some(s) => {
            let mut r = s.doc;
            r.apply(body)?;
            (r, Some(s.rev))
        }
        None => (AwsAuthRole::create(body)?, None),
    };
    store
        .write(stored::put(&key(m, name), &role, rev)?)
        .await
        .map_err(stored::concurrent)
}

/// Deletes a role. Idempotent.
pub async fn delete(store: &dyn Store, m: Mount<'_>, name: &str) -> Result<(), ApiError> {
    if !valid_name(name) {
        return Ok(());
    }
    store
        .write(Write::Delete {
            key: key(m, name),
            cond: None,
        })
        .await?;
    Ok(())
}

/// Lists role names, sorted.
pub async fn list(store: &dyn Store, m: Mount<'_>) -> Result<Vec<String>, ApiError> {
    Ok(query_sort_keys(store, Query::partition(m.roles_partition())).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    fn body(v: Json) -> Body {
        serde_json::from_value(v).unwrap()
    }

    const ARN: &str = "arn:aws:iam::123456789012:role/deploy";

    #[test]
    fn unsupported_parameters_are_refused() {
        for (b, needle) in [
            (
                json!({"bound_iam_principal_arn": ARN, "auth_type": "ec2"}),
                "ec2",
            ),
            (
                json!({"bound_iam_principal_arn": ARN, "auth_type": "x"}),
                "auth_type",
            ),
            (
                json!({"bound_iam_principal_arn": ARN, "resolve_aws_unique_ids": true}),
                "resolve_aws_unique_ids",
            ),
            (
                json!({"bound_iam_principal_arn": ARN, "inferred_entity_type": "ec2_instance"}),
                "inferred_entity_type",
            ),
            (
                json!({"bound_iam_principal_arn": ARN, "bound_ami_id": "ami-1"}),
                "bound_ami_id",
            ),
            (
                json!({"bound_iam_principal_arn": ARN, "bound_account_id": ["123456789012"]}),
                "bound_account_id",
            ),
            (
                json!({"bound_iam_principal_arn": ARN, "disallow_reauthentication": true}),
                "disallow_reauthentication",
            ),
            (
                json!({"bound_iam_principal_arn": "arn:aws:iam::*:role/x"}),
                "account ID",
            ),
            (json!({}), "at least one"),
            (json!({"bound_iam_principal_arn": []}), "at least one"),
            (
                json!({"bound_iam_principal_arn": ARN, "token_policies": "root"}),
                "root",
            ),
        ] {
            let e = AwsAuthRole::create(&body(b)).unwrap_err();
            assert!(e.to_string().contains(needle), "{needle}: {e}");
        }
        let ok = AwsAuthRole::create(&body(json!({
            "bound_iam_principal_arn": ARN,
            "auth_type": "iam",
            "resolve_aws_unique_ids": false,
            "bound_ami_id": "",
            "bound_vpc_id": [],
            "inferred_entity_type": "",
        })))
        .unwrap();
        assert_eq!(ok.bound_iam_principal_arn, [ARN]);
    }

    #[tokio::test]
    async fn write_read_list_delete() {
        let store = MemoryStore::new();
        write(&store, crate::auth_aws::Mount::DEFAULT,
            "deploy",
            None,
            &body(json!({"bound_iam_principal_arn": [ARN], "token_policies": "App", "token_ttl": "10m"})),
        )
        .await
        .unwrap();
        let r = read(&store, crate::auth_aws::Mount::DEFAULT, "deploy")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.doc.token.token_policies, ["app"]);
        let id = r.doc.role_id.clone();
        write(
            &store,
            crate::auth_aws::Mount::DEFAULT,
            "deploy",
            Some(r.clone()),
            &body(json!({"token_ttl": "20m"})),
        )
        .await
        .unwrap();
        let r2 = read(&store, crate::auth_aws::Mount::DEFAULT, "deploy")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (r2.doc.token.token_ttl, r2.doc.role_id.as_str()),
            (1200, id.as_str())
        );
        assert_eq!(r2.doc.bound_iam_principal_arn, [ARN], "kept");
        // A write based on a stale read loses the race instead of overwriting.
        assert!(
            write(
                &store,
                crate::auth_aws::Mount::DEFAULT,
                "deploy",
                Some(r),
                &body(json!({"token_ttl": "1m"}))
            )
            .await
            .is_err()
        );
        // Removing the last binding is refused and changes nothing.
        assert!(
            write(
                &store,
                crate::auth_aws::Mount::DEFAULT,
                "deploy",
                Some(r2.clone()),
                &body(json!({"bound_iam_principal_arn": ""}))
            )
            .await
            .is_err()
        );
        assert_eq!(
            read(&store, crate::auth_aws::Mount::DEFAULT, "deploy")
                .await
                .unwrap()
                .unwrap(),
            r2
        );
        let shown = r2.doc.to_json();
        assert_eq!(shown["auth_type"], "iam");
        assert_eq!(shown["resolve_aws_unique_ids"], false);
        assert_eq!(shown["token_ttl"], 1200);
        assert_eq!(
            list(&store, crate::auth_aws::Mount::DEFAULT).await.unwrap(),
            ["deploy"]
        );
        delete(&store, crate::auth_aws::Mount::DEFAULT, "deploy")
            .await
            .unwrap();
        assert!(
            read(&store, crate::auth_aws::Mount::DEFAULT, "deploy")
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.dump().is_empty());
    }
}
