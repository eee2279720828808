//! AWS static roles on in-memory ports and [`FakeIam`] (which enforces IAM's two-key
//! quota): rotation on schedule through the due index, the old key's grace period, the
//! two-key rule, a crash after every step, concurrent runs, call counts, the routes'
//! answers, and that the secret key never reaches a log.

use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::Mount;
use super::clients::EngineClients;
use super::iam::{FakeIam, IamApi, IamError, NewUser};
use super::issue::{Failpoints, NoFailpoints, StaticCrashAfter, StaticStep};
use super::static_roles::{self, Ctx, INTENT_STALE_SECS, StaticRotate};
use super::sts::FakeSts;
use crate::app::App;
use crate::clock::ManualClock;
use crate::http::ApiRequest;
use crate::keyring::Keyring;
use crate::kms::FakeKms;
use crate::lease::Revokers;
use crate::route::Function;
use crate::store::memory::MemoryStore;
use crate::sweeper::SweepReport;
use crate::token::Limits;

const NOW: i64 = 1_700_000_000;
const USER: &str = "svc-legacy";
/// The role's period in these tests: 10 minutes, so a grace of 5.
const PERIOD: i64 = 600;

struct Env {
    store: Arc<MemoryStore>,
    keyring: Arc<Keyring>,
    iam: Arc<FakeIam>,
}

impl Env {
    async fn new() -> Env {
        let store = Arc::new(MemoryStore::new());
        let keyring = Arc::new(Keyring::new(store.clone(), Arc::new(FakeKms::new()), "t"));
        keyring.add_version("k", 0).await.unwrap();
        keyring.ensure_audit_key("k", 0).await.unwrap();
        crate::sweeper::init_cursor(store.as_ref(), NOW)
            .await
            .unwrap();
        let iam = Arc::new(FakeIam::new());
        iam.create_user(&NewUser {
            name: USER.into(),
            ..NewUser::default()
        })
        .await
        .unwrap();
        Env {
            store,
            keyring,
            iam,
        }
    }

    /// An environment with the role `legacy` of [`USER`], period [`PERIOD`], written
    /// (and so first rotated) at [`NOW`].
    async fn with_role() -> Env {
        let env = Env::new().await;
        env.write(json!({"username": USER, "rotation_period": PERIOD}), NOW)
            .await
            .unwrap();
        env
    }

    fn ctx<'a>(&'a self, fp: &'a dyn Failpoints, now: i64) -> Ctx<'a> {
        Ctx {
            store: self.store.as_ref(),
            keyring: &self.keyring,
            iam: self.iam.as_ref(),
            failpoints: fp,
            mount: Mount::DEFAULT,
            now,
        }
    }

    async fn write(&self, body: Value, now: i64) -> Result<(), crate::error::ApiError> {
        let body = body.as_object().unwrap().clone();
        static_roles::write(&self.ctx(&NoFailpoints, now), "legacy", &body)
            .await
            .map(drop)
    }

    async fn delete(&self, now: i64) -> Result<bool, crate::error::ApiError> {
        static_roles::delete(&self.ctx(&NoFailpoints, now), "legacy").await
    }

    async fn role(&self) -> Option<static_roles::StaticRole> {
        static_roles::read(self.store.as_ref(), Mount::DEFAULT, "legacy")
            .await
            .unwrap()
    }

    /// `static-creds`: (access key, secret key, expiration).
    async fn creds(&self, now: i64) -> (String, String, String) {
        let v = static_roles::creds(&self.ctx(&NoFailpoints, now), "legacy")
            .await
            .unwrap();
        let s = |k: &str| v[k].as_str().unwrap().to_owned();
        (s("access_key"), s("secret_key"), s("expiration"))
    }

    async fn sweep_with(&self, fp: Arc<dyn Failpoints>, now: i64) -> SweepReport {
        let clients = Arc::new(EngineClients::fixed(
            self.iam.clone(),
            Arc::new(FakeSts::new(0)),
        ));
        let job = StaticRotate::new(self.keyring.clone(), clients, fp);
        let revokers = Revokers::new().with_due(static_roles::PK_PREFIX, Arc::new(job));
        crate::sweeper::sweep(self.store.as_ref(), &revokers, now)
            .await
            .unwrap()
    }

