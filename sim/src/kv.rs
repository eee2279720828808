//! KV operations and their checks: writes (with and without check-and-set), patches,
//! soft-deletes, undeletes, destroys and metadata writes on a few secrets, racing, and
//! what Sigil acknowledged of them.
//!
//! Every operation records when it began and when it ended (answered, or died: a drop
//! guard records the end of a killed operation too) on the model's event clock. The
//! checks then allow any order the overlaps permit, and nothing else.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value as Json, json};
use sigil::route::Function;

use crate::invariants::Violation;
use crate::ops::Shared;
use crate::world::{World, request};

/// Secrets the operations touch.
pub const PATHS: [&str; 2] = ["s0", "s1"];

/// What a KV operation does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `POST data/:path` of `{"w": value}`, with `cas` when given.
    Write {
        /// The value written (unique per operation).
        value: u64,
        /// Check-and-set on this version.
        cas: Option<i64>,
    },
    /// `PATCH data/:path` merging `{"p": value}` into the newest version.
    Patch {
        /// The value merged (unique per operation).
        value: u64,
    },
    /// `POST delete/:path` of one version.
    Delete(i64),
    /// `POST undelete/:path` of one version.
    Undelete(i64),
    /// `POST destroy/:path` of one version.
    Destroy(i64),
    /// `POST metadata/:path` setting `max_versions`.
    Metadata(i64),
    /// `GET data/:path` of the newest version (the issue function, whose hint of the
    /// newest version may be stale: [`sigil::kv::LatestVersions`]); `acked` is the
    /// version it answered (0: no secret).
    ReadNewest,
}

/// One KV operation of a schedule.
#[derive(Clone, Debug)]
pub struct KvOp {
    /// The secret.
    pub path: &'static str,
    /// What it did.
    pub action: Action,
    /// Event tick when it began.
    pub began: u64,
    /// Event tick when it ended (answered or died); `u64::MAX` while running.
    pub ended: u64,
    /// Whether Sigil acknowledged it (2xx), and the version it reported (writes).
    pub acked: Option<i64>,
}

/// Records the end of an operation when it is dropped (finished or killed).
struct EndGuard {
    model: Shared,
    index: usize,
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        let mut m = self.model.borrow_mut();
        let t = m.tick();
        m.kv[self.index].ended = t;
    }
}

/// Builds a KV operation.
pub fn build(
    rng: &mut fastrand::Rng,
    world: &Arc<World>,
    model: &Shared,
    token: String,
) -> crate::ops::Op {
    let path = PATHS[rng.usize(0..PATHS.len())];
    let value = rng.u64(..);
    let version = rng.i64(1..=6);
    let action = match rng.u32(0..16) {
        12..=15 => Action::ReadNewest,
        0..=3 => Action::Write { value, cas: None },
        4 => Action::Write {
            value,
            cas: Some(rng.i64(0..=5)),
        },
        5 | 6 => Action::Patch { value },
        7 => Action::Delete(version),
        8 => Action::Undelete(version),
        9 => Action::Destroy(version),
        _ => Action::Metadata(rng.i64(2..=6)),
    };
    let name = format!("kv {path} {action:?}");
    let w = world.clone();
    let m = model.clone();
    (
        name,
        Box::pin(async move {
            let index = {
                let mut mm = m.borrow_mut();
                let began = mm.tick();
                mm.kv.push(KvOp {
                    path,
                    action: action.clone(),
                    began,
                    ended: u64::MAX,
                    acked: None,
                });
                mm.kv.len() - 1
            };
            let _guard = EndGuard {
                model: m.clone(),
                index,
            };
            let (method, url, body) = match &action {
                Action::Write { value, cas } => (
                    "POST",
                    format!("/v1/secret/data/{path}"),
                    match cas {
                        Some(c) => json!({"data": {"w": value}, "options": {"cas": c}}),
                        None => json!({"data": {"w": value}}),
                    },
                ),
                Action::Patch { value } => (
                    "PATCH",
                    format!("/v1/secret/data/{path}"),
                    json!({"data": {"p": value}}),
                ),
                Action::Delete(v) => (
                    "POST",
                    format!("/v1/secret/delete/{path}"),
                    json!({"versions": [v]}),
                ),
                Action::Undelete(v) => (
                    "POST",
                    format!("/v1/secret/undelete/{path}"),
                    json!({"versions": [v]}),
                ),
                Action::Destroy(v) => (
                    "POST",
                    format!("/v1/secret/destroy/{path}"),
                    json!({"versions": [v]}),
                ),
                Action::Metadata(max) => (
                    "POST",
                    format!("/v1/secret/metadata/{path}"),
                    json!({"max_versions": max}),
                ),
                Action::ReadNewest => ("GET", format!("/v1/secret/data/{path}"), Json::Null),
            };
            if action == Action::ReadNewest {
                let url = format!("/v1/secret/data/{path}");
                let r = w
                    .call(Function::Issue, request("GET", &url, Some(&token), None))
                    .await;
                // 200, or 404 with the newest version's metadata (deleted or
                // destroyed), or 404 without (no secret).
                let version = r
                    .body
                    .as_ref()
                    .and_then(|b| b["data"]["metadata"]["version"].as_i64());
                let answered = match (r.status, version) {
                    (200, Some(v)) | (404, Some(v)) => Some(v),
                    (404, None) => Some(0),
                    _ => None,
                };
                m.borrow_mut().kv[index].acked = answered;
                return;
            }
            let r = w
                .call(
                    Function::Admin,
                    request(method, &url, Some(&token), Some(body)),
                )
                .await;
            if r.status < 300 {
                let version = r
                    .body
                    .as_ref()
                    .and_then(|b| b["data"]["version"].as_i64())
                    .unwrap_or(0);
                m.borrow_mut().kv[index].acked = Some(version);
            }
        }),
    )
}

