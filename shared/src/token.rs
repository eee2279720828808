//! Tokens: creation, lookup, use counting, renewal and revocation (Vault's token rules,
//! VAULT-NOTES.md "Tokens").
//!
//! A token is `sgl.` followed by 43 base64url characters (256 random bits); the prefix
//! lets secret scanners find leaked ones. Only its SHA-256 is stored:
//! `token/{hash}` / `token` holds the entry; `accessor/{accessor}` / `accessor` maps the
//! accessor to the hash. Both live and die together (one transaction).

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value as Json, json};

use crate::clock::rfc3339;
use crate::crypto;
use crate::error::ApiError;
use crate::store::{
    Cond, Item, ItemExt, Key, Query, Store, StoreError, Update, Value, Write, new_item, query_all,
    schema,
};

pub use crate::token_format::{TOKEN_PREFIX, redact_tokens_in_path};

/// Policy that grants everything (held by the bootstrap token).
pub const ROOT_POLICY: &str = "root";
/// Policy attached to tokens unless a role says `token_no_default_policy`.
pub const DEFAULT_POLICY: &str = "default";

const SK_TOKEN: &str = "token";
const SK_ACCESSOR: &str = "accessor";
const A_ACCESSOR: &str = "accessor";
const A_TOKEN_HASH: &str = "token_hash";
const A_POLICIES: &str = "policies";
const A_ISSUED: &str = "issued_at";
const A_EXPIRE: &str = "expire_at";
const A_MAX_EXPIRE: &str = "max_expire_at";
const A_TTL: &str = "creation_ttl";
const A_PERIOD: &str = "period";
const A_EXPLICIT_MAX: &str = "explicit_max_ttl";
/// The remaining uses of a use-limited token (0: unlimited).
pub const A_USES: &str = "num_uses";
/// `num_uses` of an entry whose last use is the request at hand: its revocation has
/// started and runs once the request is done (Vault's `tokenRevocationPending`; token
/// lookups during that request show it).
pub const REVOCATION_PENDING: i64 = -1;
const A_DISPLAY: &str = "display_name";
const A_META: &str = "meta";
const A_PATH: &str = "path";
const A_LAST_RENEWAL: &str = "last_renewal";
/// The token role a token was created through (absent: none).
const A_ROLE: &str = "role";
/// The identity entity a token acts for (absent: none).
const A_ENTITY: &str = "entity_id";
/// Set (true) on a token created with `renewable=false`; absent: renewable.
const A_NOT_RENEWABLE: &str = "not_renewable";
/// A child token's ancestors' hashes, parent first (absent: an orphan).
/// The recorded ancestors' hashes, parent first (absent for an orphan).
pub const A_ANCESTORS: &str = "ancestors";
/// Sort-key prefix of a child reference in its parent's partition
/// (`token/{parent}` / `child/{child hash}`): a revocation of the parent finds its
/// children there, as it finds its leases under `lease/`.
pub const CHILD_PREFIX: &str = "child/";
/// The deepest a token tree may grow (a token with this many ancestors creates no
/// child): a lookup reads every ancestor in one batch (at most 100 keys).
pub const MAX_DEPTH: usize = 32;
/// Set (to the time, seconds) when a revocation starts: from then the token
/// authenticates nothing and no lease can be filed under it ([`unrevoked_cond`]), while
/// its leases are revoked and before its entry is deleted.
pub const A_REVOKED: &str = "revoking_since";
/// Set on a token revoked by `auth/token/revoke-orphan`: its descendants stop at it when
/// they check their ancestors ([`ancestors_live`]), so they live on as orphans while
/// their recorded ancestors are rewritten ([`crate::revocation`]'s reroot jobs).
pub const A_ORPHANED: &str = "orphaned";
/// The number of a token's recorded ancestors. A child's creation is conditional on its
/// parent's (a rewrite of the parent's ancestors changes it), so no child is born with
/// ancestors that a reroot already took off its parent.
pub const A_DEPTH: &str = "depth";

/// The stored key of a token's entry.
pub fn token_key(hash: &str) -> Key {
    Key::new(format!("token/{hash}"), SK_TOKEN)
}

/// The key of a child's reference in its parent's partition.
pub fn child_key(parent: &str, child: &str) -> Key {
    Key::new(format!("token/{parent}"), format!("{CHILD_PREFIX}{child}"))
}

/// The stored key of an accessor's entry.
pub fn accessor_key(accessor: &str) -> Key {
    Key::new(format!("accessor/{accessor}"), SK_ACCESSOR)
}

/// What a new token should be (from an auth method's role).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenParams {
    /// Policies (the default policy is added unless `no_default_policy`).
    pub policies: Vec<String>,
    /// Leave out the default policy.
    pub no_default_policy: bool,
    /// TTL in seconds (0: the system default).
    pub ttl: i64,
    /// Max TTL in seconds (0: the system max).
    pub max_ttl: i64,
    /// Hard cap in seconds that renewals never pass, even for periodic tokens (0: none).
    pub explicit_max_ttl: i64,
    /// Period in seconds: each renewal resets the TTL to it, with no max TTL (0: none).
    pub period: i64,
    /// Uses allowed (0: unlimited).
    pub num_uses: i64,
    /// Display name, e.g. `approle`.
    pub display_name: String,
    /// Metadata shown on lookup (e.g. `role_name`).
    pub meta: BTreeMap<String, String>,
    /// The path that created it, e.g. `auth/approle/login`.
    pub path: String,
    /// Its ancestors' hashes, parent first (empty: an orphan; Vault's token tree).
    pub ancestors: Vec<String>,
    /// `Some(false)`: renewals are refused (`auth/token/create`'s `renewable`).
    pub renewable: Option<bool>,
    /// The token role it is created through (`auth/token/create/:role`; empty: none).
    pub role: String,
    /// Mint a batch token ([`crate::batch_token`]): sealed, stored nowhere.
    pub batch: bool,
    /// The identity entity the token acts for (empty: none): set by a login from the
    /// entity of its alias ([`crate::identity::login`]), inherited by child tokens.
    pub entity_id: String,
}

