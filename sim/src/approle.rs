//! AppRole operations and their checks: logins (each followed by every use of its
//! use-limited token: a credential issue, then the last use), secret IDs generated and
//! destroyed, the role deleted and written again (with the same role ID), racing one
//! another and everything else.
//!
//! Every operation records when it began and ended on the model's event clock (a drop
//! guard records the end of a killed one), and what Sigil answered; the checks allow
//! whatever order the overlaps permit.

use std::sync::Arc;

use serde_json::json;
use sigil::route::Function;

use crate::invariants::Violation;
use crate::ops::Shared;
use crate::world::{APPROLE, ROLE_ID, World, approle_settings, request};

/// Logins each secret ID allows (`secret_id_num_uses`).
pub const SECRET_ID_USES: i64 = 2;
/// Uses each login's token allows (`token_num_uses`).
pub const TOKEN_USES: i64 = 2;

/// A time span on the model's event clock.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    /// When the operation began.
    pub began: u64,
    /// When it ended (answered or died); `u64::MAX` while running.
    pub ended: u64,
}

/// A secret ID Sigil handed out.
#[derive(Clone, Debug)]
pub struct Secret {
    /// As presented.
    pub secret_id: String,
    /// The generate that made it (setup's: `0..0`).
    pub made: Span,
}

/// What the AppRole operations did and were told.
#[derive(Debug, Default)]
pub struct Log {
    /// Secret IDs handed out.
    pub secrets: Vec<Secret>,
    /// Successful logins: (secret index, span).
    pub logins: Vec<(usize, Span)>,
    /// Acknowledged secret ID destroys: (secret index, span).
    pub destroys: Vec<(usize, Span)>,
    /// Acknowledged role deletes.
    pub deletes: Vec<Span>,
    /// Role writes, acknowledged or not (one that died may have applied).
    pub writes: Vec<Span>,
    /// Tokens the logins got (each use-limited).
    pub tokens: Vec<String>,
    /// For each login's token, the requests that were served with it (a 200, or
    /// Vault's last-use 400): each spent a use.
    pub served: Vec<(String, i64)>,
}

/// What an AppRole operation does.
#[derive(Clone, Copy, Debug)]
enum Action {
    /// Log in with a secret ID, then spend the token's uses on `aws/creds`.
    Login(usize),
    /// Generate a secret ID.
    Generate,
    /// Destroy a secret ID.
    Destroy(usize),
    /// Delete the role.
    Delete,
    /// Write the role (create it again after a delete).
    Write,
}

/// Records the end of an operation's span when dropped (finished or killed).
struct End<F: FnMut(&mut Log, u64)> {
    model: Shared,
    record: F,
}

impl<F: FnMut(&mut Log, u64)> Drop for End<F> {
    fn drop(&mut self) {
        let mut m = self.model.borrow_mut();
        let t = m.tick();
        (self.record)(&mut m.approle, t);
    }
}

/// Builds an AppRole operation.
pub fn build(rng: &mut fastrand::Rng, world: &Arc<World>, model: &Shared) -> crate::ops::Op {
    let secrets = model.borrow().approle.secrets.len();
    let action = match rng.u32(0..10) {
        0..=4 if secrets > 0 => Action::Login(rng.usize(0..secrets)),
        5 | 6 => Action::Generate,
        7 if secrets > 0 => Action::Destroy(rng.usize(0..secrets)),
        8 => Action::Delete,
        _ => Action::Write,
    };
    let w = world.clone();
    let m = model.clone();
    let name = format!("approle {action:?}");
    (
        name,
        Box::pin(async move {
            let began = m.borrow_mut().tick();
            match action {
                Action::Login(i) => login(&w, &m, i, began).await,
                Action::Generate => generate(&w, &m, began).await,
                Action::Destroy(i) => destroy(&w, &m, i, began).await,
                Action::Delete => delete(&w, &m, began).await,
                Action::Write => write(&w, &m, began).await,
            }
        }),
    )
}

async fn login(w: &World, m: &Shared, i: usize, began: u64) {
    let secret_id = m.borrow().approle.secrets[i].secret_id.clone();
    let r = w
        .call(
            Function::Login,
            request(
                "POST",
                "/v1/auth/approle/login",
                None,
                Some(json!({"role_id": ROLE_ID, "secret_id": secret_id})),
            ),
        )
        .await;
    if r.status != 200 {
        return;
    }
    {
        let mut mm = m.borrow_mut();
        let ended = mm.tick();
        mm.approle.logins.push((i, Span { began, ended }));
    }
    let token = r
        .body
        .as_ref()
        .and_then(|b| b["auth"]["client_token"].as_str())
        .unwrap_or_default()
        .to_owned();
    let index = {
        let mut mm = m.borrow_mut();
        mm.approle.tokens.push(token.clone());
        mm.approle.served.push((token.clone(), 0));
        mm.approle.served.len() - 1
    };
    // One request more than the token's uses: it must be refused.
    for _ in 0..=TOKEN_USES {
        let r = crate::ops::issue(w, m, &token).await;
        let last_use = r
            .body
            .as_ref()
            .is_some_and(|b| b["errors"][0] == sigil::token::LAST_USE_LEASED);
        let mut mm = m.borrow_mut();
        if r.status == 200 || (r.status == 400 && last_use) {
            mm.approle.served[index].1 += 1;
        }
        if r.status == 400 && last_use {
            // Vault's answer to a leased secret on the last use: the token is revoked.
            mm.revoked_tokens.insert(token.clone());
        }
    }
}

