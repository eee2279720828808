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
    world
        .memory
        .dump()
        .iter()
        .filter(|i| i.key().pk.starts_with("lease/"))
        .filter_map(|i| Lease::try_from(i).ok())
        .collect()
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

/// Right after a schedule (faults off, no time passed): a token whose revocation was
/// acknowledged authorizes nothing.
pub async fn revoked_tokens_refused(world: &World, model: &Model) -> Vec<Violation> {
    let mut out = Vec::new();
    for &k in &model.revoked_tokens {
        let r = world
            .call(
                Function::Issue,
                request(
                    "GET",
                    "/v1/auth/token/lookup-self",
                    Some(&world.tokens[k]),
                    None,
                ),
            )
            .await;
        if r.status != 403 {
            out.push(violation(
                "revoked-token-refused",
                format!(
                    "token {k}: revoke acknowledged, lookup-self answers {}",
                    r.status
                ),
            ));
        }
    }
    out
}

/// After one sweep that follows the schedule (faults off, no time passed): no lease of
/// a token whose revocation was acknowledged is still pending or active unless its
/// revocation was tried and failed (then it is rescheduled for the sweeper, with
/// backoff; the recovery checks it is revoked in the end).
pub fn no_lease_outlives_its_token(world: &World, model: &Model) -> Vec<Violation> {
    let revoked: BTreeSet<String> = model
        .revoked_tokens
        .iter()
        .filter_map(|&k| sigil::token::hash_presented(&SecretString::from(world.tokens[k].clone())))
        .collect();
    leases(world)
        .into_iter()
        .filter(|l| l.state != LeaseState::Irrevocable && l.attempts == 0)
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
        if model.revoked_leases.contains(&l.id) && l.state != LeaseState::Irrevocable {
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