/// A stored token (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenEntry {
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// The accessor.
    pub accessor: String,
    /// Policies, sorted, no duplicates.
    pub policies: Vec<String>,
    /// Creation time, Unix seconds.
    pub issued_at: i64,
    /// Expiry, Unix seconds.
    pub expire_at: i64,
    /// Time renewals cannot pass, Unix seconds (0: none, for periodic tokens without an
    /// explicit max).
    pub max_expire_at: i64,
    /// TTL at creation, seconds (also the default renewal increment).
    pub creation_ttl: i64,
    /// Period, seconds (0: not periodic).
    pub period: i64,
    /// Explicit max TTL, seconds (0: none).
    pub explicit_max_ttl: i64,
    /// Uses left (0: unlimited).
    pub num_uses: i64,
    /// Display name.
    pub display_name: String,
    /// Metadata.
    pub meta: BTreeMap<String, String>,
    /// Creating path.
    pub path: String,
    /// Time of the last renewal, Unix seconds (0: never renewed).
    pub last_renewal: i64,
    /// Its ancestors' hashes, parent first (empty: an orphan). The token authenticates
    /// only while every ancestor does ([`find_by_hash`]): revoking a token refuses its
    /// whole subtree at once.
    pub ancestors: Vec<String>,
    /// Whether renewals are allowed (false only for `renewable=false` at creation).
    pub renewable: bool,
    /// The token role it was created through (empty: none); lookups show it.
    pub role: String,
    /// A batch token ([`crate::batch_token`]): never stored, so never read from an item.
    pub batch: bool,
    /// A batch token's issuing auth mount's accessor (empty for a service token, which
    /// goes with its mount).
    pub mount_accessor: String,
    /// The identity entity the token acts for (empty: none). Its policies and its
    /// groups' are added at request time ([`crate::identity::request`]).
    pub entity_id: String,
}

impl TryFrom<&Item> for TokenEntry {
    type Error = StoreError;
    fn try_from(item: &Item) -> Result<Self, StoreError> {
        let meta = item
            .map(A_META)?
            .into_iter()
            .map(|(k, v)| match v {
                Value::S(s) => Ok((k, s)),
                _ => Err(StoreError::Malformed("token meta".into())),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            hash: item
                .key()
                .pk
                .strip_prefix("token/")
                .ok_or_else(|| StoreError::Malformed("token key".into()))?
                .to_owned(),
            accessor: item.s(A_ACCESSOR)?.to_owned(),
            policies: item.strings(A_POLICIES)?,
            issued_at: item.n(A_ISSUED)?,
            expire_at: item.n(A_EXPIRE)?,
            max_expire_at: item.n(A_MAX_EXPIRE)?,
            creation_ttl: item.n(A_TTL)?,
            period: item.n(A_PERIOD)?,
            explicit_max_ttl: item.n(A_EXPLICIT_MAX)?,
            num_uses: item.n(A_USES)?,
            display_name: item.s(A_DISPLAY)?.to_owned(),
            meta,
            path: item.s(A_PATH)?.to_owned(),
            last_renewal: item.n_opt(A_LAST_RENEWAL)?.unwrap_or(0),
            ancestors: match item.get(A_ANCESTORS) {
                Some(_) => item.strings(A_ANCESTORS)?,
                None => Vec::new(),
            },
            renewable: !item.flag(A_NOT_RENEWABLE).unwrap_or(false),
            role: item
                .get(A_ROLE)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            batch: false,
            mount_accessor: String::new(),
            entity_id: item
                .get(A_ENTITY)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

impl From<&TokenEntry> for Item {
    fn from(t: &TokenEntry) -> Item {
        let key = token_key(&t.hash);
        let mut item = new_item(&key);
        let mut put = |k: &str, v: Value| {
            item.insert(k.to_owned(), v);
        };
        put(A_ACCESSOR, t.accessor.clone().into());
        put(A_POLICIES, t.policies.clone().into());
        put(A_ISSUED, t.issued_at.into());
        put(A_EXPIRE, t.expire_at.into());
        put(A_MAX_EXPIRE, t.max_expire_at.into());
        put(A_TTL, t.creation_ttl.into());
        put(A_PERIOD, t.period.into());
        put(A_EXPLICIT_MAX, t.explicit_max_ttl.into());
        put(A_USES, t.num_uses.into());
        put(A_DISPLAY, t.display_name.clone().into());
        put(
            A_META,
            Value::M(
                t.meta
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::S(v.clone())))
                    .collect(),
            ),
        );
        put(A_PATH, t.path.clone().into());
        if t.last_renewal > 0 {
            put(A_LAST_RENEWAL, t.last_renewal.into());
        }
        if !t.ancestors.is_empty() {
            put(A_ANCESTORS, t.ancestors.clone().into());
        }
        put(A_DEPTH, Value::N(t.ancestors.len() as i64));
        if !t.renewable {
            put(A_NOT_RENEWABLE, true.into());
        }
        if !t.role.is_empty() {
            put(A_ROLE, t.role.clone().into());
        }
        if !t.entity_id.is_empty() {
            put(A_ENTITY, t.entity_id.clone().into());
        }
        for (k, v) in schema::expiry_attrs(&key.pk, t.expire_at) {
            put(k, v);
        }
        item
    }
}

/// System limits that apply to every token, and what minting needs besides.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Default TTL, seconds.
    pub default_ttl: i64,
    /// System max TTL, seconds.
    pub max_ttl: i64,
    /// What minting a batch token needs (`None`: minting one fails, 500).
    pub batch: Option<BatchMint>,
}

/// What minting a batch token needs besides its parameters.
#[derive(Clone, Debug)]
pub struct BatchMint {
    /// The key batch tokens are sealed with
    /// ([`crate::keyring::Keyring::batch_token_key`]).
    pub key: std::sync::Arc<crypto::SealingKey>,
    /// The accessor of the auth mount issuing it: the token is refused once that mount
    /// is gone, even if another is enabled at its path.
    pub mount_accessor: String,
}

/// A newly minted token: the secret (shown once) and its entry.
pub struct Minted {
    /// The token itself. Never stored, never logged.
    pub token: SecretString,
    /// The stored entry.
    pub entry: TokenEntry,
    /// Warnings for the response (e.g. the period was capped).
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Minted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minted")
            .field("token", &"redacted")
            .field("accessor", &self.entry.accessor)
            .finish()
    }
}