/// A secret's state at the end, as Sigil serves it.
struct Served {
    /// `max_versions` of the metadata.
    max_versions: i64,
    /// Per kept version: (deleted, destroyed) from the metadata.
    versions: BTreeMap<i64, (bool, bool)>,
}

fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

/// After the schedule (faults off): every secret's versions read consistently with its
/// metadata (never a 500), acknowledged writes read back, acknowledged deletes and
/// destroys hold unless an undelete may have come after, and acknowledged metadata
/// settings are never silently lost.
pub async fn check(world: &World, ops: &[KvOp], token: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    for path in PATHS {
        let ops: Vec<&KvOp> = ops.iter().filter(|o| o.path == path).collect();
        let r = world
            .call(
                Function::Issue,
                request(
                    "GET",
                    &format!("/v1/secret/metadata/{path}"),
                    Some(token),
                    None,
                ),
            )
            .await;
        if r.status == 404 {
            let creates = |o: &&&KvOp| {
                o.acked.is_some()
                    && matches!(
                        o.action,
                        Action::Write { .. } | Action::Patch { .. } | Action::Metadata(_)
                    )
            };
            if let Some(o) = ops.iter().find(creates) {
                out.push(violation(
                    "kv-acknowledged-write-readable",
                    format!("{path}: no metadata, yet {:?} was acknowledged", o.action),
                ));
            }
            continue;
        }
        if r.status != 200 {
            out.push(violation(
                "kv-read-consistent",
                format!("{path}: metadata read answered {}", r.status),
            ));
            continue;
        }
        let body = r.body.unwrap_or(Json::Null);
        let data = &body["data"];
        let mut served = Served {
            max_versions: data["max_versions"].as_i64().unwrap_or(-1),
            versions: BTreeMap::new(),
        };
        if let Some(vs) = data["versions"].as_object() {
            for (v, s) in vs {
                let deleted = s["deletion_time"].as_str().is_some_and(|t| !t.is_empty());
                let destroyed = s["destroyed"].as_bool().unwrap_or(false);
                if let Ok(v) = v.parse() {
                    served.versions.insert(v, (deleted, destroyed));
                }
            }
        }
        // Reads agree with the metadata; acknowledged writes read back.
        for (&v, &(deleted, destroyed)) in &served.versions {
            let r = world
                .call(
                    Function::Issue,
                    request(
                        "GET",
                        &format!("/v1/secret/data/{path}?version={v}"),
                        Some(token),
                        None,
                    ),
                )
                .await;
            let live = !deleted && !destroyed;
            let expected = if live { 200 } else { 404 };
            if r.status != expected {
                out.push(violation(
                    "kv-read-consistent",
                    format!(
                        "{path} v{v}: metadata says deleted={deleted} destroyed={destroyed}, read answered {}",
                        r.status
                    ),
                ));
                continue;
            }
            if !live {
                continue;
            }
            let got = r
                .body
                .as_ref()
                .map(|b| b["data"]["data"].clone())
                .unwrap_or(Json::Null);
            for o in ops.iter().filter(|o| o.acked == Some(v)) {
                let ok = match o.action {
                    Action::Write { value, .. } => got == json!({ "w": value }),
                    Action::Patch { value } => got["p"] == json!(value),
                    _ => true,
                };
                if !ok {
                    out.push(violation(
                        "kv-acknowledged-write-readable",
                        format!("{path} v{v}: acknowledged {:?}, read {got}", o.action),
                    ));
                }
            }
        }
        // A version existed when an operation began if a write that made it had
        // answered before (an operation on a version not yet written is a no-op).
        let existed = |v: i64, at: u64| {
            ops.iter().any(|w| {
                matches!(w.action, Action::Write { .. } | Action::Patch { .. })
                    && w.acked == Some(v)
                    && w.ended < at
            })
        };
        for o in ops.iter().filter(|o| o.acked.is_some()) {
            match o.action {
                Action::Delete(v) | Action::Destroy(v) if !existed(v, o.began) => {}
                Action::Delete(v) => {
                    let undone = ops
                        .iter()
                        .any(|u| u.action == Action::Undelete(v) && u.ended > o.began);
                    if served.versions.get(&v) == Some(&(false, false)) && !undone {
                        out.push(violation(
                            "kv-deleted-not-served",
                            format!("{path} v{v}: delete acknowledged, no undelete after it, version live"),
                        ));
                    }
                }
                Action::Destroy(v) if served.versions.get(&v).is_some_and(|s| !s.1) => {
                    out.push(violation(
                        "kv-deleted-not-served",
                        format!("{path} v{v}: destroy acknowledged, version not destroyed"),
                    ));
                }
                Action::Metadata(max) => {
                    let explained = served.max_versions == max
                        || ops.iter().any(|x| {
                            x.action == Action::Metadata(served.max_versions) && x.ended > o.began
                        });
                    if !explained {
                        out.push(violation(
                            "kv-metadata-kept",
                            format!(
                                "{path}: max_versions {max} acknowledged, {} served and no later write set it",
                                served.max_versions
                            ),
                        ));
                    }
                }
                _ => {}
            }
        }
        out.extend(newest_reads(path, &ops));
    }
    out
}

/// Reads of the newest version are linearizable: a read answers no version older
/// than one whose write was acknowledged before the read began (a stale hint of the
/// newest version must not show), and no version whose acknowledged write began after
/// the read ended.
fn newest_reads(path: &str, ops: &[&KvOp]) -> Vec<Violation> {
    let writes = || {
        ops.iter()
            .filter(|w| matches!(w.action, Action::Write { .. } | Action::Patch { .. }))
    };
    let mut out = Vec::new();
    for r in ops.iter().filter(|o| o.action == Action::ReadNewest) {
        let Some(answered) = r.acked else { continue };
        if let Some(w) = writes().find(|w| w.ended < r.began && w.acked > Some(answered)) {
            out.push(violation(
                "kv-read-newest",
                format!(
                    "{path}: read answered v{answered}, yet v{} was acknowledged before it began",
                    w.acked.unwrap_or(0)
                ),
            ));
        }
        if let Some(w) = writes().find(|w| w.acked == Some(answered) && w.began > r.ended) {
            out.push(violation(
                "kv-read-newest",
                format!(
                    "{path}: read answered v{answered}, written only after it ended ({:?})",
                    w.action
                ),
            ));
        }
    }
    out
}