    async fn sweep(&self, now: i64) -> SweepReport {
        self.sweep_with(Arc::new(NoFailpoints), now).await
    }

    fn keys(&self) -> Vec<String> {
        let mut k = self.iam.keys(USER);
        k.sort();
        k
    }

    fn calls_since(&self, n: usize) -> Vec<String> {
        self.iam.calls()[n..].to_vec()
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn a_new_role_gets_its_own_key_at_once_and_creds_make_no_iam_call() {
    let env = Env::new().await;
    let own = env.iam.add_foreign_key(USER);
    env.write(json!({"username": USER, "rotation_period": "10m"}), NOW)
        .await
        .unwrap();
    assert_eq!(
        env.iam.calls(),
        ["CreateUser", "ListAccessKeys", "CreateAccessKey"],
        "one listing, one new key"
    );
    let (ak, sk, exp) = env.creds(NOW).await;
    assert_ne!(ak, own, "the user's own key is not the role's");
    assert_eq!(env.keys(), sorted(vec![own, ak.clone()]), "left untouched");
    assert!(sk.len() >= 30);
    assert_eq!(exp, crate::clock::rfc3339(NOW + PERIOD));
    assert_eq!(env.iam.calls().len(), 3, "static-creds made no IAM call");
    let r = static_roles::read(env.store.as_ref(), Mount::DEFAULT, "legacy")
        .await
        .unwrap()
        .unwrap();
    let shown = r.to_json("legacy").to_string();
    assert_eq!(
        r.to_json("legacy"),
        json!({"name": "legacy", "username": USER, "rotation_period": PERIOD})
    );
    assert!(!shown.contains(&sk) && !format!("{r:?}").contains(&sk));
}

#[tokio::test]
async fn bad_input_and_a_full_or_unknown_user_store_nothing() {
    let env = Env::new().await;
    for (body, msg) in [
        (json!({"rotation_period": "10m"}), "missing \"username\""),
        (json!({"username": USER}), "missing \"rotation_period\""),
        (
            json!({"username": USER, "rotation_period": 59}),
            "at least 60 seconds",
        ),
        (
            json!({"username": "a b", "rotation_period": 60}),
            "invalid \"username\"",
        ),
        (
            json!({"username": "nobody", "rotation_period": 60}),
            "does not exist",
        ),
    ] {
        let e = env.write(body.clone(), NOW).await.unwrap_err();
        assert!(e.to_string().contains(msg), "{body}: {e}");
    }
    let (a, b) = (env.iam.add_foreign_key(USER), env.iam.add_foreign_key(USER));
    let e = env
        .write(json!({"username": USER, "rotation_period": 60}), NOW)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("already has two access keys"), "{e}");
    assert_eq!(env.keys(), sorted(vec![a, b]), "both keys untouched");
    assert!(!env.iam.calls().contains(&"CreateAccessKey".to_owned()));
    assert!(
        static_roles::list(env.store.as_ref(), Mount::DEFAULT)
            .await
            .unwrap()
            .is_empty(),
        "no role stored"
    );
}

#[tokio::test]
async fn rotation_on_schedule_keeps_the_old_key_for_its_grace_then_deletes_it() {
    let env = Env::with_role().await;
    let (k1, s1, _) = env.creds(NOW).await;
    assert_eq!(env.sweep(NOW + PERIOD - 1).await.due_jobs, 0, "never early");
    let before = env.iam.calls().len();
    assert_eq!(env.sweep(NOW + PERIOD).await.due_jobs, 1);
    assert_eq!(
        env.calls_since(before),
        ["ListAccessKeys", "CreateAccessKey"]
    );
    let (k2, s2, exp) = env.creds(NOW + PERIOD).await;
    assert!(k2 != k1 && s2 != s1);
    assert_eq!(exp, crate::clock::rfc3339(NOW + 2 * PERIOD));
    assert_eq!(env.keys(), sorted(vec![k1.clone(), k2.clone()]), "old kept");
    let grace = static_roles::grace_secs(PERIOD);
    assert_eq!(grace, 300);
    assert_eq!(env.sweep(NOW + PERIOD + grace - 1).await.due_jobs, 0);
    let before = env.iam.calls().len();
    assert_eq!(env.sweep(NOW + PERIOD + grace).await.due_jobs, 1);
    assert_eq!(env.calls_since(before), ["DeleteAccessKey"]);
    assert_eq!(env.keys(), vec![k2.clone()], "old key gone after its grace");
    assert_eq!(env.sweep(NOW + 2 * PERIOD - 1).await.due_jobs, 0);
    assert_eq!(env.sweep(NOW + 2 * PERIOD).await.due_jobs, 1);
    assert_eq!(env.keys().len(), 2);
    assert!(env.keys().contains(&k2));
}

#[tokio::test]
async fn two_keys_the_old_key_makes_room_and_a_foreign_key_is_never_deleted() {
    let env = Env::new().await;
    env.write(json!({"username": USER, "rotation_period": "2h"}), NOW)
        .await
        .unwrap();
    let t = NOW + 7200;
    assert_eq!(env.sweep(t).await.due_jobs, 1);
    let (k2, _, _) = env.creds(t).await;
    assert_eq!(env.keys().len(), 2, "current and old (grace 1 h)");
    // A shorter period makes a rotation due while the old key is still in its grace:
    // the old key (Sigil's, superseded) is what makes room.
    env.write(json!({"rotation_period": 60}), t).await.unwrap();
    assert_eq!(env.sweep(t + 60).await.due_jobs, 1);
    let (k3, _, _) = env.creds(t + 60).await;
    assert_eq!(env.keys(), sorted(vec![k2.clone(), k3.clone()]));

    // After the grace, the owner adds a key of their own: current + foreign = two.
    assert_eq!(env.sweep(t + 90).await.due_jobs, 1);
    assert_eq!(env.keys(), vec![k3.clone()]);
    let own = env.iam.add_foreign_key(USER);
    let before = env.iam.calls().len();
    let r = env.sweep(t + 120).await;
    assert_eq!((r.due_jobs, r.failed), (0, 0), "{r:?}");
    assert_eq!(env.calls_since(before), ["ListAccessKeys"], "refused");
    assert_eq!(env.keys(), sorted(vec![k3.clone(), own.clone()]));
    assert_eq!(
        env.creds(t + 120).await.0,
        k3,
        "the current key still served"
    );
    // Retried a minute later, not before; once the owner's key goes, it rotates.
    let before = env.iam.calls().len();
    env.sweep(t + 179).await;
    assert_eq!(env.iam.calls().len(), before);
    env.iam.delete_access_key(USER, &own).await.unwrap();
    assert_eq!(env.sweep(t + 180).await.due_jobs, 1);
    assert_ne!(env.creds(t + 180).await.0, k3);
}

/// A rotation while the superseded key is still in its grace deletes it first, so the
/// role never forgets a key it created (here the current key was deleted out of band,
/// leaving a free slot).
#[tokio::test]
async fn an_early_rotation_deletes_the_superseded_key_first() {
    let env = Env::new().await;
    env.write(json!({"username": USER, "rotation_period": "2h"}), NOW)
        .await
        .unwrap();
    let (k1, _, _) = env.creds(NOW).await;
    let t = NOW + 7200;
    assert_eq!(env.sweep(t).await.due_jobs, 1);
    let (k2, _, _) = env.creds(t).await;
    env.iam.delete_access_key(USER, &k2).await.unwrap();
    assert_eq!(
        env.keys(),
        vec![k1.clone()],
        "only the superseded key is left"
    );
    env.write(json!({"rotation_period": 60}), t).await.unwrap();
    let before = env.iam.calls().len();
    assert_eq!(env.sweep(t + 60).await.due_jobs, 1);
    assert_eq!(
        env.calls_since(before),
        ["ListAccessKeys", "DeleteAccessKey", "CreateAccessKey"]
    );
    let (k3, _, _) = env.creds(t + 60).await;
    assert_eq!(env.keys(), vec![k3.clone()], "k1 deleted, not forgotten");
    let old = env.role().await.unwrap().old.unwrap();
    assert_eq!(old.id, k2, "the (already deleted) previous current key");
    env.sweep(old.until).await;
    assert_eq!(env.keys(), vec![k3]);
    assert!(env.role().await.unwrap().old.is_none());
}

/// After a crash at `step` of a scheduled rotation, the next runs leave exactly the
/// key `static-creds` returns (once the old one's grace is over), and no other.
#[tokio::test]
async fn a_crash_after_each_step_settles_to_one_current_key() {
    for step in StaticStep::ALL {
        let env = Env::with_role().await;
        let (k1, _, _) = env.creds(NOW).await;
        let mut t = NOW + PERIOD;
        if step == StaticStep::OldDeleted {
            assert_eq!(env.sweep(t).await.due_jobs, 1);
            t += static_roles::grace_secs(PERIOD);
        }
        let r = env.sweep_with(Arc::new(StaticCrashAfter(step)), t).await;
        assert_eq!(r.due_jobs, 0, "{step:?}: {r:?}");
        assert!(env.keys().len() <= 2, "{step:?}");
        // static-creds still answers with a working key while it is unsettled.
        let (served, _, _) = env.creds(t).await;
        assert!(env.keys().contains(&served), "{step:?}");
        // The next scheduled runs settle it (an intent once it is stale).
        for dt in [1, INTENT_STALE_SECS + 1] {
            env.sweep(t + dt).await;
            assert!(env.keys().len() <= 2, "{step:?}");
        }
        let t = t + INTENT_STALE_SECS + 1;
        let (current, secret, _) = env.creds(t).await;
        assert!(!secret.is_empty());
        assert_ne!(current, k1, "{step:?}: rotated");
        let r = static_roles::read(env.store.as_ref(), Mount::DEFAULT, "legacy")
            .await
            .unwrap()
            .unwrap();
        assert!(
            r.pending.is_none() && r.creating.is_none(),
            "{step:?}: {r:?}"
        );
        // IAM holds exactly the keys the role knows: the current one, and the old one
        // until its grace ends.
        let mut known = vec![current.clone()];
        known.extend(r.old.iter().map(|o| o.id.clone()));
        assert_eq!(env.keys(), sorted(known), "{step:?}");
        if let Some(o) = r.old {
            env.sweep(o.until).await;
            assert_eq!(env.keys(), vec![current.clone()], "{step:?}");
        }
        assert_eq!(env.creds(t).await.0, current, "{step:?}");
    }
}

#[tokio::test]
async fn a_key_created_whose_answer_was_lost_is_found_and_deleted() {
    let env = Env::with_role().await;
    let (k1, _, _) = env.creds(NOW).await;
    env.iam
        .key_applied_then(IamError::Retryable("timeout".into()));
    let t = NOW + PERIOD;
    env.sweep(t).await;
    assert_eq!(env.keys().len(), 2, "a key exists that no one can use");
    // Young intent: another run leaves it alone (it may be a live rotation).
    let before = env.iam.calls().len();
    env.sweep(t + 60).await;
    assert_eq!(env.iam.calls().len(), before);
    assert_eq!(env.creds(t + 60).await.0, k1);
    let before = env.iam.calls().len();
    assert_eq!(env.sweep(t + INTENT_STALE_SECS).await.due_jobs, 1);
    assert_eq!(
        env.calls_since(before),
        [
            "ListAccessKeys",
            "DeleteAccessKey",
            "ListAccessKeys",
            "CreateAccessKey"
        ],
        "the lost key deleted, then the rotation done"
    );
    let (k2, _, _) = env.creds(t + INTENT_STALE_SECS).await;
    assert_eq!(env.keys(), sorted(vec![k1, k2]));
}

#[tokio::test]
async fn two_runs_at_once_rotate_once() {
    let env = Env::with_role().await;
    let t = NOW + PERIOD;
    let before = env.iam.calls().len();
    let (a, b) = tokio::join!(env.sweep(t), env.sweep(t));
    assert_eq!(a.due_jobs + b.due_jobs, 1, "{a:?} {b:?}");
    let created = env
        .calls_since(before)
        .iter()
        .filter(|c| *c == "CreateAccessKey")
        .count();
    assert_eq!(created, 1);

    // Two rotations of the role as read at the same revision, run at once (FakeIam
    // yields on each call, so both list the keys before either writes): the second's
    // intent write fails its condition before it creates anything.
    let t = t + PERIOD;
    env.sweep(t - 1).await;
    let fp = NoFailpoints;
    let x = env.ctx(&fp, t);
    let r = static_roles::read(env.store.as_ref(), Mount::DEFAULT, "legacy")
        .await
        .unwrap()
        .unwrap();
    assert!(r.old.is_none(), "{r:?}");
    let before = env.iam.calls().len();
    let (a, b) = tokio::join!(
        static_roles::rotate_for_test(&x, "legacy", r.clone()),
        static_roles::rotate_for_test(&x, "legacy", r),
    );
    let e = a.and(b).unwrap_err();
    assert!(
        e.to_string().contains("changed while it was rotated"),
        "{e}"
    );
    assert_eq!(
        sorted(env.calls_since(before)),
        ["CreateAccessKey", "ListAccessKeys", "ListAccessKeys"],
        "one key for two runs"
    );
    assert_eq!(env.keys().len(), 2, "the new key and the old one");
}

#[tokio::test]
async fn deleting_the_role_deletes_its_keys_and_stops_rotation() {
    let env = Env::new().await;
    let own = env.iam.add_foreign_key(USER);
    env.write(json!({"username": USER, "rotation_period": PERIOD}), NOW)
        .await
        .unwrap();
    let before = env.iam.calls().len();
    assert!(env.delete(NOW + 1).await.unwrap());
    assert_eq!(
        env.calls_since(before),
        ["DeleteAccessKey"],
        "the key Sigil created, as Vault deletes it"
    );
    assert_eq!(env.keys(), vec![own.clone()], "the owner's key stays");
    assert!(env.role().await.is_none());
    assert!(!env.delete(NOW + 2).await.unwrap(), "idempotent");

    // Current and superseded keys both go.
    env.iam.delete_access_key(USER, &own).await.unwrap();
    env.write(json!({"username": USER, "rotation_period": PERIOD}), NOW)
        .await
        .unwrap();
    assert_eq!(env.sweep(NOW + PERIOD).await.due_jobs, 1);
    assert_eq!(env.keys().len(), 2, "current and old");
    let before = env.iam.calls().len();
    assert!(env.delete(NOW + PERIOD + 1).await.unwrap());
    assert_eq!(
        env.calls_since(before),
        ["DeleteAccessKey", "DeleteAccessKey"]
    );
    assert!(env.keys().is_empty());
    let before = env.iam.calls().len();
    assert_eq!(env.sweep(NOW + 3 * PERIOD).await.due_jobs, 0);
    assert_eq!(
        env.iam.calls().len(),
        before,
        "no IAM call: rotation stopped"
    );
}

#[tokio::test]
async fn deleting_a_role_mid_rotation_deletes_the_unstored_key_too() {
    let env = Env::with_role().await;
    let t = NOW + PERIOD;
    env.sweep_with(Arc::new(StaticCrashAfter(StaticStep::KeyCreated)), t)
        .await;
    assert_eq!(env.keys().len(), 2, "the current key and an unstored one");
    assert!(env.role().await.unwrap().creating.is_some());
    assert!(env.delete(t + 1).await.unwrap());
    assert!(env.keys().is_empty(), "{:?}", env.keys());
}

/// IAM failures while deleting leave the role (and its schedule) as it was.
#[tokio::test]
async fn a_delete_that_iam_refuses_leaves_the_role() {
    let env = Env::with_role().await;
    let (k1, _, _) = env.creds(NOW).await;
    env.iam
        .script([Some(IamError::Retryable("Throttling".into()))]);
    let e = env.delete(NOW + 1).await.unwrap_err();
    assert_eq!(e.status(), 503, "{e}");
    assert_eq!(env.creds(NOW + 1).await.0, k1, "role and key as they were");
    assert!(env.delete(NOW + 2).await.unwrap(), "repeated: done");
    assert!(env.keys().is_empty());
}

#[tokio::test]
async fn a_first_rotation_that_iam_refuses_stores_nothing() {
    let env = Env::new().await;
    // ListAccessKeys answers, CreateAccessKey is refused.
    env.iam
        .script([None, Some(IamError::Failed("AccessDenied".into()))]);
    let e = env
        .write(json!({"username": USER, "rotation_period": PERIOD}), NOW)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("AccessDenied"), "{e}");
    assert!(env.role().await.is_none(), "no role stored");
    assert!(env.keys().is_empty());
    // Unknown whether IAM created it (a timeout after the key was made): the role
    // stays with its intent, and the sweeper settles it.
    env.iam
        .key_applied_then(IamError::Retryable("timeout".into()));
    let e = env
        .write(json!({"username": USER, "rotation_period": PERIOD}), NOW)
        .await
        .unwrap_err();
    assert_eq!(e.status(), 503, "{e}");
    assert!(env.role().await.unwrap().creating.is_some());
    assert_eq!(env.keys().len(), 1, "a key whose secret is lost");
    let lost = env.keys();
    assert_eq!(env.sweep(NOW + INTENT_STALE_SECS).await.due_jobs, 1);
    let (k, _, _) = env.creds(NOW + INTENT_STALE_SECS).await;
    assert_eq!(env.keys(), vec![k.clone()], "the lost key deleted");
    assert_ne!(vec![k], lost);
}

