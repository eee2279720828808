//! Failure injection for the database engine's crash tests: where an issue, a
//! revocation, a root rotation or a static rotation stops as if the process died (production: never).

use crate::error::ApiError;

/// Steps after which a test may stop the engine as if the process died.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Issue: the pending lease is written.
    LeaseWritten,
    /// Issue: the database user exists; the lease is still pending.
    UserCreated,
    /// Revocation: the user is dropped; the lease record remains.
    UserDropped,
    /// Root rotation: the new password is stored as pending.
    RootPendingStored,
    /// Root rotation: the database has the new password; storage still says pending.
    RootAltered,
    /// Static rotation: the new password is stored as pending on the static role.
    StaticPendingStored,
    /// Static rotation: the database has the new password; the role still says pending.
    StaticAltered,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 7] = [
        Step::LeaseWritten,
        Step::UserCreated,
        Step::UserDropped,
        Step::RootPendingStored,
        Step::RootAltered,
        Step::StaticPendingStored,
        Step::StaticAltered,
    ];
}

/// The failure-injection port.
pub trait Failpoints: Send + Sync {
    /// `true` stops right after `step`, with no undo.
    fn crash_after(&self, step: Step) -> bool;
}

/// Production: never stops.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFailpoints;

impl Failpoints for NoFailpoints {
    fn crash_after(&self, _step: Step) -> bool {
        false
    }
}

/// Tests: stops after one step.
#[derive(Clone, Copy, Debug)]
pub struct CrashAfter(pub Step);

impl Failpoints for CrashAfter {
    fn crash_after(&self, step: Step) -> bool {
        step == self.0
    }
}

/// The client's error for a simulated crash (logged).
pub fn crashed() -> ApiError {
    tracing::error!("database engine stopped by a failpoint (simulated crash)");
    ApiError::Internal
}