impl Minted {
    /// The writes that store it: the entry and the accessor, both only if absent; none
    /// for a batch token (it is its own record).
    pub fn writes(&self) -> Vec<Write> {
        if self.entry.batch {
            return Vec::new();
        }
        let mut acc = new_item(&accessor_key(&self.entry.accessor));
        acc.insert(A_TOKEN_HASH.into(), self.entry.hash.clone().into());
        acc.insert(
            schema::TTL.into(),
            self.entry
                .expire_at
                .saturating_add(schema::TTL_GRACE_SECS)
                .into(),
        );
        let mut writes = vec![
            Write::Put {
                item: Item::from(&self.entry),
                cond: Some(Cond::NotExists),
            },
            Write::Put {
                item: acc,
                cond: Some(Cond::NotExists),
            },
        ];
        if let Some(parent) = self.entry.ancestors.first() {
            // Filed under its parent only while the parent authenticates: a child
            // cannot be born under a token whose revocation started (that revocation
            // lists the parent's children after its mark, so it finds every one).
            // And only with the ancestors it was read with (a token stored before
            // depths were recorded has none: any reroot records one).
            let depth = self.entry.ancestors.len() as i64 - 1;
            writes.push(Write::Check {
                key: token_key(parent),
                cond: Cond::And(vec![
                    unrevoked_cond(),
                    Cond::Or(vec![
                        Cond::Eq(A_DEPTH, Value::N(depth)),
                        Cond::AttrAbsent(A_DEPTH),
                    ]),
                ]),
            });
            let mut child = new_item(&child_key(parent, &self.entry.hash));
            child.insert(
                schema::TTL.into(),
                self.entry
                    .max_expire_at
                    .max(self.entry.expire_at)
                    .saturating_add(schema::TTL_GRACE_SECS)
                    .into(),
            );
            writes.push(Write::Put {
                item: child,
                cond: None,
            });
        }
        {
            // Every token is indexed under its auth mount (the token store's for the
            // bootstrap token), with its accessor: disabling the mount, a revoke-prefix
            // of its path and `LIST auth/token/accessors` find it without a scan.
            let mount = auth_mount_of(&self.entry.path).unwrap_or_else(|| TOKEN_MOUNT.to_owned());
            let mut index = new_item(&Key::new(
                mount_index_partition(&mount, &self.entry.hash),
                self.entry.hash.clone(),
            ));
            index.insert(A_ACCESSOR.into(), self.entry.accessor.clone().into());
            // Kept until the token cannot live any more; a revoked token's entry is
            // harmless (revoking it again is a no-op) and goes with DynamoDB's TTL.
            if self.entry.max_expire_at > 0 {
                index.insert(
                    schema::TTL.into(),
                    self.entry
                        .max_expire_at
                        .saturating_add(schema::TTL_GRACE_SECS)
                        .into(),
                );
            }
            writes.push(Write::Put {
                item: index,
                cond: None,
            });
        }
        writes
    }
}

/// The auth mount a token's creating path names (`auth/approle/login` →
/// `auth/approle/`, `auth/token/create` → `auth/token/`), if it was created through
/// one (not the bootstrap token). Its tokens are indexed under it, so that disabling
/// the mount, or a revoke-prefix of its path, finds them without a scan.
pub fn auth_mount_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("auth/")?;
    let (name, _) = rest.split_once('/')?;
    (!name.is_empty()).then(|| format!("auth/{name}/"))
}

/// The token store's mount path: tokens created through it, and the bootstrap token,
/// are indexed under it.
pub const TOKEN_MOUNT: &str = "auth/token/";

/// Shards of a mount's token index: a mount's logins spread over this many
/// partitions (by the token hash's first hex digit), so that one busy auth mount does
/// not make one hot partition.
pub const MOUNT_INDEX_SHARDS: usize = 16;

/// The partition indexing a token (by `hash`) among those an auth mount issued (sort
/// key: the token's hash), so that disabling the mount revokes them without a scan:
/// `mount-tokens/{mount_path}#{first hex digit of the hash}`.
pub fn mount_index_partition(mount_path: &str, hash: &str) -> String {
    let shard = hash.get(..1).unwrap_or("0");
    format!("mount-tokens/{mount_path}#{shard}")
}

/// The accessors of the live tokens indexed under `mounts` (auth mount paths), at
/// most `limit` (`LIST auth/token/accessors`); `true` when there are more. Per page of
/// each index shard: one query, and one batch read of the tokens (a revoked, expired
/// or deleted token is left out: its index entry outlives it until DynamoDB's TTL).
/// The order is the index's (by mount, shard, token hash).
pub async fn list_accessors(
    store: &dyn Store,
    mounts: &[String],
    limit: usize,
    now: i64,
) -> Result<(Vec<String>, bool), ApiError> {
    let mut out = Vec::new();
    for mount in mounts {
        for pk in mount_index_partitions(mount) {
            let mut q = Query::partition(pk);
            q.limit = Some(100);
            loop {
                let page = store.query(&q).await?;
                let keys: Vec<Key> = page.items.iter().map(|i| token_key(&i.key().sk)).collect();
                for item in store.get_many(&keys).await?.into_iter().flatten() {
                    // Refused tokens are not listed: revoked, expired, or under an
                    // ancestor that is (one more batch read for a child token).
                    match live(&item, now)? {
                        Some(e) if ancestors_live(store, &e, now).await? => {}
                        _ => continue,
                    }
                    if out.len() == limit {
                        return Ok((out, true));
                    }
                    out.extend(accessor_of(&item));
                }
                match page.next {
                    Some(n) => q.start = Some(n),
                    None => break,
                }
            }
        }
    }
    Ok((out, false))
}

/// Every partition of a mount's token index ([`mount_index_partition`]).
pub fn mount_index_partitions(mount_path: &str) -> impl Iterator<Item = String> + '_ {
    (0..MOUNT_INDEX_SHARDS).map(move |s| format!("mount-tokens/{mount_path}#{s:x}"))
}

/// Mints a token by Vault's TTL rules: the TTL is the role's (else the system default),
/// capped by the max TTL (the role's, else the system max, never above the system max);
/// renewals never pass issue time + max TTL. A periodic token gets its period as TTL and
/// no max TTL but the explicit max, if any.
///
/// A batch token (`params.batch`) is sealed under `limits.batch_key` (`None`: 500).
/// Vault's rules: no accessor, not renewable, no use limit, no period, no explicit max
/// TTL (400 `batch tokens cannot have "num_uses" set` and the like), never root (400
/// `batch tokens cannot be root tokens`).
pub fn mint(params: &TokenParams, limits: Limits, now: i64) -> Result<Minted, ApiError> {
    if !params.batch {
        return mint_service(params, &limits, now);
    }
    batch_fields_unset(params.explicit_max_ttl, params.num_uses, params.period)?;
    if params.policies.iter().any(|p| p == ROOT_POLICY) {
        return Err(ApiError::bad("batch tokens cannot be root tokens"));
    }
    let batch = limits.batch.clone().ok_or(ApiError::Internal)?;
    let mut minted = mint_service(params, &limits, now)?;
    minted.entry.accessor = String::new();
    minted.entry.renewable = false;
    minted.entry.batch = true;
    minted.entry.mount_accessor = batch.mount_accessor;
    // Not renewable: it ends at its expiry.
    minted.entry.max_expire_at = minted.entry.expire_at;
    minted.token = crate::batch_token::seal(&batch.key, &batch_record(&minted.entry))?;
    minted.entry.hash = crypto::sha256_hex(minted.token.expose_secret().as_bytes());
    Ok(minted)
}