/// Two unknown keys after an interrupted rotation: Sigil cannot tell which one it
/// created, so it deletes neither and refuses to rotate until the owner removes one.
#[tokio::test]
async fn two_unknown_keys_after_a_crash_are_left_and_reported() {
    let env = Env::with_role().await;
    let (k1, _, _) = env.creds(NOW).await;
    // The current key disappears out of band, so the rotation lists nothing...
    env.iam.delete_access_key(USER, &k1).await.unwrap();
    let t = NOW + PERIOD;
    env.sweep_with(Arc::new(StaticCrashAfter(StaticStep::KeyCreated)), t)
        .await;
    // ...and the owner adds a key while the rotation's key is unstored.
    let own = env.iam.add_foreign_key(USER);
    let both = env.keys();
    assert_eq!(both.len(), 2);
    let before = env.iam.calls().len();
    let r = env.sweep(t + INTENT_STALE_SECS).await;
    assert_eq!(r.due_jobs, 0, "{r:?}");
    assert!(
        !env.calls_since(before)
            .contains(&"DeleteAccessKey".to_owned()),
        "neither key deleted"
    );
    assert_eq!(env.keys(), both);
    assert!(env.role().await.unwrap().creating.is_none(), "settled");
    // Once the owner removes their key, the next retry rotates.
    env.iam.delete_access_key(USER, &own).await.unwrap();
    assert_eq!(
        env.sweep(t + INTENT_STALE_SECS + static_roles::RETRY_SECS)
            .await
            .due_jobs,
        1
    );
    assert_eq!(env.keys().len(), 2, "the stray key and the new current one");
}

