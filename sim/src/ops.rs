//! The operations a schedule runs concurrently, and the model of what was acknowledged.
//!
//! Each operation's parameters are drawn when it is spawned (from the schedule's seed),
//! so a seed fixes them too. An operation records in the [`Model`] only what Sigil
//! acknowledged (a 2xx answer): the invariants hold Sigil to those answers.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::json;
use sigil::clock::Clock;
use sigil::route::Function;

use crate::world::{ROLE, World, request};

/// A credential handed out (AWS or database).
#[derive(Clone, Debug)]
pub struct Issued {
    /// Its lease ID.
    pub lease_id: String,
    /// The token that got it.
    pub token: String,
    /// The [`Model::tick`] at which its issue answered.
    pub answered: u64,
}

/// What Sigil acknowledged during a schedule.
#[derive(Debug, Default)]
pub struct Model {
    /// Credentials handed out.
    pub leases: Vec<Issued>,
    /// Tokens whose revocation was acknowledged (revoke-self answered, or the last use
    /// of a use-limited token answered).
    pub revoked_tokens: BTreeSet<String>,
    /// Tokens a revoke-self was sent for, acknowledged or not (it may have applied
    /// without an answer).
    pub revoke_attempts: BTreeSet<String>,
    /// Leases whose revocation was acknowledged as done (204).
    pub revoked_leases: BTreeSet<String>,
    /// Leases whose revocation was accepted (202): done by the sweeper.
    pub accepted_leases: BTreeSet<String>,
    /// The [`Model::tick`] at which each revoke-prefix answered 204 began: every lease
    /// whose issue answered before is revoked.
    pub prefix_revokes: Vec<u64>,
    /// KV operations, acknowledged or not.
    pub kv: Vec<crate::kv::KvOp>,
    /// AppRole operations and what they were told ([`crate::approle`]).
    pub approle: crate::approle::Log,
    /// Tokens created by tokens, with the token that created each ([`crate::tree`]).
    pub tree: Vec<(String, String)>,
    /// Tree tokens revoked by an acknowledged `revoke-orphan` (also in
    /// `revoked_tokens`): their descendants live on ([`crate::tree`]).
    pub orphaned: BTreeSet<String>,
    /// Transit rotations and encryptions ([`crate::transit`]).
    pub transit: crate::transit::Log,
    /// What the database operations saw ([`crate::database`]); their credentials'
    /// leases are in `leases`.
    pub database: crate::database::Log,
    /// Tree tokens whose `revoke-orphan` got no definite answer (a 5xx, or the request
    /// was killed): it may have been done, or not, so neither their descendants'
    /// refusal nor their own survival can be asserted ([`crate::tree`]).
    pub unsure_orphans: BTreeSet<String>,
    /// Batch tokens among the tree tokens, with the sim time (Unix seconds) they were
    /// created at; service tree tokens' creation times too.
    pub born: std::collections::BTreeMap<String, (i64, bool)>,
    clock: u64,
}

impl Model {
    /// The next event number (operations' starts and answers, in the order the
    /// executor ran them).
    pub fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

/// The model, shared by the operations of one schedule (one thread).
pub type Shared = Rc<RefCell<Model>>;

/// One kind of operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `GET aws/creds/:role` (issue function).
    Issue,
    /// `PUT sys/leases/renew`.
    Renew,
    /// `PUT sys/leases/revoke`.
    RevokeLease,
    /// `PUT sys/leases/revoke-prefix/aws/creds/:role`.
    RevokePrefix,
    /// `POST auth/token/revoke-self`.
    RevokeToken,
    /// One sweeper run.
    Sweep,
    /// The clock jumps forward.
    Clock,
    /// A KV write, patch, delete, undelete, destroy or metadata write ([`crate::kv`]).
    Kv,
    /// An AppRole login and the uses of its token, a secret ID generated or destroyed,
    /// the role deleted or written ([`crate::approle`]).
    AppRole,
    /// A token creates a child, a child issues a credential or revokes itself
    /// ([`crate::tree`]).
    Tree,
    /// A transit key rotated by hand, or data encrypted ([`crate::transit`]); the
    /// sweepers rotate the key on its period.
    Transit,
    /// Database credentials issued, static credentials read, the static role or the
    /// root password rotated ([`crate::database`]).
    Database,
}

impl Kind {
    /// Seconds its function may run (infra/template.yaml: 15 s for the API functions,
    /// 240 s for the sweeper).
    pub fn timeout(self) -> i64 {
        match self {
            Kind::Sweep => 240,
            _ => 15,
        }
    }

