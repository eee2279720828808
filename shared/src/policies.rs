//! Policies as data: stored ACL policies (`sys/policies/acl/:name`) and each warm
//! function's cache of compiled ACLs.
//!
//! Items: partition `sys/policies`, sort key = policy name, attribute `text` (the policy
//! as written, HCL or JSON), `updated_at` and, when set,
//! `allow_slashes_in_identity_templates`. The built-in `default` policy applies until a
//! stored `default` replaces it; `root` is reserved and grants everything.
//!
//! A function compiles the ACL of a token's policy set once and keeps it for
//! [`crate::config::Config::policy_cache_ttl`] seconds (default 30), so an updated or
//! deleted policy takes effect everywhere within that time (at once in the function
//! that wrote it). Refreshing a set is one `get_many` round trip. A set holding
//! identity templates ([`crate::policy::template`]) is compiled once per entity from
//! the same read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The cache's hasher: a request hashes its token's policy names (up to hundreds), so
/// SipHash's cost shows; foldhash is seeded per process.
use foldhash::fast::RandomState;

use crate::error::ApiError;
use crate::policy::template::TemplateSource;
use crate::policy::{
    self, Acl, DEFAULT_POLICY, DEFAULT_POLICY_NAME, Policy, RESPONSE_WRAPPING_POLICY,
    RESPONSE_WRAPPING_POLICY_NAME, ROOT_POLICY_NAME,
};
use crate::store::{ItemExt, Key, Query, Store, Value, Write, new_item, query_sort_keys};

const PK: &str = "sys/policies";
const A_TEXT: &str = "text";
const A_UPDATED: &str = "updated_at";
const A_SLASHES: &str = "allow_slashes_in_identity_templates";

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

/// A policy as stored: its text and OpenBao's templating option.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredPolicy {
    /// The policy as written (HCL or JSON).
    pub text: String,
    /// `allow_slashes_in_identity_templates`: a templated value may hold `/` (each
    /// segment still checked, [`crate::policy::template::check_value`]).
    pub allow_slashes_in_identity_templates: bool,
}

/// A policy: stored, or built in for `default` and `response-wrapping`. `None` when it
/// does not exist.
pub async fn read(store: &dyn Store, name: &str) -> Result<Option<StoredPolicy>, ApiError> {
    let built_in = |text: &str| {
        Some(StoredPolicy {
            text: text.to_owned(),
            ..StoredPolicy::default()
        })
    };
    if name == ROOT_POLICY_NAME {
        return Ok(built_in(""));
    }
    if name == RESPONSE_WRAPPING_POLICY_NAME {
        return Ok(built_in(RESPONSE_WRAPPING_POLICY));
    }
    let stored = store.get(&key(name)).await?;
    Ok(match stored {
        Some(item) => Some(from_item(&item)?),
        None if name == DEFAULT_POLICY_NAME => built_in(DEFAULT_POLICY),
        None => None,
    })
}

