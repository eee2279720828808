//! Transit under concurrency: manual rotations (admin function) and encryptions (issue
//! function) racing the sweepers' automatic rotations of a key whose
//! `auto_rotate_period` falls due during the schedule ([`sigil::transit::auto_rotate`]).
//!
//! Checks, after the schedule and the recovery sweeps (faults off):
//! - `transit-rotation-acks`: two acknowledged manual rotations never report the same
//!   version, and the key is at least at the newest reported one;
//! - `transit-early-rotation`: a version made less than a period after the one before
//!   it is a manual rotation's: there are no more such versions than manual rotations
//!   attempted (a second sweeper, or a retried one, rotating a key already rotated for
//!   this period breaks it);
//! - `transit-overdue`: after a sweep without faults the key is not due;
//! - `transit-ciphertext`: every acknowledged ciphertext still decrypts to its
//!   plaintext, and the key holds every version from 1 to its newest.

use std::sync::Arc;

use serde_json::json;
use sigil::clock::Clock;
use sigil::route::Function;

use crate::invariants::Violation;
use crate::ops::Shared;
use crate::world::{World, request};

/// The transit mount's path.
pub const MOUNT: &str = "transit";
/// The key the operations use.
pub const KEY: &str = "k";
/// Its `auto_rotate_period`, seconds (the shortest Vault allows).
pub const PERIOD: i64 = 3600;
/// Seconds after the schedule starts at which the key is first due: inside the clock
/// jumps of a schedule's rounds.
pub const FIRST_DUE: i64 = 60;

/// What the transit operations were told.
#[derive(Debug, Default)]
pub struct Log {
    /// Manual rotations started (whatever became of them).
    pub rotations_attempted: u64,
    /// The `latest_version` each acknowledged manual rotation reported.
    pub rotations_acked: Vec<i64>,
    /// Acknowledged encryptions: (ciphertext, base64 plaintext).
    pub ciphertexts: Vec<(String, String)>,
}

/// Creates the mount and the key, dated so that it is due [`FIRST_DUE`] seconds after
/// `now` (written through the engine's storage, as a key created an hour ago).
pub async fn setup(world: &World, root: &str) {
    let r = world
        .call(
            Function::Admin,
            request(
                "POST",
                &format!("/v1/sys/mounts/{MOUNT}"),
                Some(root),
                Some(json!({"type": "transit"})),
            ),
        )
        .await;
    assert!(r.status < 300, "setup transit mount: {r:?}");
    let app = world.app(Function::Admin);
    let table = app
        .mounts
        .reload(app.store.as_ref(), world.clock.now())
        .await
        .expect("mount table")
        .0;
    let entry = table
        .get(sigil::mounts::Table::Secrets, &format!("{MOUNT}/"))
        .expect("the transit mount")
        .clone();
    let keys = sigil::transit::Keys {
        store: app.store.as_ref(),
        keyring: &app.keyring,
        cache: &app.transit,
        storage: &entry.storage,
    };
    let opts = sigil::transit::policy::CreateOptions::check(
        "aes256-gcm96",
        false,
        false,
        false,
        false,
        PERIOD,
        0,
    )
    .expect("options");
    let created = world.clock.now() - PERIOD + FIRST_DUE;
    keys.create(KEY, &opts, created).await.expect("setup key");
}