    /// Every kind, with its weight in a schedule.
    pub const WEIGHTED: [(Kind, u32); 12] = [
        (Kind::Issue, 6),
        (Kind::Renew, 2),
        (Kind::RevokeLease, 2),
        (Kind::RevokePrefix, 1),
        (Kind::RevokeToken, 2),
        (Kind::Sweep, 3),
        (Kind::Clock, 2),
        (Kind::Kv, 8),
        (Kind::AppRole, 6),
        (Kind::Tree, 5),
        (Kind::Transit, 3),
        (Kind::Database, 4),
    ];
}

/// `GET aws/creds/:role` with `token`; a credential handed out (200) is recorded.
/// Returns the answer.
pub async fn issue(w: &World, m: &Shared, token: &str) -> sigil::http::ApiResponse {
    let r = w
        .call(
            Function::Issue,
            request("GET", &format!("/v1/aws/creds/{ROLE}"), Some(token), None),
        )
        .await;
    if r.status == 200 {
        let id = r
            .body
            .as_ref()
            .and_then(|b| b["lease_id"].as_str())
            .unwrap_or_default()
            .to_owned();
        let mut m = m.borrow_mut();
        let answered = m.tick();
        m.leases.push(Issued {
            lease_id: id,
            token: token.to_owned(),
            answered,
        });
    }
    r
}

/// Picks a kind by weight.
pub fn pick_kind(rng: &mut fastrand::Rng) -> Kind {
    let total: u32 = Kind::WEIGHTED.iter().map(|(_, w)| w).sum();
    let mut n = rng.u32(0..total);
    for (k, w) in Kind::WEIGHTED {
        if n < w {
            return k;
        }
        n -= w;
    }
    Kind::Issue
}

/// An operation ready to run: its name (for the trace) and its future.
pub type Op = (
    String,
    std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
);

/// Builds one operation of `kind` with parameters drawn from `rng`.
pub fn build(kind: Kind, rng: &mut fastrand::Rng, world: &Arc<World>, model: &Shared) -> Op {
    let w = world.clone();
    let m = model.clone();
    let k = rng.usize(0..world.tokens.len());
    let token = world.tokens[k].clone();
    let lease = {
        let leases = &model.borrow().leases;
        (!leases.is_empty()).then(|| leases[rng.usize(0..leases.len())].lease_id.clone())
    };
    match kind {
        Kind::Issue => (
            format!("issue(token {k})"),
            Box::pin(async move {
                issue(&w, &m, &token).await;
            }),
        ),
        Kind::Renew => (
            format!("renew({lease:?})"),
            Box::pin(async move {
                if let Some(id) = lease {
                    w.call(
                        Function::Renew,
                        request(
                            "PUT",
                            "/v1/sys/leases/renew",
                            Some(&token),
                            Some(json!({"lease_id": id})),
                        ),
                    )
                    .await;
                }
            }),
        ),
        Kind::RevokeLease => (
            format!("revoke-lease({lease:?})"),
            Box::pin(async move {
                if let Some(id) = lease {
                    let r = w
                        .call(
                            Function::Revoke,
                            request(
                                "PUT",
                                "/v1/sys/leases/revoke",
                                Some(&token),
                                Some(json!({"lease_id": id})),
                            ),
                        )
                        .await;
                    match r.status {
                        204 => {
                            m.borrow_mut().revoked_leases.insert(id);
                        }
                        202 => {
                            m.borrow_mut().accepted_leases.insert(id);
                        }
                        _ => {}
                    }
                }
            }),
        ),
        Kind::RevokePrefix => (
            "revoke-prefix".to_owned(),
            Box::pin(async move {
                let began = m.borrow_mut().tick();
                let r = w
                    .call(
                        Function::Revoke,
                        request(
                            "PUT",
                            &format!("/v1/sys/leases/revoke-prefix/aws/creds/{ROLE}"),
                            Some(&token),
                            None,
                        ),
                    )
                    .await;
                if r.status == 204 {
                    m.borrow_mut().prefix_revokes.push(began);
                }
            }),
        ),
        Kind::RevokeToken => (
            format!("revoke-token({k})"),
            Box::pin(async move {
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
            }),
        ),
        Kind::Sweep => (
            "sweep".to_owned(),
            Box::pin(async move {
                let app = w.app(Function::Sweeper);
                let _ =
                    sigil::sweeper::sweep(app.store.as_ref(), &app.revokers, w.clock.now()).await;
            }),
        ),
        Kind::Kv => crate::kv::build(rng, world, model, token),
        Kind::AppRole => crate::approle::build(rng, world, model),
        Kind::Tree => crate::tree::build(rng, world, model),
        Kind::Transit => crate::transit::build(rng, world, model, token),
        Kind::Database => crate::database::build(rng, world, model, token),
        Kind::Clock => {
            let secs = rng.i64(1..=150);
            (
                format!("clock(+{secs}s)"),
                Box::pin(async move {
                    w.clock.advance(secs);
                }),
            )
        }
    }
}