fn from_item(item: &crate::store::Item) -> Result<StoredPolicy, ApiError> {
    Ok(StoredPolicy {
        text: item.s(A_TEXT)?.to_owned(),
        allow_slashes_in_identity_templates: item.flag(A_SLASHES)?,
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
pub async fn write(
    store: &dyn Store,
    name: &str,
    policy: &StoredPolicy,
    now: i64,
) -> Result<(), ApiError> {
    if !valid_name(name) {
        return Err(ApiError::bad(
            "invalid policy name: use lowercase letters, digits, '-', '_', '.', '@'",
        ));
    }
    if name == ROOT_POLICY_NAME || name == RESPONSE_WRAPPING_POLICY_NAME {
        return Err(ApiError::bad(format!("cannot update {name:?} policy")));
    }
    policy::parse(name, &policy.text)
        .map_err(|e| ApiError::bad(format!("failed to parse policy: {e}")))?;
    let mut item = new_item(&key(name));
    item.insert(A_TEXT.into(), Value::S(policy.text.clone()));
    item.insert(A_UPDATED.into(), Value::N(now));
    if policy.allow_slashes_in_identity_templates {
        item.insert(A_SLASHES.into(), Value::Bool(true));
    }
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

/// One policy set: its ACL, or, when the set holds templated policies, the parsed
/// policies and an ACL per entity resolved from them.
struct CachedSet {
    fetched_at: i64,
    /// The ACL for every caller (a set without templates).
    shared: Option<Arc<Acl>>,
    /// The set's parsed policies with their `allow_slashes_in_identity_templates`
    /// (a templated set), resolved per entity on demand.
    templated: Vec<(Policy, bool)>,
    /// Resolved ACLs by entity ID (`""`: a token without entity).
    by_entity: HashMap<String, Arc<Acl>, RandomState>,
}

/// Each function's cache of compiled ACLs, by policy set (and by entity for sets with
/// templated policies).
#[derive(Default)]
pub struct AclCache {
    entries: Mutex<HashMap<Vec<String>, CachedSet, RandomState>>,
}

impl std::fmt::Debug for AclCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AclCache").finish_non_exhaustive()
    }
}

/// Most policy sets one function keeps compiled.
const MAX_CACHED_SETS: usize = 1024;
/// Most entities' ACLs one templated policy set keeps.
const MAX_ENTITIES_PER_SET: usize = 4096;

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

    /// The ACL of a token's policies (sorted names) for a token without entity:
    /// [`AclCache::acl_for`] with no identity.
    pub async fn acl(
        &self,
        store: &dyn Store,
        names: &[String],
        now: i64,
        ttl: i64,
    ) -> Result<Arc<Acl>, ApiError> {
        self.acl_for(store, names, None, now, ttl).await
    }

    /// The ACL of a token's policies (sorted names) for the token's `identity` (its
    /// entity, aliases and groups; `None`: no entity), compiled from the stored texts
    /// no older than `ttl` seconds. Unknown names are ignored, as in Vault; a stored
    /// policy that no longer parses is skipped and logged. Templated policies are
    /// resolved per entity ([`Policy::resolve`]): a set's ACL is shared by every
    /// caller unless it holds templates, then kept per entity ID, so a change to an
    /// entity's metadata, aliases or groups applies within `ttl` as a policy change
    /// does.
    pub async fn acl_for(
        &self,
        store: &dyn Store,
        names: &[String],
        identity: Option<&dyn TemplateSource>,
        now: i64,
        ttl: i64,
    ) -> Result<Arc<Acl>, ApiError> {
        if names.iter().any(|n| n == ROOT_POLICY_NAME) {
            return Ok(Arc::new(Acl::root()));
        }
        let entity = identity.map_or("", |i| i.entity_id());
        if let Ok(mut m) = self.entries.lock()
            && let Some(set) = m.get_mut(names).filter(|c| now - c.fetched_at < ttl)
        {
            if let Some(acl) = &set.shared {
                return Ok(acl.clone());
            }
            if let Some(acl) = set.by_entity.get(entity) {
                return Ok(acl.clone());
            }
            let acl = Arc::new(resolved_acl(&set.templated, identity));
            if set.by_entity.len() >= MAX_ENTITIES_PER_SET {
                set.by_entity.clear();
            }
            set.by_entity.insert(entity.to_owned(), acl.clone());
            return Ok(acl);
        }
        let parsed = fetch(store, names).await?;
        let mut set = CachedSet {
            fetched_at: now,
            shared: None,
            templated: Vec::new(),
            by_entity: HashMap::default(),
        };
        let acl = if parsed.iter().any(|(p, _)| p.is_templated()) {
            let acl = Arc::new(resolved_acl(&parsed, identity));
            set.templated = parsed;
            set.by_entity.insert(entity.to_owned(), acl.clone());
            acl
        } else {
            let refs: Vec<&Policy> = parsed.iter().map(|(p, _)| p).collect();
            let acl = Arc::new(Acl::new(&refs));
            set.shared = Some(acl.clone());
            acl
        };
        if let Ok(mut m) = self.entries.lock() {
            if m.len() >= MAX_CACHED_SETS {
                m.clear();
            }
            m.insert(names.to_vec(), set);
        }
        Ok(acl)
    }
}

impl AclCache {
    /// The ACL `token` acts with: its own policies and its identity's (the entity's
    /// and its groups', Vault's `identity_policies`), identity templates resolved for
    /// its entity ([`crate::policy::template`]). `ttl`: seconds a compiled set is kept.
    pub async fn token_acl(
        &self,
        store: &dyn Store,
        ttl: i64,
        token: &crate::token::TokenEntry,
        identity: Option<&crate::identity::request::RequestIdentity>,
        now: i64,
    ) -> Result<Arc<Acl>, ApiError> {
        let merged;
        let names: &[String] = match identity.map(|i| i.policies()) {
            Some(extra) if !extra.is_empty() => {
                let mut all: Vec<String> = token.policies.iter().cloned().chain(extra).collect();
                all.sort();
                all.dedup();
                merged = all;
                &merged
            }
            _ => &token.policies,
        };
        let source = identity.map(|i| i as &dyn TemplateSource);
        self.acl_for(store, names, source, now, ttl).await
    }
}

/// The ACL of `policies` (each with its `allow_slashes_in_identity_templates`)
/// resolved for `identity`.
fn resolved_acl(policies: &[(Policy, bool)], identity: Option<&dyn TemplateSource>) -> Acl {
    let resolved: Vec<Policy> = policies
        .iter()
        .map(|(p, slashes)| p.resolve(identity, *slashes))
        .collect();
    let refs: Vec<&Policy> = resolved.iter().collect();
    Acl::new(&refs)
}

/// The parsed policies of `names` (one batch read), each with its
/// `allow_slashes_in_identity_templates`.
async fn fetch(store: &dyn Store, names: &[String]) -> Result<Vec<(Policy, bool)>, ApiError> {
    let keys: Vec<Key> = names.iter().map(|n| key(n)).collect();
    let items = if keys.is_empty() {
        Vec::new()
    } else {
        store.get_many(&keys).await?
    };
    let mut parsed = Vec::with_capacity(names.len());
    for (name, item) in names.iter().zip(items) {
        let stored = match &item {
            // Built in and immutable: what a stored item says does not count.
            _ if name == RESPONSE_WRAPPING_POLICY_NAME => StoredPolicy {
                text: RESPONSE_WRAPPING_POLICY.to_owned(),
                ..StoredPolicy::default()
            },
            Some(i) => from_item(i)?,
            None if name == DEFAULT_POLICY_NAME => StoredPolicy {
                text: DEFAULT_POLICY.to_owned(),
                ..StoredPolicy::default()
            },
            None => continue,
        };
        match policy::parse(name, &stored.text) {
            Ok(p) => parsed.push((p, stored.allow_slashes_in_identity_templates)),
            Err(e) => {
                tracing::error!(policy = %name, error = %e, "stored policy does not parse; ignored")
            }
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> StoredPolicy {
        StoredPolicy {
            text: t.to_owned(),
            ..StoredPolicy::default()
        }
    }
    use crate::policy::Capability;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn stored_policies_apply_within_the_cache_ttl() {
        let store = MemoryStore::new();
        write(
            &store,
            "app",
            &text(r#"path "secret/data/app/*" { capabilities = ["read"] }"#),
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
            &text(r#"path "secret/data/other" { capabilities = ["read"] }"#),
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
                &text("path \"x\" { capabilities = [\"read\"] }"),
                0
            )
            .await
            .is_err()
        );
        assert!(delete(&store, "default").await.is_err());
        let e = write(
            &store,
            "bad",
            &text("path \"x\" { capabilities = [\"reed\"] }"),
            0,
        )
        .await
        .unwrap_err();
        assert!(e.to_string().starts_with("failed to parse policy"), "{e}");
        assert!(write(&store, "Bad/Name", &text(""), 0).await.is_err());
        assert!(store.dump().is_empty(), "nothing written");
        assert_eq!(list(&store).await.unwrap(), vec!["default", "root"]);
        assert!(
            read(&store, "default")
                .await
                .unwrap()
                .unwrap()
                .text
                .contains("lookup-self")
        );
    }

    #[tokio::test]
    async fn templated_sets_compile_per_entity_from_one_read() {
        use crate::policy::template::{Identity, IdentityAlias};
        let store = MemoryStore::new();
        let tpl = r#"path "secret/data/ci/{{identity.entity.aliases.auth_jwt_1.metadata.repository}}/*" { capabilities = ["read"] }
path "secret/data/shared/*" { capabilities = ["read"] }"#;
        write(&store, "ci", &text(tpl), 0).await.unwrap();
        write(
            &store,
            "ci-slashes",
            &StoredPolicy {
                text: tpl.to_owned(),
                allow_slashes_in_identity_templates: true,
            },
            0,
        )
        .await
        .unwrap();
        let stored = read(&store, "ci-slashes").await.unwrap().unwrap();
        assert!(stored.allow_slashes_in_identity_templates);
        let who = |id: &str, repo: &str| Identity {
            entity_id: id.into(),
            aliases: vec![IdentityAlias {
                mount_accessor: "auth_jwt_1".into(),
                metadata: [("repository".to_owned(), repo.to_owned())].into(),
                ..IdentityAlias::default()
            }],
            ..Identity::default()
        };
        let (a, b, org) = (who("e-a", "A"), who("e-b", "B"), who("e-o", "org/app"));
        let cache = AclCache::new();
        let names = vec!["ci".to_owned()];
        let calls = store.calls();
        let acl = cache
            .acl_for(&store, &names, Some(&a), 0, 30)
            .await
            .unwrap();
        assert!(acl.allows("secret/data/ci/A/x", Capability::Read));
        assert!(!acl.allows("secret/data/ci/B/x", Capability::Read));
        let acl = cache
            .acl_for(&store, &names, Some(&b), 1, 30)
            .await
            .unwrap();
        assert!(acl.allows("secret/data/ci/B/x", Capability::Read));
        assert!(!acl.allows("secret/data/ci/A/x", Capability::Read));
        assert_eq!(store.calls(), calls + 1, "one read for both entities");
        // No entity: the templated rule matches nothing, the plain one still applies.
        let acl = cache.acl(&store, &names, 2, 30).await.unwrap();
        assert!(!acl.allows("secret/data/ci/A/x", Capability::Read));
        assert!(acl.allows("secret/data/shared/x", Capability::Read));
        // A value with a slash only where the policy allows slashes.
        let acl = cache
            .acl_for(&store, &names, Some(&org), 3, 30)
            .await
            .unwrap();
        assert!(!acl.allows("secret/data/ci/org/app/x", Capability::Read));
        let slashes = vec!["ci-slashes".to_owned()];
        let acl = cache
            .acl_for(&store, &slashes, Some(&org), 3, 30)
            .await
            .unwrap();
        assert!(acl.allows("secret/data/ci/org/app/x", Capability::Read));
        assert!(!acl.allows("secret/data/ci/org/x", Capability::Read));
    }
}
