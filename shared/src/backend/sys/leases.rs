//! `sys/leases/...`: lookup, renew, revoke, revoke-prefix and revoke-force (sudo),
//! listing (rules: [`crate::lease`]).

use serde_json::json;

use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::BodyExt;
use crate::lease;
use crate::mounts::{Table, revoked};
use crate::revocation;

use crate::backend::ctx::Ctx;
use crate::backend::reply::keys_reply;

/// A lease ID prefix as a folder (`aws/creds/deploy` -> `aws/creds/deploy/`).
fn folder(prefix: &str) -> String {
    if prefix.ends_with('/') {
        prefix.to_owned()
    } else {
        format!("{prefix}/")
    }
}

/// The lease ID: in the path (`sys/leases/revoke/:lease_id`, as the CLI sends it),
/// else the body's `lease_id` (or `url_lease_id`).
fn lease_id(c: &Ctx<'_>) -> Result<String, ApiError> {
    let in_path = c.param("lease_id");
    if !in_path.is_empty() {
        return Ok(in_path.to_owned());
    }
    c.body
        .string("lease_id")?
        .or(c.body.string("url_lease_id")?)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad("missing lease_id"))
}

/// A lease that is still served: its record exists and its mount is enabled (a
/// disabled mount's leases are being revoked by the sweeper: unknown from the disable
/// on, as Vault revokes them with the mount).
async fn served(c: &Ctx<'_>) -> Result<Option<lease::Lease>, ApiError> {
    Ok(lease::get(c.store(), &lease_id(c)?)
        .await?
        .filter(|l| c.table.find(&l.path).is_some()))
}

pub(super) async fn lookup(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let l = served(c)
        .await?
        .ok_or_else(|| ApiError::bad("invalid lease"))?;
    Ok(Envelope::data(lease::lookup_json(&l, c.now)).ok())
}

pub(super) async fn renew(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let l = served(c)
        .await?
        .ok_or_else(|| ApiError::bad("lease not found or lease is not renewable"))?;
    let increment = c.body.duration("increment")?.unwrap_or(0);
    // The engine moves the outside expiry first (a database user's VALID UNTIL): a
    // failure there leaves the lease as it was.
    let planned = lease::renewal(&l, increment, c.now)?;
    if let Err(e) = c.svc.revokers.renew(&l, c.now + planned.ttl).await {
        tracing::warn!(error = %e, lease_kind = %l.kind, "the engine's renewal failed");
        return Err(ApiError::Unavailable);
    }
    let r = lease::renew(c.store(), &l, increment, c.now).await?;
    Ok(Envelope {
        lease_id: l.id,
        lease_duration: r.ttl,
        renewable: true,
        warnings: r.warnings,
        ..Envelope::default()
    }
    .ok())
}

/// 204 once the lease is revoked (or unknown: Vault answers so too); 202 Accepted when
/// another revocation holds it (that one, or the sweeper once its claim lapses,
/// finishes it) or when it is a pending lease whose issue may still be running (it can
/// no longer be handed out; the sweeper revokes it after the grace).
pub(super) async fn revoke(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let Some(l) = lease::get(c.store(), &lease_id(c)?).await? else {
        return Ok(Reply::NoContent);
    };
    revoke_one(c, &l, false).await
}

/// Revokes one lease (`force`: deleted even when its engine fails).
async fn revoke_one(c: &Ctx<'_>, l: &lease::Lease, force: bool) -> Result<Reply, ApiError> {
    Ok(
        match c.svc.revokers.revoke(c.store(), l, c.now, force).await? {
            lease::Revocation::Done => Reply::NoContent,
            lease::Revocation::Skipped if lease::get(c.store(), &l.id).await?.is_none() => {
                Reply::NoContent
            }
            lease::Revocation::Skipped | lease::Revocation::Deferred => Reply::Empty(202),
        },
    )
}

/// Most lease IDs one LIST answers when the caller gives no `limit` (about 400 KB of
/// JSON, far below Lambda's 6 MB response limit); past it the answer says so in a
/// warning and the caller pages with `after` and `limit`.
pub const LIST_MAX: usize = 10_000;