/// Vault's refusal of a batch token with an explicit max TTL, a use limit or a period
/// (400 `batch tokens cannot have "num_uses" set` and the like); durations in seconds.
pub fn batch_fields_unset(
    explicit_max_ttl: i64,
    num_uses: i64,
    period: i64,
) -> Result<(), ApiError> {
    for (set, name) in [
        (explicit_max_ttl != 0, "explicit_max_ttl"),
        (num_uses != 0, "num_uses"),
        (period != 0, "period"),
    ] {
        if set {
            return Err(ApiError::bad(format!(
                "batch tokens cannot have {name:?} set"
            )));
        }
    }
    Ok(())
}

fn mint_service(params: &TokenParams, limits: &Limits, now: i64) -> Result<Minted, ApiError> {
    let token = format!(
        "{TOKEN_PREFIX}{}",
        crypto::random_b64(32).map_err(|_| ApiError::Internal)?
    );
    let accessor = crypto::random_b64(18).map_err(|_| ApiError::Internal)?;
    let hash = crypto::sha256_hex(token.as_bytes());
    let mut policies = params.policies.clone();
    if !params.no_default_policy && !policies.iter().any(|p| p == ROOT_POLICY) {
        policies.push(DEFAULT_POLICY.to_owned());
    }
    policies.sort();
    policies.dedup();
    let mut max_ttl = if params.max_ttl > 0 {
        params.max_ttl.min(limits.max_ttl)
    } else {
        limits.max_ttl
    };
    if params.explicit_max_ttl > 0 {
        max_ttl = max_ttl.min(params.explicit_max_ttl);
    }
    let mut warnings = Vec::new();
    // Vault caps a period at the effective max TTL: the system's, the role's and the
    // explicit max, the least (`CalculateTTL`), with a warning. The entry keeps the
    // period capped by the system's and the role's max only: each renewal caps it by
    // the explicit max again, with the same warning, as Vault's renewals do.
    let stored_period = if params.max_ttl > 0 {
        params.period.min(limits.max_ttl).min(params.max_ttl)
    } else {
        params.period.min(limits.max_ttl)
    };
    let period = params.period.min(max_ttl);
    if period < params.period {
        warnings.push(format!(
            "period of {:?} exceeded the effective max_ttl of {:?}; period value is capped accordingly",
            crate::ttl::human(params.period),
            crate::ttl::human(max_ttl)
        ));
    }
    let (ttl, max_expire_at) = if period > 0 {
        let cap = if params.explicit_max_ttl > 0 {
            params.explicit_max_ttl
        } else {
            i64::MAX
        };
        (
            period.min(cap),
            if params.explicit_max_ttl > 0 {
                now.saturating_add(params.explicit_max_ttl)
            } else {
                0
            },
        )
    } else {
        let ttl = if params.ttl > 0 {
            params.ttl
        } else {
            limits.default_ttl
        };
        // Vault's CalculateTTL warns when the TTL asked for passes the max.
        if params.ttl > max_ttl {
            warnings.push(format!(
                "TTL of {:?} exceeded the effective max_ttl of {:?}; TTL value is capped accordingly",
                crate::ttl::human(params.ttl),
                crate::ttl::human(max_ttl)
            ));
        }
        (ttl.min(max_ttl), now.saturating_add(max_ttl))
    };
    Ok(Minted {
        token: SecretString::from(token),
        entry: TokenEntry {
            hash,
            accessor,
            policies,
            issued_at: now,
            expire_at: now.saturating_add(ttl),
            max_expire_at,
            creation_ttl: ttl,
            period: stored_period,
            explicit_max_ttl: params.explicit_max_ttl,
            num_uses: params.num_uses,
            display_name: params.display_name.clone(),
            meta: params.meta.clone(),
            path: params.path.clone(),
            last_renewal: 0,
            ancestors: params.ancestors.clone(),
            renewable: params.renewable.unwrap_or(true),
            role: params.role.clone(),
            batch: false,
            mount_accessor: String::new(),
            entity_id: params.entity_id.clone(),
        },
        warnings,
    })
}

/// The record a batch token carries ([`crate::batch_token`]) for `entry`.
fn batch_record(entry: &TokenEntry) -> crate::batch_token::Record {
    crate::batch_token::Record {
        policies: entry.policies.clone(),
        issued_at: entry.issued_at,
        expire_at: entry.expire_at,
        creation_ttl: entry.creation_ttl,
        display_name: entry.display_name.clone(),
        meta: entry.meta.clone(),
        path: entry.path.clone(),
        ancestors: entry.ancestors.clone(),
        role: entry.role.clone(),
        mount_accessor: entry.mount_accessor.clone(),
        entity_id: entry.entity_id.clone(),
    }
}

/// The entry of a presented batch token if it opens under `key` and has not expired
/// at `now` (never a `root` one); `None` otherwise. Its `hash` is the token's SHA-256;
/// it has no accessor, no use limit, and is not renewable. Its ancestors are not
/// checked here ([`ancestors_live`]).
pub fn open_batch(key: &crypto::SealingKey, token: &SecretString, now: i64) -> Option<TokenEntry> {
    let r = crate::batch_token::open(key, token, now)?;
    if r.policies.iter().any(|p| p == ROOT_POLICY) {
        return None;
    }
    Some(TokenEntry {
        hash: crypto::sha256_hex(token.expose_secret().as_bytes()),
        accessor: String::new(),
        policies: r.policies,
        issued_at: r.issued_at,
        expire_at: r.expire_at,
        max_expire_at: r.expire_at,
        creation_ttl: r.creation_ttl,
        period: 0,
        explicit_max_ttl: 0,
        num_uses: 0,
        display_name: r.display_name,
        meta: r.meta,
        path: r.path,
        last_renewal: 0,
        ancestors: r.ancestors,
        renewable: false,
        role: r.role,
        batch: true,
        mount_accessor: r.mount_accessor,
        entity_id: r.entity_id,
    })
}

