//! The invariants checked after every schedule (docs/security.md, "Simulation").

use std::collections::BTreeSet;

use secrecy::SecretString;
use sigil::clock::Clock;
use sigil::lease::{Lease, LeaseState};
use sigil::route::Function;
use sigil::store::ItemExt;

use crate::ops::Model;
use crate::world::{World, request};

/// A broken invariant: its name (stable, for the pending list and the regression seeds)
/// and what was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which invariant.
    pub invariant: &'static str,
    /// What broke it.
    pub detail: String,
}

fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

/// Every lease record in the store.
pub fn leases(world: &World) -> Vec<Lease> {
    records(world).into_iter().map(|r| r.lease).collect()
}

/// A lease record and what its item says beyond the [`Lease`].
struct Record {
    lease: Lease,
    /// Its revocation was requested while it was pending: it can never be handed out,
    /// and the sweeper revokes it after the grace.
    requested: bool,
    /// A revocation holds its claim now.
    claimed: bool,
}

fn records(world: &World) -> Vec<Record> {
    let now = world.clock.now();
    world
        .memory
        .dump()
        .iter()
        .filter(|i| i.key().pk.starts_with("lease/"))
        .filter_map(|i| {
            Lease::try_from(i).ok().map(|lease| Record {
                lease,
                requested: sigil::lease::revoke_requested(i),
                claimed: sigil::lease::claim_held(i, now),
            })
        })
        .collect()
}

/// Right after a schedule (faults off, no sweep, no time passed): a lease whose
/// revocation was answered 204 is gone, and so is every lease handed out before a
/// revoke-prefix that answered 204 began.
pub fn acknowledged_revokes_hold(world: &World, model: &Model) -> Vec<Violation> {
    let present: BTreeSet<String> = leases(world).into_iter().map(|l| l.id).collect();
    let mut out = Vec::new();
    for id in &model.revoked_leases {
        if present.contains(id) {
            out.push(violation(
                "acknowledged-revoke-holds",
                format!("lease {id}: revoke answered 204, the lease is still there"),
            ));
        }
    }
    for &began in &model.prefix_revokes {
        // The prefix is the AWS role's: database leases are not under it.
        let under = format!("aws/creds/{}/", crate::world::ROLE);
        for i in model
            .leases
            .iter()
            .filter(|i| i.answered < began && i.lease_id.starts_with(&under))
        {
            if present.contains(&i.lease_id) {
                out.push(violation(
                    "acknowledged-revoke-holds",
                    format!(
                        "lease {}: issued before a revoke-prefix that answered 204, still there",
                        i.lease_id
                    ),
                ));
            }
        }
    }
    out
}

/// The lease IDs the irrevocable listing holds.
fn listed_irrevocable(world: &World) -> BTreeSet<String> {
    world
        .memory
        .dump()
        .iter()
        .map(ItemExt::key)
        .filter(|k| k.pk == sigil::lease::IRREVOCABLE_PK)
        .map(|k| k.sk)
        .collect()
}

/// The status `auth/token/lookup-self` answers `token`.
async fn lookup_self(world: &World, token: &str) -> u16 {
    world
        .call(
            Function::Issue,
            request("GET", "/v1/auth/token/lookup-self", Some(token), None),
        )
        .await
        .status
}

/// Right after a schedule (faults off, no time passed): a token whose revocation was
/// acknowledged authorizes nothing.
pub async fn revoked_tokens_refused(world: &World, model: &Model) -> Vec<Violation> {
    let mut out = Vec::new();
    for token in &model.revoked_tokens {
        let status = lookup_self(world, token).await;
        if status != 403 {
            out.push(violation(
                "revoked-token-refused",
                format!(
                    "token {}: revoke acknowledged, lookup-self answers {status}",
                    world.token_name(token)
                ),
            ));
        }
    }
    out
}

/// After the recovery (the clock past every token's TTL): no token authorizes a
/// request: the setup tokens, the checks' own, every AppRole login's and every created
/// token have expired.
pub async fn expired_tokens_refused(world: &World, model: &Model) -> Vec<Violation> {
    let mut out = Vec::new();
    let all = world
        .tokens
        .iter()
        .chain(std::iter::once(&world.root))
        .chain(&model.approle.tokens)
        .chain(model.tree.iter().map(|(t, _)| t));
    for token in all {
        let status = lookup_self(world, token).await;
        if status != 403 {
            out.push(violation(
                "expired-token-refused",
                format!(
                    "token {}: expired, lookup-self answers {status}",
                    world.token_name(token)
                ),
            ));
        }
    }
    out
}

/// The hashes of the tokens whose revocation was acknowledged (and of their
/// descendants, [`crate::tree`]), and of the AppRole
/// tokens whose revocation started (item marked or gone: their last use was spent,
/// whatever the client was told), read right after the schedule.
pub fn revoked_hashes(world: &World, model: &Model) -> BTreeSet<String> {
    let hash = |t: &String| sigil::token::hash_presented(&SecretString::from(t.clone()));
    let mut out: BTreeSet<String> = model.revoked_tokens.iter().filter_map(hash).collect();
    // A revoked token's descendants are revoked with it.
    out.extend(
        crate::tree::revoked_descendants(model)
            .iter()
            .filter_map(hash),
    );
    for h in model.approle.tokens.iter().filter_map(hash) {
        let item = world
            .memory
            .dump()
            .into_iter()
            .find(|i| i.key() == sigil::token::token_key(&h));
        if item.is_none_or(|i| i.contains_key(sigil::token::A_REVOKED)) {
            out.insert(h);
        }
    }
    out
}

