//! Kubernetes roles (`auth/kubernetes/role/{name}`), Vault's fields:
//! `bound_service_account_names` and `bound_service_account_namespaces` (both required,
//! globs with `*`), `audience`, and the `token_*` fields.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

use crate::auth::check_list;
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::token_fields::TokenFields;

/// A Kubernetes role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesRole {
    /// Service-account names allowed (globs; `*` alone: any).
    pub bound_service_account_names: Vec<String>,
    /// Namespaces allowed (globs; `*` alone: any).
    pub bound_service_account_namespaces: Vec<String>,
    /// The audience the token must carry (empty: not checked, as in Vault).
    pub audience: String,
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
            "alias_name_source": "serviceaccount_uid",
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