/// Hash of a presented token; `None` when it cannot be a Sigil token (so no lookup).
pub fn hash_presented(token: &SecretString) -> Option<String> {
    let t = token.expose_secret();
    (t.starts_with(TOKEN_PREFIX) && t.len() <= 128).then(|| crypto::sha256_hex(t.as_bytes()))
}

/// Looks up a token's live entry (one read); `None` when unknown, malformed or expired.
pub async fn find(
    store: &dyn Store,
    token: &SecretString,
    now: i64,
) -> Result<Option<TokenEntry>, ApiError> {
    let Some(hash) = hash_presented(token) else {
        return Ok(None);
    };
    find_by_hash(store, &hash, now).await
}

/// Looks up a live entry by token hash.
pub async fn find_by_hash(
    store: &dyn Store,
    hash: &str,
    now: i64,
) -> Result<Option<TokenEntry>, ApiError> {
    Ok(find_counted(store, hash, now)
        .await?
        .map(|(entry, _)| entry))
}

/// [`find_by_hash`], with how many of the entry's recorded ancestors still count
/// ([`live_ancestors`]): one read and one batch read, as [`find_by_hash`].
pub async fn find_counted(
    store: &dyn Store,
    hash: &str,
    now: i64,
) -> Result<Option<(TokenEntry, usize)>, ApiError> {
    let Some(item) = store.get(&token_key(hash)).await? else {
        return Ok(None);
    };
    let Some(entry) = live(&item, now)? else {
        return Ok(None);
    };
    Ok(live_ancestors(store, &entry, now)
        .await?
        .map(|counted| (entry, counted)))
}

/// The live entry of a presented batch token ([`open_batch`]) whose ancestors still
/// authenticate ([`ancestors_live`]; no read for an orphan); `None` otherwise.
pub async fn find_batch(
    store: &dyn Store,
    key: &crypto::SealingKey,
    token: &SecretString,
    now: i64,
) -> Result<Option<TokenEntry>, ApiError> {
    let Some(entry) = open_batch(key, token, now) else {
        return Ok(None);
    };
    Ok(ancestors_live(store, &entry, now).await?.then_some(entry))
}

/// Whether every ancestor of `entry` still authenticates (exists, not expired, no
/// revocation started): one batch read, none for an orphan. Vault revokes a token's
/// children with it; Sigil refuses them from the moment the ancestor's revocation
/// starts and revokes them in the revocation's steps ([`crate::revocation`]). The walk
/// stops at an ancestor revoked by `revoke-orphan` ([`A_ORPHANED`]): what is above it
/// no longer counts.
pub async fn ancestors_live(
    store: &dyn Store,
    entry: &TokenEntry,
    now: i64,
) -> Result<bool, ApiError> {
    Ok(live_ancestors(store, entry, now).await?.is_some())
}

/// How many of `entry`'s recorded ancestors still count (those below the first one
/// revoked by `revoke-orphan`), if all of those authenticate; `None` when one does
/// not. One batch read, none for an orphan.
pub async fn live_ancestors(
    store: &dyn Store,
    entry: &TokenEntry,
    now: i64,
) -> Result<Option<usize>, ApiError> {
    if entry.ancestors.is_empty() {
        return Ok(Some(0));
    }
    let keys: Vec<Key> = entry.ancestors.iter().map(|h| token_key(h)).collect();
    let items = store.get_many(&keys).await?;
    if entry.batch {
        // A batch token is never rewritten by a reroot: as in Vault, it lives while its
        // parent does (a parent revoked by revoke-orphan included), and its parent's
        // chain is the parent's as stored now. When that is still the recorded one
        // (no revoke-orphan above since), the batch read above has it all.
        let Some(parent) = items.first().and_then(Option::as_ref) else {
            return Ok(None);
        };
        if parent.flag(A_ORPHANED).unwrap_or(false) {
            return Ok(None);
        }
        let Some(parent) = live(parent, now)? else {
            return Ok(None);
        };
        if parent.ancestors.as_slice() != &entry.ancestors[1..] {
            return Box::pin(live_ancestors(store, &parent, now))
                .await
                .map(|n| n.map(|n| n + 1));
        }
    }
    for (n, item) in items.into_iter().enumerate() {
        let Some(item) = item else {
            return Ok(None);
        };
        if item.flag(A_ORPHANED).unwrap_or(false) {
            return Ok(Some(n));
        }
        if live(&item, now)?.is_none() {
            return Ok(None);
        }
    }
    Ok(Some(entry.ancestors.len()))
}

/// The entry of a token item if the token may still be used: not expired, and no
/// revocation started.
fn live(item: &crate::store::Item, now: i64) -> Result<Option<TokenEntry>, ApiError> {
    if item.contains_key(A_REVOKED) {
        return Ok(None);
    }
    let entry = TokenEntry::try_from(item)?;
    Ok((entry.expire_at > now).then_some(entry))
}

/// The condition a write filed under a token holds it to (a lease's reference): the
/// token exists and no revocation of it has started.
pub fn unrevoked_cond() -> Cond {
    Cond::And(vec![Cond::Exists, Cond::AttrAbsent(A_REVOKED)])
}

/// The token a lease `caller` asks for is filed under (revoked with it): the caller;
/// for a batch token, which is stored nowhere, its parent (`None` for an orphan: the
/// lease then ends by its own TTL, which [`lease_cap`] bounds). Vault ties a batch
/// token's leases to its parent the same way.
pub fn lease_owner(caller: &TokenEntry) -> Option<String> {
    if caller.batch {
        caller.ancestors.first().cloned()
    } else {
        Some(caller.hash.clone())
    }
}

/// The latest a lease asked for by `caller` may expire (Unix seconds): a batch token's
/// expiry (Vault: a batch token's leases are constrained to its remaining TTL);
/// unbounded otherwise (a service token's leases are revoked with it).
pub fn lease_cap(caller: &TokenEntry) -> i64 {
    if caller.batch {
        caller.expire_at
    } else {
        i64::MAX
    }
}

/// Vault's answer when a token's last use asks for a leased secret
/// (`request_handling.go`).
pub const LAST_USE_LEASED: &str = "Secret cannot be returned; token had one use left, so leased credentials were immediately revoked.";