/// Builds a transit operation: a manual rotation (1 in 3) or an encryption.
pub fn build(
    rng: &mut fastrand::Rng,
    world: &Arc<World>,
    model: &Shared,
    token: String,
) -> crate::ops::Op {
    let w = world.clone();
    let m = model.clone();
    if rng.u32(0..3) == 0 {
        return (
            "transit rotate".to_owned(),
            Box::pin(async move {
                m.borrow_mut().transit.rotations_attempted += 1;
                let r = w
                    .call(
                        Function::Admin,
                        request(
                            "POST",
                            &format!("/v1/{MOUNT}/keys/{KEY}/rotate"),
                            Some(&token),
                            None,
                        ),
                    )
                    .await;
                if r.status == 200
                    && let Some(v) = r
                        .body
                        .as_ref()
                        .and_then(|b| b["data"]["latest_version"].as_i64())
                {
                    m.borrow_mut().transit.rotations_acked.push(v);
                }
            }),
        );
    }
    let plain = b64(&rng.u64(..).to_be_bytes());
    (
        "transit encrypt".to_owned(),
        Box::pin(async move {
            let r = w
                .call(
                    Function::Issue,
                    request(
                        "POST",
                        &format!("/v1/{MOUNT}/encrypt/{KEY}"),
                        Some(&token),
                        Some(json!({"plaintext": plain})),
                    ),
                )
                .await;
            if r.status == 200
                && let Some(ct) = r
                    .body
                    .as_ref()
                    .and_then(|b| b["data"]["ciphertext"].as_str())
            {
                m.borrow_mut()
                    .transit
                    .ciphertexts
                    .push((ct.to_owned(), plain));
            }
        }),
    )
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

/// The key's versions and their creation times (Unix seconds), as a read shows them.
async fn versions(world: &World, token: &str) -> Vec<(i64, i64)> {
    let r = world
        .call(
            Function::Admin,
            request("GET", &format!("/v1/{MOUNT}/keys/{KEY}"), Some(token), None),
        )
        .await;
    let mut out: Vec<(i64, i64)> = r
        .body
        .as_ref()
        .and_then(|b| b["data"]["keys"].as_object())
        .map(|keys| {
            keys.iter()
                .filter_map(|(v, t)| Some((v.parse().ok()?, t.as_i64()?)))
                .collect()
        })
        .unwrap_or_default();
    out.sort_unstable();
    out
}

/// The checks (after the recovery sweeps, faults off), with a token minted now (the
/// schedule's tokens have expired by then).
pub async fn check(world: &World, log: &Log) -> Vec<Violation> {
    let admin = world.app(Function::Admin);
    let minted = sigil::bootstrap::admin_token(
        admin.store.as_ref(),
        admin.limits(),
        3600,
        world.clock.now(),
    )
    .await
    .expect("a token for the checks");
    let token = secrecy::ExposeSecret::expose_secret(&minted.token).to_owned();
    let token = token.as_str();
    let mut out = Vec::new();
    let versions = versions(world, token).await;
    let latest = versions.last().map_or(0, |(v, _)| *v);
    let mut acked = log.rotations_acked.clone();
    acked.sort_unstable();
    if acked.windows(2).any(|w| w[0] == w[1]) {
        out.push(violation(
            "transit-rotation-acks",
            format!("two rotations reported the same version: {acked:?}"),
        ));
    }
    if acked.last().is_some_and(|v| *v > latest) {
        out.push(violation(
            "transit-rotation-acks",
            format!("a rotation reported version {acked:?}, the key is at {latest}"),
        ));
    }
    if versions.iter().map(|(v, _)| *v).ne(1..=latest) {
        out.push(violation(
            "transit-ciphertext",
            format!("versions {versions:?} are not 1 to {latest}"),
        ));
    }
    let early = versions
        .windows(2)
        .filter(|w| w[1].1 - w[0].1 < PERIOD)
        .count() as u64;
    if early > log.rotations_attempted {
        out.push(violation(
            "transit-early-rotation",
            format!(
                "{early} versions came less than a period after the one before, {} manual rotations were attempted: {versions:?}",
                log.rotations_attempted
            ),
        ));
    }
    if let Some((_, created)) = versions.last()
        && created + PERIOD <= world.clock.now()
    {
        out.push(violation(
            "transit-overdue",
            format!(
                "newest version from {created}, now {}: due after a sweep",
                world.clock.now()
            ),
        ));
    }
    for (ct, plain) in &log.ciphertexts {
        let r = world
            .call(
                Function::Issue,
                request(
                    "POST",
                    &format!("/v1/{MOUNT}/decrypt/{KEY}"),
                    Some(token),
                    Some(json!({"ciphertext": ct})),
                ),
            )
            .await;
        let got = r
            .body
            .as_ref()
            .and_then(|b| b["data"]["plaintext"].as_str());
        if r.status != 200 || got != Some(plain.as_str()) {
            out.push(violation(
                "transit-ciphertext",
                format!("{ct} no longer decrypts: {}", r.status),
            ));
        }
    }
    out
}
