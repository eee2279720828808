//! Token trees: tokens created by tokens (`auth/token/create`), credentials issued
//! with them, and revocations anywhere in the tree, racing everything else.
//!
//! The model records each created token with its parent (as the client saw it
//! answered). The checks: a token with an ancestor whose revocation was acknowledged
//! authorizes nothing (`descendant-refused`), and its leases go with the ancestor
//! (`lease-outlives-token`, through [`crate::invariants::revoked_hashes`]). An
//! acknowledged `revoke-orphan` cuts the chain: the token's descendants live on
//! (`orphan-survives`) and an ancestor's later revocation does not reach them; a batch
//! child dies with its parent however the parent was revoked. A `revoke-orphan` without
//! a definite answer (a fault after it was done answers 503) asserts nothing below it.

use std::sync::Arc;

use serde_json::json;
use sigil::clock::Clock;
use sigil::route::Function;

use crate::invariants::Violation;
use crate::ops::Shared;
use crate::world::{World, request};

/// What a tree operation does.
#[derive(Clone, Debug)]
enum Action {
    /// A token creates a child (a batch token when `batch`).
    Create { parent: String, batch: bool },
    /// The root token revokes a tree token with `revoke-orphan`.
    Orphan { token: String },
    /// A tree token issues a credential.
    Issue { token: String },
    /// A tree token revokes itself.
    Revoke { token: String },
}

/// Builds a tree operation: a setup token or a tree token creates a child, issues a
/// credential, or revokes itself.
pub fn build(rng: &mut fastrand::Rng, world: &Arc<World>, model: &Shared) -> crate::ops::Op {
    let nodes: Vec<String> = model.borrow().tree.iter().map(|(t, _)| t.clone()).collect();
    let any = |rng: &mut fastrand::Rng| {
        if nodes.is_empty() || rng.bool() {
            world.tokens[rng.usize(0..world.tokens.len())].clone()
        } else {
            nodes[rng.usize(0..nodes.len())].clone()
        }
    };
    let action = match rng.u32(0..12) {
        0..=4 => Action::Create {
            parent: any(rng),
            batch: rng.u32(0..4) == 0,
        },
        // revoke-orphan of a token with children, when there is one: the case where
        // the cut matters.
        10 | 11 if !nodes.is_empty() => {
            let parents: Vec<String> = {
                let m = model.borrow();
                nodes
                    .iter()
                    .filter(|n| m.tree.iter().any(|(_, p)| p == *n))
                    .cloned()
                    .collect()
            };
            let pick = if parents.is_empty() { &nodes } else { &parents };
            Action::Orphan {
                token: pick[rng.usize(0..pick.len())].clone(),
            }
        }
        5..=7 if !nodes.is_empty() => Action::Issue {
            token: nodes[rng.usize(0..nodes.len())].clone(),
        },
        _ if !nodes.is_empty() => Action::Revoke {
            token: nodes[rng.usize(0..nodes.len())].clone(),
        },
        _ => Action::Create {
            parent: any(rng),
            batch: false,
        },
    };
    let name = match &action {
        Action::Create { parent, batch } => format!(
            "tree create{}(by {})",
            if *batch { " batch" } else { "" },
            world.token_name(parent)
        ),
        Action::Orphan { .. } => "tree revoke-orphan".to_owned(),
        Action::Issue { .. } => "tree issue".to_owned(),
        Action::Revoke { .. } => "tree revoke".to_owned(),
    };
    let w = world.clone();
    let m = model.clone();
    (
        name,
        Box::pin(async move {
            match action {
                Action::Create { parent, batch } => {
                    let body = if batch {
                        json!({"ttl": "20m", "type": "batch"})
                    } else {
                        json!({"ttl": "20m"})
                    };
                    let r = w
                        .call(
                            Function::Login,
                            request("POST", "/v1/auth/token/create", Some(&parent), Some(body)),
                        )
                        .await;
                    if r.status == 200
                        && let Some(t) = r
                            .body
                            .as_ref()
                            .and_then(|b| b["auth"]["client_token"].as_str())
                    {
                        let mut m = m.borrow_mut();
                        m.born.insert(t.to_owned(), (w.clock.now(), batch));
                        m.tree.push((t.to_owned(), parent));
                    }
                }
                Action::Orphan { token } => {
                    // Unsure until a definite answer comes (a killed request gets none).
                    m.borrow_mut().unsure_orphans.insert(token.clone());
                    let root = w.root.clone();
                    let r = w
                        .call(
                            Function::Revoke,
                            request(
                                "POST",
                                "/v1/auth/token/revoke-orphan",
                                Some(&root),
                                Some(json!({ "token": token })),
                            ),
                        )
                        .await;
                    if r.status < 500 {
                        m.borrow_mut().unsure_orphans.remove(&token);
                    }
                    if r.status < 300 {
                        let mut m = m.borrow_mut();
                        m.orphaned.insert(token.clone());
                        m.revoked_tokens.insert(token);
                    }
                }
                Action::Issue { token } => {
                    crate::ops::issue(&w, &m, &token).await;
                }
                Action::Revoke { token } => {
                    m.borrow_mut().revoke_attempts.insert(token.clone());
                    let r = w
                        .call(
                            Function::Revoke,
                            request("POST", "/v1/auth/token/revoke-self", Some(&token), None),
                        )
                        .await;
                    if r.status < 300 {
                        m.borrow_mut().revoked_tokens.insert(token);
                    }
                }
            }
        }),
    )
}