pub(super) async fn list(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let prefix = folder(c.param("prefix"));
    // OpenBao's paginated LIST parameters: `after` (a key of the previous page) and
    // `limit` (at most LIST_MAX).
    let after = c.req.query_param("after").filter(|a| !a.is_empty());
    let limit = match c.req.query_param("limit") {
        None | Some("") => None,
        Some(l) => Some(
            l.parse::<usize>()
                .ok()
                .filter(|n| (1..=LIST_MAX).contains(n))
                .ok_or_else(|| ApiError::bad(format!("limit must be between 1 and {LIST_MAX}")))?,
        ),
    };
    let (keys, more) =
        lease::list_children(c.store(), &prefix, after, limit.unwrap_or(LIST_MAX)).await?;
    let mut reply = keys_reply(keys)?;
    if more
        && limit.is_none()
        && let Reply::Envelope(_, env) = &mut reply
    {
        env.warnings.push(format!(
            "only the first {LIST_MAX} leases are listed; page with the after and limit parameters"
        ));
    }
    Ok(reply)
}

pub(super) async fn list_irrevocable(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    if c.req.query_param("type") != Some("irrevocable") {
        return Err(ApiError::bad("only type=irrevocable is supported"));
    }
    let mut leases = Vec::new();
    for id in lease::list_irrevocable(c.store()).await? {
        if let Some(l) = lease::get(c.store(), &id).await? {
            leases.push(json!({ "lease_id": l.id, "error": l.last_error, "attempts": l.attempts }));
        }
    }
    Ok(Envelope::data(json!({ "lease_count": leases.len(), "leases": leases })).ok())
}

pub(super) async fn revoke_prefix(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    revoke_under(c, false).await
}

pub(super) async fn revoke_force(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    revoke_under(c, true).await
}

/// Revoke-prefix of an auth path: the tokens issued under it are refused by every
/// function from the answer on (a record in the mount table, [`revoked`]), then each is
/// revoked by a job walking the auth mount's token index ([`revocation::start_auth`]),
/// here for [`revocation::INLINE_BUDGET`] tokens, the rest by the sweeper, which drops
/// the record once the job is done. `auth/` covers every auth mount. 204 when finished
/// here, 202 otherwise.
async fn revoke_tokens_under(c: &Ctx<'_>, prefix: &str, sync: bool) -> Result<Reply, ApiError> {
    if c.table.generation == 0 {
        // The first change stores the deployment's mount table.
        crate::mounts::store::ensure_stored(
            c.store(),
            &crate::mounts::initial_table(c.svc.config),
            c.now,
        )
        .await?;
    }
    let mounts: Vec<String> = if prefix == "auth/" {
        c.table
            .entries
            .iter()
            .filter(|e| e.table == Table::Auth)
            .map(|e| e.full_path())
            .collect()
    } else {
        vec![prefix.to_owned()]
    };
    // The jobs first, then the record: the sweeper drops a record whose jobs are done,
    // so a record never waits on a job not yet written.
    let mut jobs = Vec::with_capacity(mounts.len());
    for m in &mounts {
        jobs.push(revocation::start_auth(c.store(), m, c.now).await?);
    }
    revoked::record(c.store(), prefix, c.now).await?;
    if !sync || prefix == "auth/" {
        return Ok(Reply::Empty(202));
    }
    let (mut walked, mut clean) = (true, true);
    for mut job in jobs {
        let p = revocation::step(
            c.store(),
            c.svc.revokers,
            &mut job,
            revocation::INLINE_BUDGET,
            c.now,
        )
        .await?;
        walked &= p.done;
        clean &= p.skipped == 0 && p.failed == 0;
    }
    if walked {
        // Every token is marked (refused on its own): the record can go.
        revoked::remove(c.store(), prefix, c.now).await?;
    }
    Ok(if walked && clean {
        Reply::NoContent
    } else {
        Reply::Empty(202)
    })
}

