//! Token trees: tokens created by tokens (`auth/token/create`), credentials issued
//! with them, and revocations anywhere in the tree, racing everything else.
//!
//! The model records each created token with its parent (as the client saw it
//! answered). The checks: a token with an ancestor whose revocation was acknowledged
//! authorizes nothing (`descendant-refused`), and its leases go with the ancestor
//! (`lease-outlives-token`, through [`crate::invariants::revoked_hashes`]).

use std::sync::Arc;

use serde_json::json;
use sigil::route::Function;

use crate::invariants::Violation;
use crate::ops::Shared;
use crate::world::{World, request};

/// What a tree operation does.
#[derive(Clone, Debug)]
enum Action {
    /// A token creates a child.
    Create { parent: String },
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
    let action = match rng.u32(0..10) {
        0..=4 => Action::Create { parent: any(rng) },
        5..=7 if !nodes.is_empty() => Action::Issue {
            token: nodes[rng.usize(0..nodes.len())].clone(),
        },
        _ if !nodes.is_empty() => Action::Revoke {
            token: nodes[rng.usize(0..nodes.len())].clone(),
        },
        _ => Action::Create { parent: any(rng) },
    };
    let name = match &action {
        Action::Create { parent } => format!("tree create(by {})", world.token_name(parent)),
        Action::Issue { .. } => "tree issue".to_owned(),
        Action::Revoke { .. } => "tree revoke".to_owned(),
    };
    let w = world.clone();
    let m = model.clone();
    (
        name,
        Box::pin(async move {
            match action {
                Action::Create { parent } => {
                    let r = w
                        .call(
                            Function::Login,
                            request(
                                "POST",
                                "/v1/auth/token/create",
                                Some(&parent),
                                Some(json!({"ttl": "20m"})),
                            ),
                        )
                        .await;
                    if r.status == 200
                        && let Some(t) = r
                            .body
                            .as_ref()
                            .and_then(|b| b["auth"]["client_token"].as_str())
                    {
                        m.borrow_mut().tree.push((t.to_owned(), parent));
                    }
                }
                Action::Issue { token } => {
                    crate::ops::issue(&w, &m, &token).await;
                }
                Action::Revoke { token } => {
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

/// The tree tokens with an ancestor whose revocation was acknowledged.
pub fn revoked_descendants(model: &crate::ops::Model) -> Vec<String> {
    let parent_of = |t: &str| {
        model
            .tree
            .iter()
            .find(|(c, _)| c == t)
            .map(|(_, p)| p.clone())
    };
    model
        .tree
        .iter()
        .filter(|(t, _)| {
            let mut cur = parent_of(t);
            let mut depth = 0;
            while let Some(p) = cur {
                if model.revoked_tokens.contains(&p) {
                    return true;
                }
                depth += 1;
                if depth > 64 {
                    break;
                }
                cur = parent_of(&p);
            }
            false
        })
        .map(|(t, _)| t.clone())
        .collect()
}

/// Right after the schedule: every tree token with an acknowledged-revoked ancestor
/// answers 403.
pub async fn check(world: &World, model: &crate::ops::Model) -> Vec<Violation> {
    let mut out = Vec::new();
    for t in revoked_descendants(model) {
        let r = world
            .call(
                Function::Issue,
                request("GET", "/v1/auth/token/lookup-self", Some(&t), None),
            )
            .await;
        if r.status != 403 {
            out.push(Violation {
                invariant: "descendant-refused",
                detail: format!(
                    "a token whose ancestor's revoke was acknowledged answers lookup-self {}",
                    r.status
                ),
            });
        }
    }
    out
}