/// The error for a lease that could not be filed under `caller` ([`unrevoked_cond`]
/// failed): on the token's last use, Vault's 400 [`LAST_USE_LEASED`] (the request
/// itself may run, its leases may not outlive it); otherwise the token was revoked
/// meanwhile: 403.
pub fn lease_refused(caller: &TokenEntry) -> ApiError {
    if caller.num_uses == REVOCATION_PENDING {
        ApiError::bad(LAST_USE_LEASED)
    } else {
        ApiError::PermissionDenied
    }
}

/// The write that starts revoking a token ([`crate::revocation`] puts it in one
/// transaction with the revocation's job): from then on the token authenticates
/// nothing, a lease being issued under it cannot be filed (its transaction checks
/// [`unrevoked_cond`]), so listing the token's leases afterwards finds every one; and
/// the token leaves the expiry index (its job, not its expiry, finishes it).
/// `cond`: what the token item must satisfy.
pub fn revoking_write(hash: &str, now: i64, cond: Cond) -> Write {
    let mut updates = vec![Update::Set(A_REVOKED, Value::N(now))];
    updates.extend([schema::EXP_BUCKET, schema::EXP_AT, schema::TTL].map(Update::Remove));
    Write::Update {
        key: token_key(hash),
        updates,
        cond: Some(cond),
    }
}

/// The accessor of a token item (revoked or not), to delete with it.
pub fn accessor_of(item: &crate::store::Item) -> Option<String> {
    item.get(A_ACCESSOR)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Looks up a live entry by accessor (two reads).
pub async fn find_by_accessor(
    store: &dyn Store,
    accessor: &str,
    now: i64,
) -> Result<Option<TokenEntry>, ApiError> {
    if accessor.is_empty() || accessor.len() > 128 {
        return Ok(None);
    }
    let Some(item) = store.get(&accessor_key(accessor)).await? else {
        return Ok(None);
    };
    find_by_hash(store, item.s(A_TOKEN_HASH)?, now).await
}

/// The live entry of `token` (one read, nothing written): 403 `permission denied` for a
/// missing, unknown, expired or revoked token. The caller authorizes and audits the
/// request, then consumes a use ([`crate::revocation::consume_use`]) before doing
/// anything.
pub async fn lookup(
    store: &dyn Store,
    token: Option<&SecretString>,
    now: i64,
) -> Result<TokenEntry, ApiError> {
    let token = token.ok_or(ApiError::PermissionDenied)?;
    find(store, token, now)
        .await?
        .ok_or(ApiError::PermissionDenied)
}

/// [`lookup`], reading `others` in the same round trip (one `get_many`): the router
/// reads the mount table's generation and the items the route prefetches (a child
/// token costs one more batch read: its ancestors, [`ancestors_live`]). Returns the
/// entry and `others`' items, in order.
pub async fn lookup_with(
    store: &dyn Store,
    token: Option<&SecretString>,
    others: &[Key],
    now: i64,
) -> Result<(TokenEntry, Vec<Option<crate::store::Item>>), ApiError> {
    let hash = token
        .and_then(hash_presented)
        .ok_or(ApiError::PermissionDenied)?;
    let mut keys = Vec::with_capacity(others.len() + 1);
    keys.push(token_key(&hash));
    keys.extend_from_slice(others);
    let mut got = store.get_many(&keys).await?.into_iter();
    let item = got.next().flatten();
    let entry =
        live(&item.ok_or(ApiError::PermissionDenied)?, now)?.ok_or(ApiError::PermissionDenied)?;
    if !ancestors_live(store, &entry, now).await? {
        return Err(ApiError::PermissionDenied);
    }
    Ok((entry, got.collect()))
}

/// Spends one use of a token with two or more left (one conditional update, so
/// concurrent requests cannot overspend it). [`StoreError::ConditionFailed`] when it
/// has fewer (the caller re-reads it: its last use starts its revocation,
/// [`crate::revocation::consume_use`]).
pub async fn use_one(store: &dyn Store, hash: &str) -> Result<(), StoreError> {
    store
        .write(Write::Update {
            key: token_key(hash),
            updates: vec![Update::Add(A_USES, -1)],
            cond: Some(Cond::And(vec![
                Cond::Ge(A_USES, 2),
                Cond::AttrAbsent(A_REVOKED),
            ])),
        })
        .await
}

pub use crate::ttl::Renewal;

/// Renews by Vault's rule: the new TTL counts from now and is the increment (or, when
/// 0, the creation TTL; for periodic tokens the period), capped by what remains until
/// the max TTL. One conditional write: fails with Vault's 400 `token not found` if the
/// token was revoked or expired meanwhile (its last use, for one: its revocation
/// starts before the renewal runs), and 400 `lease is not renewable` for a token
/// created with `renewable=false`.
pub async fn renew(
    store: &dyn Store,
    entry: &TokenEntry,
    increment: i64,
    now: i64,
) -> Result<Renewal, ApiError> {
    if !entry.renewable {
        return Err(ApiError::bad("lease is not renewable"));
    }
    let mut period_warning = None;
    let wanted = if entry.period > 0 {
        if entry.explicit_max_ttl > 0 && entry.period > entry.explicit_max_ttl {
            period_warning = Some(format!(
                "period of {:?} exceeded the effective max_ttl of {:?}; period value is capped accordingly",
                crate::ttl::human(entry.period),
                crate::ttl::human(entry.explicit_max_ttl)
            ));
            entry.explicit_max_ttl
        } else {
            entry.period
        }
    } else if increment > 0 {
        increment
    } else {
        entry.creation_ttl
    };
    let Renewal { ttl, mut warnings } = crate::ttl::capped(wanted, now, entry.max_expire_at);
    warnings.splice(0..0, period_warning);
    let key = token_key(&entry.hash);
    let mut updates = vec![
        Update::Set(A_EXPIRE, Value::N(now + ttl)),
        Update::Set(A_LAST_RENEWAL, Value::N(now)),
    ];
    updates.extend(schema::expiry_attrs(&key.pk, now + ttl).map(|(k, v)| Update::Set(k, v)));
    store
        .write(Write::Update {
            key,
            updates,
            cond: Some(Cond::And(vec![
                Cond::Exists,
                Cond::AttrAbsent(A_REVOKED),
                Cond::Ge(A_EXPIRE, now + 1),
            ])),
        })
        .await
        .map_err(|e| {
            if e.is_condition() {
                ApiError::bad("token not found")
            } else {
                e.into()
            }
        })?;
    Ok(Renewal { ttl, warnings })
}

/// Revokes a token: deletes its entry, its accessor, every item in its partition
/// (lease and child references), its reference under its parent and its entry in its
/// auth mount's index. Idempotent.
pub async fn revoke(store: &dyn Store, entry: &TokenEntry) -> Result<(), ApiError> {
    let item = Item::from(entry);
    revoke_hash(store, &entry.hash, Some(&item)).await
}

/// Revokes by hash: deletes every item in the token's partition and, from its entry
/// `item` when there is one, its accessor, its reference under its parent and its
/// index entry.
pub async fn revoke_hash(
    store: &dyn Store,
    hash: &str,
    item: Option<&Item>,
) -> Result<(), ApiError> {
    let mut keys: Vec<Key> = query_all(store, Query::partition(format!("token/{hash}")))
        .await?
        .iter()
        .map(ItemExt::key)
        .collect();
    if let Some(item) = item {
        keys.extend(accessor_of(item).map(|a| accessor_key(&a)));
        keys.extend(parent_of(item).map(|p| child_key(&p, hash)));
        let path = item.get(A_PATH).and_then(Value::as_str).unwrap_or_default();
        let mount = auth_mount_of(path).unwrap_or_else(|| TOKEN_MOUNT.to_owned());
        keys.push(Key::new(mount_index_partition(&mount, hash), hash));
    }
    // The entry last: a failure part-way leaves a token that can be revoked again.
    let entry = token_key(hash);
    keys.sort_by_key(|k| *k == entry);
    crate::store::delete_keys(store, &keys).await?;
    Ok(())
}

/// The parent's hash of a token item (revoked or not); `None` for an orphan.
pub fn parent_of(item: &crate::store::Item) -> Option<String> {
    item.strings(A_ANCESTORS).ok()?.into_iter().next()
}

/// The `auth` block of a login or renewal response.
pub fn auth_json(entry: &TokenEntry, token: Option<&SecretString>, lease_duration: i64) -> Json {
    json!({
        "client_token": token.map(|t| t.expose_secret().to_owned()).unwrap_or_default(),
        "accessor": entry.accessor,
        "policies": entry.policies,
        "token_policies": entry.policies,
        "identity_policies": null,
        // Vault answers `null` for a token without metadata.
        "metadata": if entry.meta.is_empty() { Json::Null } else { json!(entry.meta) },
        "lease_duration": lease_duration,
        "renewable": is_renewable(entry),
        "entity_id": entry.entity_id,
        "token_type": token_type(entry),
        "orphan": entry.ancestors.is_empty(),
        "mfa_requirement": null,
        "num_uses": entry.num_uses,
    })
}

/// Vault's name of the token's type: `service` or `batch`.
pub fn token_type(entry: &TokenEntry) -> &'static str {
    if entry.batch { "batch" } else { "service" }
}

