//! Policies as data: stored ACL policies (`sys/policies/acl/:name`) and each warm
//! function's cache of compiled ACLs.
//!
//! Items: partition `sys/policies`, sort key = policy name, attribute `text` (the policy
//! as written, HCL or JSON) and `updated_at`. The built-in `default` policy applies
//! until a stored `default` replaces it; `root` is reserved and grants everything.
//!
//! A function compiles the ACL of a token's policy set once and keeps it for
//! [`crate::config::Config::policy_cache_ttl`] seconds (default 30), so an updated or
//! deleted policy takes effect everywhere within that time (at once in the function
//! that wrote it). Refreshing a set is one `get_many` round trip.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::ApiError;
use crate::policy::{
    self, Acl, DEFAULT_POLICY, DEFAULT_POLICY_NAME, Policy, RESPONSE_WRAPPING_POLICY,
    RESPONSE_WRAPPING_POLICY_NAME, ROOT_POLICY_NAME,
};
use crate::store::{ItemExt, Key, Query, Store, Value, Write, new_item, query_sort_keys};

const PK: &str = "sys/policies";
const A_TEXT: &str = "text";
const A_UPDATED: &str = "updated_at";

fn key(name: &str) -> Key {
    Key::new(PK, name)
}

/// Checks a policy name: 1 to 128 characters of letters, digits, `-`, `_`, `.`, `@`,
/// lowercase as Vault stores them.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | '@')
        })
}

/// A policy's text: stored, or built in for `default` and `response-wrapping`. `None`
/// when it does not exist.
pub async fn read(store: &dyn Store, name: &str) -> Result<Option<String>, ApiError> {
    if name == ROOT_POLICY_NAME {
        return Ok(Some(String::new()));
    }
    if name == RESPONSE_WRAPPING_POLICY_NAME {
        return Ok(Some(RESPONSE_WRAPPING_POLICY.to_owned()));
    }
    let stored = store.get(&key(name)).await?;
    Ok(match stored {
        Some(item) => Some(item.s(A_TEXT)?.to_owned()),
        None if name == DEFAULT_POLICY_NAME => Some(DEFAULT_POLICY.to_owned()),
        None => None,
    })
}

/// The names among `names` that name no policy (`root` and `default` always exist):
/// one batch read. Vault warns of them when a token is created with them.
pub async fn missing(store: &dyn Store, names: &[String]) -> Result<Vec<String>, ApiError> {
    let asked: Vec<&String> = names
        .iter()
        .filter(|n| {
            *n != ROOT_POLICY_NAME
                && *n != DEFAULT_POLICY_NAME
                && *n != RESPONSE_WRAPPING_POLICY_NAME
        })
        .collect();
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<Key> = asked.iter().map(|n| key(n)).collect();
    Ok(asked
        .into_iter()
        .zip(store.get_many(&keys).await?)
        .filter(|(_, item)| item.is_none())
        .map(|(n, _)| n.clone())
        .collect())
}

/// Stores a policy after parsing it: 400 with the parser's line and reason when it is
/// invalid (nothing is written); 400 for `root`.
pub async fn write(store: &dyn Store, name: &str, text: &str, now: i64) -> Result<(), ApiError> {
    if !valid_name(name) {
        return Err(ApiError::bad(
            "invalid policy name: use lowercase letters, digits, '-', '_', '.', '@'",
        ));
    }
    if name == ROOT_POLICY_NAME || name == RESPONSE_WRAPPING_POLICY_NAME {
        return Err(ApiError::bad(format!("cannot update {name:?} policy")));
    }
    policy::parse(name, text).map_err(|e| ApiError::bad(format!("failed to parse policy: {e}")))?;
    let mut item = new_item(&key(name));
    item.insert(A_TEXT.into(), Value::S(text.to_owned()));
    item.insert(A_UPDATED.into(), Value::N(now));
    store.write(Write::Put { item, cond: None }).await?;
    Ok(())
}

/// Deletes a policy (idempotent); 400 for `root` and `default`.
pub async fn delete(store: &dyn Store, name: &str) -> Result<(), ApiError> {
    if name == ROOT_POLICY_NAME
        || name == DEFAULT_POLICY_NAME
        || name == RESPONSE_WRAPPING_POLICY_NAME
    {
        return Err(ApiError::bad(format!("cannot delete \"{name}\" policy")));
    }
    store
        .write(Write::Delete {
            key: key(name),
            cond: None,
        })
        .await?;
    Ok(())
}

/// Every policy name, with `default` and `root` (as Vault lists them).
pub async fn list(store: &dyn Store) -> Result<Vec<String>, ApiError> {
    let mut names = vec![DEFAULT_POLICY_NAME.to_owned(), ROOT_POLICY_NAME.to_owned()];
    names.extend(query_sort_keys(store, Query::partition(PK)).await?);
    names.sort();
    names.dedup();
    Ok(names)
}