/// The token that created tree token `t`, as the model recorded it.
fn parent_in(model: &crate::ops::Model, t: &str) -> Option<String> {
    model
        .tree
        .iter()
        .find(|(c, _)| c == t)
        .map(|(_, p)| p.clone())
}

/// Tree token `t`'s ancestors as the model recorded them, parent first (at most 65: a
/// guard against a cycle the model cannot hold anyway).
fn ancestors_in<'m>(model: &'m crate::ops::Model, t: &str) -> impl Iterator<Item = String> + 'm {
    std::iter::successors(parent_in(model, t), move |p| parent_in(model, p)).take(65)
}

/// The tree tokens with an ancestor whose revocation was acknowledged, below any
/// ancestor revoked by `revoke-orphan` (a batch token's parent excepted: it dies with
/// it).
pub fn revoked_descendants(model: &crate::ops::Model) -> Vec<String> {
    model
        .tree
        .iter()
        .filter(|(t, _)| {
            let batch = model.born.get(t).is_some_and(|(_, b)| *b);
            for (depth, p) in ancestors_in(model, t).enumerate() {
                if model.orphaned.contains(&p) {
                    return batch && depth == 0;
                }
                if model.unsure_orphans.contains(&p) {
                    // Cut or not: nothing to assert below it.
                    return false;
                }
                if model.revoked_tokens.contains(&p) {
                    return true;
                }
            }
            false
        })
        .map(|(t, _)| t.clone())
        .collect()
}

/// The tree tokens with an ancestor revoked by `revoke-orphan` that are not revoked
/// themselves, nor through an ancestor below the cut, nor expired at `now`.
fn orphaned_survivors(model: &crate::ops::Model, now: i64) -> Vec<String> {
    let revoked: std::collections::BTreeSet<String> =
        revoked_descendants(model).into_iter().collect();
    model
        .tree
        .iter()
        .map(|(t, _)| t)
        .filter(|t| {
            !revoked.contains(*t)
                && !model.revoked_tokens.contains(*t)
                && !model.unsure_orphans.contains(*t)
                && model.born.get(*t).is_some_and(|(at, _)| at + 1200 > now)
        })
        .filter(|t| ancestors_in(model, t).any(|p| model.orphaned.contains(&p)))
        // A revoke-self that was not acknowledged (killed, or failed after it applied)
        // may have revoked the token or an ancestor below the cut: no claim on those.
        .filter(|t| {
            std::iter::once((*t).clone())
                .chain(ancestors_in(model, t).take_while(|p| !model.orphaned.contains(p)))
                .all(|p| !model.revoke_attempts.contains(&p))
        })
        .cloned()
        .collect()
}

/// Right after the schedule: every tree token with an acknowledged-revoked ancestor
/// answers 403; every one whose chain an acknowledged `revoke-orphan` cut (and that is
/// otherwise live) answers 200.
pub async fn check(world: &World, model: &crate::ops::Model) -> Vec<Violation> {
    let mut out = lookups_answer(
        world,
        orphaned_survivors(model, world.clock.now()),
        200,
        "orphan-survives",
        "a token whose ancestor was revoked with revoke-orphan",
    )
    .await;
    out.extend(
        lookups_answer(
            world,
            revoked_descendants(model),
            403,
            "descendant-refused",
            "a token whose ancestor's revoke was acknowledged",
        )
        .await,
    );
    out
}

/// A violation of `invariant` for each of `tokens` whose lookup-self does not answer
/// `status`.
async fn lookups_answer(
    world: &World,
    tokens: Vec<String>,
    status: u16,
    invariant: &'static str,
    what: &str,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for t in tokens {
        let r = world
            .call(
                Function::Issue,
                request("GET", "/v1/auth/token/lookup-self", Some(&t), None),
            )
            .await;
        if r.status != status {
            out.push(Violation {
                invariant,
                detail: format!("{what} answers lookup-self {}", r.status),
            });
        }
    }
    out
}