/// The process's log, as a buffer: the global subscriber, set once. (A scoped one
/// misses lines when another test's thread cached a callsite's interest first.)
fn global_logs() -> &'static Logs {
    static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        tracing::subscriber::set_global_default(crate::telemetry::subscriber(
            crate::telemetry::filter("debug"),
            move || writer.clone(),
        ))
        .expect("no other global subscriber in the unit tests");
        logs
    })
}

/// A `MakeWriter` for the log check: every line into one buffer.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn call(app: &App, token: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let resp = app
        .handle(ApiRequest {
            method: method.into(),
            path: format!("/v1/{path}"),
            headers: vec![("x-vault-token".to_owned(), token.to_owned())],
            body: if body.is_null() {
                Vec::new()
            } else {
                body.to_string().into_bytes()
            },
            request_id: "req-1".into(),
            ..ApiRequest::default()
        })
        .await;
    (resp.status, resp.body.unwrap_or(Value::Null))
}

/// The routes: write, read (no key), LIST, static-creds, an unknown user (400, nothing
/// stored), delete; and no log line of a rotation or a read shows the secret key.
#[tokio::test]
async fn the_routes_answer_as_vault_and_the_secret_key_is_never_logged() {
    let logs = global_logs();
    let env = Env::new().await;
    let limits = Limits {
        default_ttl: 3600,
        max_ttl: 7200,
        batch: None,
    };
    let root = crate::bootstrap::admin_token(env.store.as_ref(), limits, 7200, NOW)
        .await
        .unwrap();
    let token = root.token.expose_secret();
    let clock = Arc::new(ManualClock::new(NOW));
    let clients = Arc::new(EngineClients::fixed(
        env.iam.clone(),
        Arc::new(FakeSts::new(0)),
    ));
    let app = App {
        keyring: env.keyring.clone(),
        aws: clients,
        ..App::in_memory(Function::Admin, env.store.clone(), clock.clone())
    };
    let (s, b) = call(
        &app,
        token,
        "POST",
        "aws/static-roles/ghost",
        json!({"username": "nobody", "rotation_period": "1h"}),
    )
    .await;
    assert_eq!(
        (s, b["errors"][0].as_str()),
        (400, Some("IAM user \"nobody\" does not exist"))
    );
    let (s, _) = call(&app, token, "GET", "aws/static-roles/ghost", Value::Null).await;
    assert_eq!(s, 404, "nothing stored");
    let (s, b) = call(
        &app,
        token,
        "POST",
        "aws/static-roles/legacy",
        json!({"username": USER, "rotation_period": "1h"}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["data"],
        json!({"name": "legacy", "username": USER, "rotation_period": 3600}),
        "Vault answers a write with the role"
    );
    let (s, b) = call(&app, token, "GET", "aws/static-roles/legacy", Value::Null).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["data"],
        json!({"name": "legacy", "username": USER, "rotation_period": 3600})
    );
    let (s, b) = call(&app, token, "LIST", "aws/static-roles", Value::Null).await;
    assert_eq!((s, &b["data"]["keys"]), (200, &json!(["legacy"])));
    let (s, b) = call(&app, token, "GET", "aws/static-creds/legacy", Value::Null).await;
    assert_eq!(s, 200, "{b}");
    let secret = b["data"]["secret_key"].as_str().unwrap().to_owned();
    assert_eq!(
        b["data"]["access_key"].as_str(),
        env.iam.keys(USER).first().map(String::as_str)
    );
    assert_eq!(b["data"]["expiration"], crate::clock::rfc3339(NOW + 3600));
    assert_eq!(b["lease_duration"], 0, "no lease");
    let (s, b) = call(&app, token, "GET", "aws/static-creds/nope", Value::Null).await;
    assert_eq!(s, 404, "{b}");
    env.sweep(NOW + 3600).await;
    let (s, _) = call(
        &app,
        token,
        "DELETE",
        "aws/static-roles/legacy",
        Value::Null,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = call(&app, token, "GET", "aws/static-roles/legacy", Value::Null).await;
    assert_eq!(s, 404);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("static role access key rotated"),
        "logs were captured"
    );
    assert!(!text.contains(&secret), "the secret key reached a log");
}