/// Revoke-prefix and revoke-force: the revocation is recorded as a job
/// ([`crate::revocation`]), then worked here for [`revocation::INLINE_BUDGET`] leases.
/// 204 when it finished; 202 Accepted when the sweeper finishes the rest, or another
/// revocation holds some lease (or when the caller asked for `sync=false`, as Vault
/// answers then); 503 when a lease's engine
/// failed (the lease is retried by the sweeper, the job goes on).
async fn revoke_under(c: &Ctx<'_>, force: bool) -> Result<Reply, ApiError> {
    let raw = c.param("prefix");
    // As Vault's `RevokePrefix`: a prefix that names one lease is that lease.
    if !raw.ends_with('/')
        && let Some(l) = lease::get(c.store(), raw).await?
    {
        return revoke_one(c, &l, force).await;
    }
    let prefix = folder(raw);
    let sync = c.body.boolean("sync")?.unwrap_or(true);
    // Tokens have no lease IDs here: an auth path's prefix revokes the tokens issued
    // under it (Vault's token leases are `auth/<mount>/<path>/<token ID>`).
    if prefix.starts_with("auth/") {
        return revoke_tokens_under(c, &prefix, sync).await;
    }
    let mut job = { revocation::start_prefix(c.store(), &prefix, force, c.now).await? };
    if !sync {
        return Ok(Reply::Empty(202));
    }
    let p = revocation::step(
        c.store(),
        c.svc.revokers,
        &mut job,
        revocation::INLINE_BUDGET,
        c.now,
    )
    .await?;
    if p.failed > 0 {
        return Err(ApiError::Unavailable);
    }
    Ok(if p.done && p.skipped == 0 {
        Reply::NoContent
    } else {
        Reply::Empty(202)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use serde_json::{Value, json};

    use crate::app::App;
    use crate::clock::ManualClock;
    use crate::http::ApiRequest;
    use crate::keyring::Keyring;
    use crate::kms::FakeKms;
    use crate::lease::{self, Lease, LeaseState, RevokeError, Revoker, Revokers};
    use crate::route::Function;
    use crate::store::Store;
    use crate::store::memory::MemoryStore;
    use crate::token::{self, Limits, TokenParams};

    #[derive(Default)]
    struct Counting(AtomicU32);

    #[async_trait::async_trait]
    impl Revoker for Counting {
        async fn revoke(&self, _lease: &Lease) -> Result<(), RevokeError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn app(
        store: &Arc<MemoryStore>,
        keyring: &Arc<Keyring>,
        revoker: &Arc<Counting>,
        function: Function,
    ) -> App {
        App {
            keyring: keyring.clone(),
            revokers: Arc::new(Revokers::new().with("test.kind", revoker.clone())),
            ..App::in_memory(function, store.clone(), Arc::new(ManualClock::new(1_000)))
        }
    }

    fn req(method: &str, path: &str, token: &str, body: Value) -> ApiRequest {
        ApiRequest {
            method: method.into(),
            path: path.into(),
            headers: vec![("x-vault-token".into(), token.into())],
            body: body.to_string().into_bytes(),
            request_id: "t".into(),
            ..ApiRequest::default()
        }
    }

    async fn seed(store: &MemoryStore, id: &str, owner: Option<&str>) -> Lease {
        let mut l = Lease {
            id: id.into(),
            path: id.rsplit_once('/').unwrap().0.into(),
            kind: "test.kind".into(),
            state: LeaseState::Pending,
            issued_at: 1_000,
            expire_at: 1_060,
            max_expire_at: 1_300,
            renewable: true,
            token_hash: owner.map(str::to_owned),
            data: BTreeMap::new(),
            attempts: 0,
            last_error: None,
        };
        store.transact(l.pending_writes()).await.unwrap();
        lease::activate(store, &mut l, 0).await.unwrap();
        l
    }

    #[tokio::test]
    async fn lookup_renew_revoke_prefix_and_token_revocation() {
        let store = Arc::new(MemoryStore::new());
        let counting = Arc::new(Counting::default());
        let limits = Limits {
            default_ttl: 3600,
            max_ttl: 7200,
            batch: None,
        };
        let root = crate::bootstrap::admin_token(store.as_ref(), limits.clone(), 3600, 1_000)
            .await
            .unwrap();
        let root = secrecy::ExposeSecret::expose_secret(&root.token).to_owned();
        let user = token::mint(&TokenParams::default(), limits.clone(), 1_000).unwrap();
        store.transact(user.writes()).await.unwrap();
        let user_token = secrecy::ExposeSecret::expose_secret(&user.token).to_owned();
        seed(&store, "aws/creds/a/1", None).await;
        seed(&store, "aws/creds/a/2", None).await;
        seed(&store, "aws/creds/b/1", None).await;
        seed(&store, "aws/creds/c/1", Some(&user.entry.hash)).await;

        let ring = Arc::new(Keyring::new(store.clone(), Arc::new(FakeKms::new()), "t"));
        ring.ensure_audit_key("k", 0).await.unwrap();
        let issue = app(&store, &ring, &counting, Function::Issue);
        let r = issue
            .handle(req(
                "PUT",
                "/v1/sys/leases/lookup",
                &root,
                json!({"lease_id": "aws/creds/a/1"}),
            ))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body.unwrap()["data"]["ttl"], 60);
        let r = issue
            .handle(req(
                "PUT",
                "/v1/sys/leases/lookup",
                &root,
                json!({"lease_id": "nope"}),
            ))
            .await;
        assert_eq!(r.status, 400);

        let renew = app(&store, &ring, &counting, Function::Renew);
        let r = renew
            .handle(req(
                "PUT",
                "/v1/sys/leases/renew",
                &root,
                json!({"lease_id": "aws/creds/a/1", "increment": 9999}),
            ))
            .await;
        assert_eq!(r.status, 200);
        let b = r.body.unwrap();
        assert_eq!(
            (b["lease_duration"].as_i64(), b["lease_id"].as_str()),
            (Some(300), Some("aws/creds/a/1"))
        );

        let revoke = app(&store, &ring, &counting, Function::Revoke);
        let r = revoke
            .handle(req(
                "PUT",
                "/v1/sys/leases/revoke-prefix/aws/creds/a",
                &root,
                json!({}),
            ))
            .await;
        assert_eq!(r.status, 204);
        assert_eq!(counting.0.load(Ordering::SeqCst), 2);
        assert!(
            lease::get(store.as_ref(), "aws/creds/b/1")
                .await
                .unwrap()
                .is_some(),
            "outside the prefix"
        );
        let r = revoke
            .handle(req(
                "PUT",
                "/v1/sys/leases/revoke",
                &root,
                json!({"lease_id": "aws/creds/b/1"}),
            ))
            .await;
        assert_eq!(r.status, 204);
        let r = revoke
            .handle(req(
                "PUT",
                "/v1/sys/leases/revoke",
                &root,
                json!({"lease_id": "aws/creds/b/1"}),
            ))
            .await;
        assert_eq!(r.status, 204, "idempotent");
        assert_eq!(counting.0.load(Ordering::SeqCst), 3);

        // Revoking a token revokes the leases it created.
        let r = revoke
            .handle(req(
                "POST",
                "/v1/auth/token/revoke-self",
                &user_token,
                json!({}),
            ))
            .await;
        assert_eq!(r.status, 204);
        assert_eq!(counting.0.load(Ordering::SeqCst), 4);
        assert!(
            lease::get(store.as_ref(), "aws/creds/c/1")
                .await
                .unwrap()
                .is_none()
        );
        let left: Vec<String> = store
            .dump()
            .iter()
            .map(|i| crate::store::ItemExt::key(i).pk)
            .collect();
        assert!(
            left.iter()
                .all(|p| !p.starts_with("lease") && !p.contains(&user.entry.hash)),
            "{left:?}"
        );
    }

    /// Found by a fresh user's check (stop 22): revoke-prefix answered 204 and revoked
    /// nothing for a prefix naming one lease, and for an auth path. As in Vault, a
    /// prefix naming one lease revokes it (`revoke-force` too), and an auth path's
    /// prefix revokes the tokens issued through it (with their leases).
    #[tokio::test]
    async fn a_prefix_naming_a_lease_or_an_auth_path_revokes_it() {
        let store = Arc::new(MemoryStore::new());
        let counting = Arc::new(Counting::default());
        let limits = Limits {
            default_ttl: 3600,
            max_ttl: 7200,
            batch: None,
        };
        let root = crate::bootstrap::admin_token(store.as_ref(), limits.clone(), 3600, 1_000)
            .await
            .unwrap();
        let root = secrecy::ExposeSecret::expose_secret(&root.token).to_owned();
        let minted = |path: &str| {
            token::mint(
                &TokenParams {
                    path: path.into(),
                    ..TokenParams::default()
                },
                limits.clone(),
                1_000,
            )
            .unwrap()
        };
        let login = minted("auth/approle/login");
        let other = minted("auth/ci/login");
        let created = minted("auth/token/create");
        for t in [&login, &other, &created] {
            store.transact(t.writes()).await.unwrap();
        }
        seed(&store, "aws/creds/a/1", None).await;
        seed(&store, "aws/creds/a/2", Some(&login.entry.hash)).await;
        let ring = Arc::new(Keyring::new(store.clone(), Arc::new(FakeKms::new()), "t"));
        ring.ensure_audit_key("k", 0).await.unwrap();
        let revoke = app(&store, &ring, &counting, Function::Revoke);
        let put = |path: &str| req("PUT", path, &root, json!({}));
        let alive = |h: &str| {
            let store = store.clone();
            let h = h.to_owned();
            async move {
                token::find_by_hash(store.as_ref(), &h, 1_000)
                    .await
                    .unwrap()
                    .is_some()
            }
        };

        let r = revoke
            .handle(put("/v1/sys/leases/revoke-prefix/aws/creds/a/1"))
            .await;
        assert_eq!(r.status, 204);
        assert!(
            lease::get(store.as_ref(), "aws/creds/a/1")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(counting.0.load(Ordering::SeqCst), 1);

        let r = revoke
            .handle(put("/v1/sys/leases/revoke-prefix/auth/approle/login"))
            .await;
        assert_eq!(r.status, 204);
        assert!(
            !alive(&login.entry.hash).await,
            "the login's token is revoked"
        );
        assert!(alive(&other.entry.hash).await && alive(&created.entry.hash).await);
        assert!(
            lease::get(store.as_ref(), "aws/creds/a/2")
                .await
                .unwrap()
                .is_none(),
            "with its lease"
        );
        let r = revoke
            .handle(put("/v1/sys/leases/revoke-force/auth/token"))
            .await;
        assert_eq!(r.status, 204);
        assert!(!alive(&created.entry.hash).await);
        assert!(
            alive(&other.entry.hash).await,
            "another mount's token lives"
        );
    }

    /// Found by a fresh user's check (stop 22): a revoke-prefix of an auth path left
    /// the tokens its inline step did not reach usable until the sweeper ran. They are
    /// refused from the answer on now (a record in the mount table), and the sweeper
    /// drops the record once every token is marked.
    #[tokio::test]
    async fn an_auth_prefix_refuses_all_its_tokens_at_once() {
        let store = Arc::new(MemoryStore::new());
        let counting = Arc::new(Counting::default());
        let limits = Limits {
            default_ttl: 3600,
            max_ttl: 7200,
            batch: None,
        };
        let root = crate::bootstrap::admin_token(store.as_ref(), limits.clone(), 3600, 1_000)
            .await
            .unwrap();
        let root = secrecy::ExposeSecret::expose_secret(&root.token).to_owned();
        let minted = |issued_at: i64| {
            token::mint(
                &TokenParams {
                    path: "auth/token/create".into(),
                    ..TokenParams::default()
                },
                limits.clone(),
                issued_at,
            )
            .unwrap()
        };
        let mut tokens = Vec::new();
        let mut accessors = Vec::new();
        for _ in 0..40 {
            let t = minted(1_000);
            store.transact(t.writes()).await.unwrap();
            tokens.push(secrecy::ExposeSecret::expose_secret(&t.token).to_owned());
            accessors.push(t.entry.accessor.clone());
        }
        let ring = Arc::new(Keyring::new(store.clone(), Arc::new(FakeKms::new()), "t"));
        ring.ensure_audit_key("k", 0).await.unwrap();
        let revoke = app(&store, &ring, &counting, Function::Revoke);
        let issue = app(&store, &ring, &counting, Function::Issue);
        let r = revoke
            .handle(req(
                "PUT",
                "/v1/sys/leases/revoke-prefix/auth/token/create",
                &root,
                json!({}),
            ))
            .await;
        assert_eq!(r.status, 202, "more tokens than the inline budget");
        let later = minted(1_001);
        store.transact(later.writes()).await.unwrap();
        let later_entry_accessor = later.entry.accessor.clone();
        let later = secrecy::ExposeSecret::expose_secret(&later.token).to_owned();
        let status = |t: String| {
            let issue = &issue;
            async move {
                issue
                    .handle(req("GET", "/v1/auth/token/lookup-self", &t, json!({})))
                    .await
                    .status
            }
        };
        for t in &tokens {
            assert_eq!(status(t.clone()).await, 403, "refused at once");
        }
        // Looked up by an operator, by token or accessor, they are gone as well
        // (Vault's 400 texts), while the token issued after the revocation is not.
        let admin = app(&store, &ring, &counting, Function::Admin);
        let ask = |path: &'static str, body: Value| {
            let (admin, root) = (&admin, &root);
            async move {
                let r = admin.handle(req("POST", path, root, body)).await;
                (r.status, r.body.unwrap_or_default())
            }
        };
        let caps = |field: &str, value: &str| json!({field: value, "paths": ["secret/data/x"]});
        // Every one of them: the revocation's inline step marked only some.
        let later_acc = later_entry_accessor.clone();
        let cases = accessors
            .iter()
            .zip(&tokens)
            .map(|(a, t)| (a, t, true))
            .chain([(&later_acc, &later, false)]);
        for (acc, token, gone) in cases {
            let (s, b) = ask("/v1/auth/token/lookup-accessor", json!({"accessor": acc})).await;
            assert_eq!(s == 400, gone, "{b}");
            if gone {
                assert_eq!(b["errors"][0], "invalid accessor");
            }
            let (s, b) = ask("/v1/sys/capabilities-accessor", caps("accessor", acc)).await;
            assert_eq!(s == 400, gone, "{b}");
            let (s, b) = ask("/v1/sys/capabilities", caps("token", token)).await;
            assert_eq!(s == 400, gone, "{b}");
            if gone {
                assert_eq!(b["errors"][0], "invalid token");
            }
        }
        assert_eq!(
            status(later.clone()).await,
            200,
            "issued after the revocation"
        );
        assert_eq!(status(root.clone()).await, 200);

        crate::sweeper::sweep(store.as_ref(), &Revokers::new(), 1_002)
            .await
            .unwrap();
        assert!(
            crate::mounts::revoked::list(store.as_ref())
                .await
                .unwrap()
                .is_empty(),
            "the record goes once every token is marked"
        );
        for t in &tokens {
            assert_eq!(status(t.clone()).await, 403, "marked on its own");
        }
        assert_eq!(status(later).await, 200);
    }

    #[tokio::test]
    async fn list_irrevocable_and_revoke_force() {
        let store = Arc::new(MemoryStore::new());
        let counting = Arc::new(Counting::default());
        let limits = Limits {
            default_ttl: 3600,
            max_ttl: 7200,
            batch: None,
        };
        let root = crate::bootstrap::admin_token(store.as_ref(), limits, 3600, 1_000)
            .await
            .unwrap();
        let root = secrecy::ExposeSecret::expose_secret(&root.token).to_owned();
        seed(&store, "aws/creds/a/1", None).await;
        let mut stuck = seed(&store, "aws/creds/a/2", None).await;
        stuck.kind = "gone.engine".into();
        store
            .write(crate::store::Write::Put {
                item: stuck_item(&store, &stuck).await,
                cond: None,
            })
            .await
            .unwrap();
        for _ in 0..lease::MAX_ATTEMPTS {
            let cur = lease::get(store.as_ref(), &stuck.id)
                .await
                .unwrap()
                .unwrap();
            lease::record_failure(store.as_ref(), &cur, "AccessDenied", 1_000)
                .await
                .unwrap();
        }
        let ring = Arc::new(Keyring::new(store.clone(), Arc::new(FakeKms::new()), "t"));
        ring.ensure_audit_key("k", 0).await.unwrap();
        let admin = app(&store, &ring, &counting, Function::Admin);
        let r = admin
            .handle(req(
                "LIST",
                "/v1/sys/leases/lookup/aws/creds/a/",
                &root,
                json!({}),
            ))
            .await;
        assert_eq!(r.body.unwrap()["data"]["keys"], json!(["1", "2"]));
        let r = admin
            .handle(req("LIST", "/v1/sys/leases", &root, json!({})))
            .await;
        assert_eq!(r.status, 400, "type=irrevocable is required");
        let mut list = req("LIST", "/v1/sys/leases", &root, json!({}));
        list.query = vec![("type".into(), "irrevocable".into())];
        let r = admin.handle(list.clone()).await;
        let b = r.body.unwrap();
        assert_eq!(
            (
                b["data"]["lease_count"].as_u64(),
                b["data"]["leases"][0]["error"].as_str()
            ),
            (Some(1), Some("AccessDenied"))
        );
        let revoke = app(&store, &ring, &counting, Function::Revoke);
        let r = revoke
            .handle(req(
                "PUT",
                "/v1/sys/leases/revoke-prefix/aws/creds/a",
                &root,
                json!({}),
            ))
            .await;
        assert_eq!(r.status, 503, "the stuck lease still fails");
        let r = revoke
            .handle(req(
                "PUT",
                "/v1/sys/leases/revoke-force/aws/creds/a",
                &root,
                json!({}),
            ))
            .await;
        assert_eq!(r.status, 204);
        let r = admin.handle(list).await;
        assert_eq!(r.body.unwrap()["data"]["lease_count"], 0);
        assert!(
            lease::list_prefix(store.as_ref(), "test/", None, 10)
                .await
                .unwrap()
                .0
                .is_empty()
        );
    }

    async fn stuck_item(store: &MemoryStore, l: &Lease) -> crate::store::Item {
        let mut item = store.get(&lease::lease_key(&l.id)).await.unwrap().unwrap();
        item.insert("kind".into(), crate::store::Value::S(l.kind.clone()));
        item
    }
}