/// Whether renewing can extend the token.
pub fn is_renewable(entry: &TokenEntry) -> bool {
    entry.renewable && (!entry.policies.iter().any(|p| p == ROOT_POLICY) || entry.max_expire_at > 0)
}

/// The `data` of a token lookup (`id` only for lookup-self, where the caller holds it).
pub fn lookup_json(entry: &TokenEntry, id: Option<&SecretString>, now: i64) -> Json {
    let mut out = json!({
        "accessor": entry.accessor,
        "creation_time": entry.issued_at,
        "creation_ttl": entry.creation_ttl,
        "display_name": entry.display_name,
        "entity_id": entry.entity_id,
        "expire_time": rfc3339(entry.expire_at),
        "explicit_max_ttl": entry.explicit_max_ttl,
        "id": id.map(|t| t.expose_secret().to_owned()).unwrap_or_default(),
        "issue_time": rfc3339(entry.issued_at),
        "meta": if entry.meta.is_empty() { Json::Null } else { json!(entry.meta) },
        "num_uses": entry.num_uses,
        "orphan": entry.ancestors.is_empty(),
        "path": entry.path,
        "period": if entry.period > 0 { json!(entry.period) } else { Json::Null },
        "policies": entry.policies,
        "renewable": is_renewable(entry),
        "ttl": (entry.expire_at - now).max(0),
        "type": token_type(entry),
    });
    // Vault shows the token role a token was created through, when there is one.
    if !entry.role.is_empty()
        && let Json::Object(m) = &mut out
    {
        m.insert("role".into(), json!(entry.role));
    }
    // Vault shows when a token was last renewed, once it was.
    if entry.last_renewal > 0
        && let Json::Object(m) = &mut out
    {
        m.insert("last_renewal".into(), json!(rfc3339(entry.last_renewal)));
        m.insert("last_renewal_time".into(), json!(entry.last_renewal));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    const LIMITS: Limits = Limits {
        default_ttl: 3600,
        max_ttl: 7200,
        batch: None,
    };

    async fn stored(store: &MemoryStore, params: &TokenParams, now: i64) -> Minted {
        let m = mint(params, LIMITS, now).unwrap();
        store.transact(m.writes()).await.unwrap();
        m
    }

    /// A TTL over the max is capped with Vault's warning (OpenBao's `CalculateTTL`).
    #[test]
    fn a_ttl_over_the_max_is_capped_with_a_warning() {
        let m = mint(
            &TokenParams {
                ttl: 100_000 * 3600,
                ..TokenParams::default()
            },
            LIMITS,
            0,
        )
        .unwrap();
        assert_eq!(m.entry.expire_at, LIMITS.max_ttl);
        assert_eq!(
            m.warnings,
            [
                "TTL of \"100000h\" exceeded the effective max_ttl of \"2h\"; TTL value is capped accordingly"
            ]
        );
        assert!(
            mint(&TokenParams::default(), LIMITS, 0)
                .unwrap()
                .warnings
                .is_empty()
        );
    }

    /// A batch token round-trips through its seal; minting one stores nothing; a
    /// record with `root` never opens (Vault: batch tokens cannot be root tokens).
    #[test]
    fn a_batch_token_is_its_own_record() {
        let key = std::sync::Arc::new(crypto::SealingKey::new(&[9u8; 32]).unwrap());
        let limits = Limits {
            batch: Some(BatchMint {
                key: key.clone(),
                mount_accessor: "approle_1234abcd".into(),
            }),
            ..LIMITS
        };
        let params = TokenParams {
            policies: vec!["reader".into()],
            path: "auth/approle/login".into(),
            batch: true,
            ..TokenParams::default()
        };
        let m = mint(&params, limits.clone(), 10).unwrap();
        assert!(m.writes().is_empty());
        let opened = open_batch(&key, &m.token, 11).unwrap();
        assert_eq!(opened, m.entry);
        assert!(mint(&params, LIMITS, 10).is_err(), "no key: no batch token");
        let root = TokenParams {
            policies: vec![ROOT_POLICY.into()],
            ..params.clone()
        };
        assert_eq!(
            mint(&root, limits, 10).unwrap_err().to_string(),
            "batch tokens cannot be root tokens"
        );
        let mut record = batch_record(&m.entry);
        record.policies = vec![ROOT_POLICY.into()];
        let forged = crate::batch_token::seal(&key, &record).unwrap();
        assert!(open_batch(&key, &forged, 11).is_none());
    }

    #[test]
    fn a_login_token_is_indexed_under_its_auth_mount() {
        let params = |path: &str| TokenParams {
            path: path.to_owned(),
            ..TokenParams::default()
        };
        let m = mint(&params("auth/ci/login"), LIMITS, 0).unwrap();
        let index: Vec<Key> = m
            .writes()
            .iter()
            .map(Write::key)
            .filter(|k| k.pk.starts_with("mount-tokens/"))
            .collect();
        assert_eq!(index.len(), 1, "{index:?}");
        assert_eq!(index[0].sk, m.entry.hash);
        assert_eq!(
            index[0].pk,
            format!("mount-tokens/auth/ci/#{}", &m.entry.hash[..1]),
            "sharded by the hash's first hex digit"
        );
        assert!(
            mount_index_partitions("auth/ci/").any(|p| p == index[0].pk),
            "cleanup walks that shard"
        );
        // The token store's tokens too (a revoke-prefix of `auth/token/` finds them),
        // and the bootstrap token (so `LIST auth/token/accessors` lists it).
        for path in ["auth/token/create", "sigil/admin/bootstrap-token"] {
            let m = mint(&params(path), LIMITS, 0).unwrap();
            let index: Vec<Key> = m
                .writes()
                .iter()
                .map(Write::key)
                .filter(|k| k.pk.starts_with("mount-tokens/"))
                .collect();
            assert_eq!(index.len(), 1, "{path}");
            assert!(
                index[0].pk.starts_with("mount-tokens/auth/token/#"),
                "{path}"
            );
        }
    }

    #[test]
    fn ttl_rules() {
        let m = mint(&TokenParams::default(), LIMITS, 1000).unwrap();
        assert_eq!((m.entry.expire_at, m.entry.max_expire_at), (4600, 8200));
        assert_eq!(m.entry.policies, vec!["default"]);
        let p = TokenParams {
            ttl: 99_999,
            max_ttl: 99_999,
            ..Default::default()
        };
        let m = mint(&p, LIMITS, 0).unwrap();
        assert_eq!(
            (m.entry.expire_at, m.entry.max_expire_at),
            (7200, 7200),
            "capped by system max"
        );
        let p = TokenParams {
            period: 60,
            explicit_max_ttl: 0,
            no_default_policy: true,
            ..Default::default()
        };
        let m = mint(&p, LIMITS, 0).unwrap();
        assert_eq!((m.entry.expire_at, m.entry.max_expire_at), (60, 0));
        assert!(m.entry.policies.is_empty());
        assert!(m.token.expose_secret().starts_with("sgl."));
        assert_eq!(m.token.expose_secret().len(), 4 + 43);
        assert!(!format!("{m:?}").contains(m.token.expose_secret()));
    }

    #[tokio::test]
    async fn period_is_capped_and_huge_increments_do_not_overflow() {
        let store = MemoryStore::new();
        let p = TokenParams {
            period: 10 * LIMITS.max_ttl,
            ..Default::default()
        };
        let m = stored(&store, &p, 0).await;
        assert_eq!(
            (m.entry.period, m.entry.expire_at),
            (LIMITS.max_ttl, LIMITS.max_ttl)
        );
        assert_eq!(m.warnings.len(), 1);
        let r = renew(&store, &m.entry, i64::MAX, 1).await.unwrap();
        assert_eq!(
            r.ttl, LIMITS.max_ttl,
            "a periodic token renews to its period"
        );
        let plain = stored(&store, &TokenParams::default(), 0).await;
        let r = renew(&store, &plain.entry, i64::MAX, 1).await.unwrap();
        assert_eq!(r.ttl, LIMITS.max_ttl - 1, "capped by max TTL, no overflow");
    }

    #[tokio::test]
    async fn renew_is_capped_by_max_ttl() {
        let store = MemoryStore::new();
        let p = TokenParams {
            ttl: 100,
            max_ttl: 300,
            ..Default::default()
        };
        let m = stored(&store, &p, 0).await;
        let r = renew(&store, &m.entry, 1000, 50).await.unwrap();
        assert_eq!(r.ttl, 250);
        assert_eq!(r.warnings.len(), 1);
        let e = find(&store, &m.token, 50).await.unwrap().unwrap();
        assert_eq!(e.expire_at, 300);
        let r = renew(&store, &e, 0, 60).await.unwrap();
        assert_eq!(
            (r.ttl, r.warnings.len()),
            (100, 0),
            "increment 0 renews by the creation TTL"
        );
        assert!(
            find(&store, &m.token, 300).await.unwrap().is_none(),
            "expired at max"
        );
    }

    #[tokio::test]
    async fn revoke_and_unknown_tokens_are_denied() {
        let store = MemoryStore::new();
        let m = stored(&store, &TokenParams::default(), 0).await;
        assert_eq!(
            find_by_accessor(&store, &m.entry.accessor, 1)
                .await
                .unwrap()
                .unwrap()
                .hash,
            m.entry.hash
        );
        revoke(&store, &m.entry).await.unwrap();
        assert_eq!(
            lookup(&store, Some(&m.token), 1).await,
            Err(ApiError::PermissionDenied)
        );
        assert_eq!(
            lookup(&store, None, 1).await,
            Err(ApiError::PermissionDenied)
        );
        let bogus = SecretString::from("hvs.nope".to_owned());
        let calls = store.calls();
        assert_eq!(
            lookup(&store, Some(&bogus), 1).await,
            Err(ApiError::PermissionDenied)
        );
        assert_eq!(store.calls(), calls, "a non-Sigil token costs no read");
        assert!(store.dump().is_empty(), "{:?}", store.dump());
    }
}