/// After a sweep that follows the schedule (faults off): no lease of a token in
/// `revoked` ([`revoked_hashes`]) is still pending or active, unless its revocation was
/// tried and failed (then it is rescheduled with backoff; the recovery checks it is
/// revoked in the end), or, while `claims` is false, another revocation holds its
/// claim (a revocation that died holds it for `CLAIM_SECS`: the check runs again after
/// that, with `claims` true).
pub fn no_lease_outlives_its_token(
    world: &World,
    revoked: &BTreeSet<String>,
    claims: bool,
) -> Vec<Violation> {
    records(world)
        .into_iter()
        .filter(|r| claims || !r.claimed)
        .filter(|r| match r.lease.state {
            LeaseState::Active => r.lease.attempts == 0,
            LeaseState::Pending => r.lease.attempts == 0 && !r.requested,
            LeaseState::Irrevocable => false,
        })
        .map(|r| r.lease)
        .filter(|l| l.token_hash.as_ref().is_some_and(|h| revoked.contains(h)))
        .map(|l| {
            violation(
                "lease-outlives-token",
                format!(
                    "lease {} ({:?}) of a revoked token after a sweep",
                    l.id, l.state
                ),
            )
        })
        .collect()
}

/// After the recovery (faults off, the clock past every lease's max TTL and the
/// pending grace, sweeps until idle): every IAM user belongs to an irrevocable lease,
/// every lease left is irrevocable and listed, and no acknowledged revocation left a
/// lease behind.
pub fn nothing_outlives_its_lease(world: &World, model: &Model) -> Vec<Violation> {
    let mut out = Vec::new();
    let all = leases(world);
    let now = world.clock.now();
    let listed = listed_irrevocable(world);
    let mut owned = BTreeSet::new();
    for l in &all {
        if let Some(u) = l.data.get(sigil::aws_engine::revoke::DATA_USER_NAME) {
            owned.insert(u.clone());
        }
        match l.state {
            LeaseState::Irrevocable => {
                if !listed.contains(&l.id) {
                    out.push(violation(
                        "irrevocable-listed",
                        format!("irrevocable lease {} is not listed", l.id),
                    ));
                }
            }
            state => out.push(violation(
                "expired-lease-revoked",
                format!(
                    "lease {} is {state:?} {} s after its max TTL ended",
                    l.id,
                    now - l.max_expire_at
                ),
            )),
        }
        if (model.revoked_leases.contains(&l.id) || model.accepted_leases.contains(&l.id))
            && l.state != LeaseState::Irrevocable
        {
            out.push(violation(
                "acknowledged-revoke-holds",
                format!(
                    "lease {} was revoked (acknowledged) and is still {:?}",
                    l.id, l.state
                ),
            ));
        }
    }
    for user in world.iam.users() {
        if !owned.contains(&user) {
            out.push(violation(
                "iam-user-has-lease",
                format!("IAM user {user} has no lease"),
            ));
        }
    }
    out
}

/// Issue 17: concurrent first logins of one identity make one entity. Every alias
/// (mount accessor, name) is stored once, its entity exists, and every token a login
/// minted acts for the entity of its alias (the sim's logins share one role ID: one
/// entity).
pub fn one_entity_per_alias(world: &World) -> Vec<Violation> {
    use sigil::identity::records::{Alias, Entity, Stored, decode, kind};
    let items = world.memory.dump();
    let mut out = Vec::new();
    let entities: BTreeSet<String> = items
        .iter()
        .filter(|i| kind(i) == "entity")
        .filter_map(|i| decode::<Entity>(i).ok())
        .map(|e: Stored<Entity>| e.rec.id)
        .collect();
    let mut seen = BTreeSet::new();
    let mut alias_entities = BTreeSet::new();
    for a in items
        .iter()
        .filter(|i| kind(i) == "alias")
        .filter_map(|i| decode::<Alias>(i).ok())
    {
        let factor = (a.rec.mount_accessor.clone(), a.rec.name.to_lowercase());
        if !seen.insert(factor.clone()) {
            out.push(violation(
                "one-entity-per-alias",
                format!("alias {factor:?} stored twice"),
            ));
        }
        if !entities.contains(&a.rec.canonical_id) {
            out.push(violation(
                "one-entity-per-alias",
                format!("alias {factor:?} of a missing entity"),
            ));
        }
        alias_entities.insert(a.rec.canonical_id);
    }
    let token_entities: BTreeSet<String> = items
        .iter()
        .filter(|i| i.key().pk.starts_with("token/"))
        .filter(|i| i.get("path").and_then(|v| v.as_str()) == Some("auth/approle/login"))
        .map(|i| {
            i.get("entity_id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    if token_entities.len() > 1 || token_entities.iter().any(|e| !alias_entities.contains(e)) {
        out.push(violation(
            "one-entity-per-alias",
            format!(
                "login tokens act for {token_entities:?}, aliases' entities {alias_entities:?}"
            ),
        ));
    }
    out
}
