//! Kubernetes roles (`auth/kubernetes/role/{name}`), Vault's fields:
//! `bound_service_account_names` and `bound_service_account_namespaces` (both required,
//! globs with `*`), `audience`, `alias_name_source`, and the `token_*` fields.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use crate::auth::check_list;
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::token_fields::TokenFields;

/// What names a login's entity alias (OpenBao's `alias_name_source`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AliasNameSource {
    /// `serviceaccount_uid` (the default): the service account's UID.
    #[default]
    #[serde(rename = "serviceaccount_uid")]
    ServiceAccountUid,
    /// `serviceaccount_name`: `namespace/name`.
    #[serde(rename = "serviceaccount_name")]
    ServiceAccountName,
}

impl AliasNameSource {
    /// Vault's name of the source.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServiceAccountUid => "serviceaccount_uid",
            Self::ServiceAccountName => "serviceaccount_name",
        }
    }
}

/// A Kubernetes role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesRole {
    /// Service-account names allowed (globs; `*` alone: any).
    pub bound_service_account_names: Vec<String>,
    /// Namespaces allowed (globs; `*` alone: any).
    pub bound_service_account_namespaces: Vec<String>,
    /// The audience the token must carry (empty: not checked, as in Vault).
    pub audience: String,
    /// What names the entity alias of a login.
    #[serde(default)]
    pub alias_name_source: AliasNameSource,
    /// What a login mints.
    #[serde(flatten)]
    pub token: TokenFields,
}

impl KubernetesRole {
    /// Applies a write's fields (Vault updates only what is given), then checks that
    /// both bindings are non-empty (Vault's rule). 400 on invalid values.
    pub fn apply(&mut self, body: &Body) -> Result<(), ApiError> {
        if let Some(v) = body.list("bound_service_account_names")? {
            check_list("bound_service_account_names", &v)?;
            self.bound_service_account_names = v;
        }
        if let Some(v) = body.list("bound_service_account_namespaces")? {
            check_list("bound_service_account_namespaces", &v)?;
            self.bound_service_account_namespaces = v;
        }
        if let Some(v) = body.string("audience")? {
            check_list("audience", std::slice::from_ref(&v))?;
            self.audience = v;
        }
        match body.string("alias_name_source")?.as_deref() {
            None | Some("") => {}
            Some("serviceaccount_uid") => {
                self.alias_name_source = AliasNameSource::ServiceAccountUid
            }
            Some("serviceaccount_name") => {
                self.alias_name_source = AliasNameSource::ServiceAccountName;
            }
            Some(_) => {
                return Err(ApiError::bad(
                    "invalid alias_name_source, must be one of: serviceaccount_uid, serviceaccount_name",
                ));
            }
        }
        self.token.apply(body)?;
        if self.bound_service_account_names.is_empty() {
            return Err(ApiError::bad(
                "\"bound_service_account_names\" can not be empty",
            ));
        }
        if self.bound_service_account_namespaces.is_empty() {
            return Err(ApiError::bad(
                "\"bound_service_account_namespaces\" can not be empty",
            ));
        }
        Ok(())
    }

    /// The role as Vault's read returns it.
    pub fn to_json(&self) -> Json {
        let mut out: Map<String, Json> = match json!({
            "bound_service_account_names": self.bound_service_account_names,
            "bound_service_account_namespaces": self.bound_service_account_namespaces,
            "audience": self.audience,
            "alias_name_source": self.alias_name_source.as_str(),
        }) {
            Json::Object(m) => m,
            _ => Map::new(),
        };
        self.token.write_json(&mut out);
        Json::Object(out)
    }
}

impl crate::auth::MountRole for KubernetesRole {
    const WHAT: &'static str = "kubernetes role";
    fn apply(&mut self, body: &Body) -> Result<(), ApiError> {
        KubernetesRole::apply(self, body)
    }
    fn to_json(&self) -> Json {
        KubernetesRole::to_json(self)
    }
}