struct Cached {
    acl: Arc<Acl>,
    fetched_at: i64,
}

/// Each function's cache of compiled ACLs, by policy set.
#[derive(Default)]
pub struct AclCache {
    entries: Mutex<HashMap<Vec<String>, Cached>>,
}

impl std::fmt::Debug for AclCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AclCache").finish_non_exhaustive()
    }
}

/// Most policy sets one function keeps compiled.
const MAX_CACHED_SETS: usize = 1024;

impl AclCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets every compiled ACL (after a policy write in this function).
    pub fn clear(&self) {
        if let Ok(mut m) = self.entries.lock() {
            m.clear();
        }
    }

    /// The ACL of a token's policies (sorted names), compiled from the stored texts no
    /// older than `ttl` seconds. Unknown names are ignored, as in Vault; a stored policy
    /// that no longer parses is skipped and logged.
    pub async fn acl(
        &self,
        store: &dyn Store,
        names: &[String],
        now: i64,
        ttl: i64,
    ) -> Result<Arc<Acl>, ApiError> {
        if names.iter().any(|n| n == ROOT_POLICY_NAME) {
            return Ok(Arc::new(Acl::root()));
        }
        if let Ok(m) = self.entries.lock()
            && let Some(c) = m.get(names).filter(|c| now - c.fetched_at < ttl)
        {
            return Ok(c.acl.clone());
        }
        let keys: Vec<Key> = names.iter().map(|n| key(n)).collect();
        let items = if keys.is_empty() {
            Vec::new()
        } else {
            store.get_many(&keys).await?
        };
        let mut parsed: Vec<Policy> = Vec::with_capacity(names.len());
        for (name, item) in names.iter().zip(items) {
            let text = match &item {
                // Built in and immutable: what a stored item says does not count.
                _ if name == RESPONSE_WRAPPING_POLICY_NAME => RESPONSE_WRAPPING_POLICY.to_owned(),
                Some(i) => i.s(A_TEXT)?.to_owned(),
                None if name == DEFAULT_POLICY_NAME => DEFAULT_POLICY.to_owned(),
                None => continue,
            };
            match policy::parse(name, &text) {
                Ok(p) => parsed.push(p),
                Err(e) => {
                    tracing::error!(policy = %name, error = %e, "stored policy does not parse; ignored")
                }
            }
        }
        let refs: Vec<&Policy> = parsed.iter().collect();
        let acl = Arc::new(Acl::new(&refs));
        if let Ok(mut m) = self.entries.lock() {
            if m.len() >= MAX_CACHED_SETS {
                m.clear();
            }
            m.insert(
                names.to_vec(),
                Cached {
                    acl: acl.clone(),
                    fetched_at: now,
                },
            );
        }
        Ok(acl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Capability;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn stored_policies_apply_within_the_cache_ttl() {
        let store = MemoryStore::new();
        write(
            &store,
            "app",
            r#"path "secret/data/app/*" { capabilities = ["read"] }"#,
            0,
        )
        .await
        .unwrap();
        let cache = AclCache::new();
        let names = vec!["app".to_owned(), "default".to_owned()];
        let acl = cache.acl(&store, &names, 0, 30).await.unwrap();
        assert!(acl.allows("secret/data/app/db", Capability::Read));
        assert!(
            acl.allows("auth/token/lookup-self", Capability::Read),
            "built-in default"
        );
        write(
            &store,
            "app",
            r#"path "secret/data/other" { capabilities = ["read"] }"#,
            5,
        )
        .await
        .unwrap();
        let calls = store.calls();
        let acl = cache.acl(&store, &names, 29, 30).await.unwrap();
        assert_eq!(store.calls(), calls, "cached");
        assert!(acl.allows("secret/data/app/db", Capability::Read));
        let acl = cache.acl(&store, &names, 30, 30).await.unwrap();
        assert!(
            !acl.allows("secret/data/app/db", Capability::Read),
            "refreshed after the TTL"
        );
        assert!(acl.allows("secret/data/other", Capability::Read));
    }

    #[tokio::test]
    async fn reserved_names_and_invalid_policies() {
        let store = MemoryStore::new();
        assert!(
            write(
                &store,
                "root",
                "path \"x\" { capabilities = [\"read\"] }",
                0
            )
            .await
            .is_err()
        );
        assert!(delete(&store, "default").await.is_err());
        let e = write(&store, "bad", "path \"x\" { capabilities = [\"reed\"] }", 0)
            .await
            .unwrap_err();
        assert!(e.to_string().starts_with("failed to parse policy"), "{e}");
        assert!(write(&store, "Bad/Name", "", 0).await.is_err());
        assert!(store.dump().is_empty(), "nothing written");
        assert_eq!(list(&store).await.unwrap(), vec!["default", "root"]);
        assert!(
            read(&store, "default")
                .await
                .unwrap()
                .unwrap()
                .contains("lookup-self")
        );
    }
}