async fn generate(w: &World, m: &Shared, began: u64) {
    let r = w
        .call(
            Function::Admin,
            request(
                "POST",
                &format!("/v1/auth/approle/role/{APPROLE}/secret-id"),
                Some(&w.root),
                None,
            ),
        )
        .await;
    if r.status == 200 {
        let secret_id = r
            .body
            .as_ref()
            .and_then(|b| b["data"]["secret_id"].as_str())
            .unwrap_or_default()
            .to_owned();
        let mut mm = m.borrow_mut();
        let ended = mm.tick();
        mm.approle.secrets.push(Secret {
            secret_id,
            made: Span { began, ended },
        });
    }
}

async fn destroy(w: &World, m: &Shared, i: usize, began: u64) {
    let secret_id = m.borrow().approle.secrets[i].secret_id.clone();
    let r = w
        .call(
            Function::Admin,
            request(
                "POST",
                &format!("/v1/auth/approle/role/{APPROLE}/secret-id/destroy"),
                Some(&w.root),
                Some(json!({ "secret_id": secret_id })),
            ),
        )
        .await;
    if r.status < 300 {
        let mut mm = m.borrow_mut();
        let ended = mm.tick();
        mm.approle.destroys.push((i, Span { began, ended }));
    }
}

async fn delete(w: &World, m: &Shared, began: u64) {
    let r = w
        .call(
            Function::Admin,
            request(
                "DELETE",
                &format!("/v1/auth/approle/role/{APPROLE}"),
                Some(&w.root),
                None,
            ),
        )
        .await;
    if r.status < 300 {
        let mut mm = m.borrow_mut();
        let ended = mm.tick();
        mm.approle.deletes.push(Span { began, ended });
    }
}

async fn write(w: &World, m: &Shared, began: u64) {
    let index = {
        let mut mm = m.borrow_mut();
        mm.approle.writes.push(Span {
            began,
            ended: u64::MAX,
        });
        mm.approle.writes.len() - 1
    };
    let _end = End {
        model: m.clone(),
        record: move |log: &mut Log, t| log.writes[index].ended = t,
    };
    w.call(
        Function::Admin,
        request(
            "POST",
            &format!("/v1/auth/approle/role/{APPROLE}"),
            Some(&w.root),
            Some(approle_settings()),
        ),
    )
    .await;
}

fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

/// After the schedule: no token served more requests than its `num_uses`, no secret ID
/// logged in more often than its `num_uses`, none
/// after its destroy was acknowledged or after its role's delete was (unless the role
/// was written again before the secret ID was made: then it is the new role's). (The
/// tokens' uses are checked by `lease-outlives-token`: a token whose uses are spent is
/// revoked, with its leases, [`crate::invariants::revoked_hashes`].)
pub fn check(log: &Log) -> Vec<Violation> {
    let mut out = Vec::new();
    for (k, (_, served)) in log.served.iter().enumerate() {
        if *served > TOKEN_USES {
            out.push(violation(
                "token-uses-bounded",
                format!("login {k}'s token served {served} requests, num_uses {TOKEN_USES}"),
            ));
        }
    }
    for (i, s) in log.secrets.iter().enumerate() {
        let logins: Vec<&Span> = log
            .logins
            .iter()
            .filter(|(j, _)| *j == i)
            .map(|(_, sp)| sp)
            .collect();
        if logins.len() as i64 > SECRET_ID_USES {
            out.push(violation(
                "secret-id-uses-bounded",
                format!(
                    "secret ID {i}: {} logins, num_uses {SECRET_ID_USES}",
                    logins.len()
                ),
            ));
        }
        for l in &logins {
            if let Some((_, d)) = log
                .destroys
                .iter()
                .find(|(j, d)| *j == i && d.ended < l.began)
            {
                out.push(violation(
                    "destroyed-secret-id-refused",
                    format!(
                        "secret ID {i}: login at {} after its destroy answered at {}",
                        l.began, d.ended
                    ),
                ));
            }
            // A delete that ended before the login began and did not end before the
            // secret ID's generate began took it, unless a role write that may have
            // created the role again overlapped or followed the delete before the
            // generate ended.
            for d in &log.deletes {
                let took_it = d.ended < l.began && s.made.began < d.ended;
                let recreated = log
                    .writes
                    .iter()
                    .any(|wr| wr.ended > d.began && wr.began < s.made.ended);
                if took_it && !recreated {
                    out.push(violation(
                        "deleted-role-secret-id-refused",
                        format!(
                            "secret ID {i} (made {}..{}): login at {} after the role's \
                             delete ({}..{})",
                            s.made.began, s.made.ended, l.began, d.began, d.ended
                        ),
                    ));
                }
            }
        }
    }
    out
}
