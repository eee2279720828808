//! The simulator's executor: runs operations (futures) concurrently on one thread, in an
//! order drawn from the schedule's seed, not the OS's.
//!
//! Every port call of the simulated ports awaits [`port`] first, which suspends the
//! operation once. The executor then picks, at random, which suspended operation runs
//! next (up to its next port call), or kills one (drops its future: the function died
//! there, with everything before that call done and nothing after). Operations blocked on
//! something other than a port (a Tokio timer: backoff sleeps) are woken by advancing
//! Tokio's paused clock once nothing else can run. So a seed fixes the interleaving.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

thread_local! {
    /// Set by [`Port`] when it suspends: the poll that returned `Pending` stopped at a
    /// port call (not at a timer).
    static AT_PORT: Cell<bool> = const { Cell::new(false) };
}

/// A suspension point before a port call.
pub struct Port {
    yielded: bool,
}

/// Suspends the calling operation once: the executor decides what runs next.
pub fn port() -> Port {
    Port { yielded: false }
}

impl Future for Port {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            AT_PORT.with(|a| a.set(true));
            // Outside the executor (setup, checks), whoever polls polls again at once.
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// An operation under way.
struct Task {
    name: String,
    fut: Pin<Box<dyn Future<Output = ()>>>,
    /// Whether its last poll stopped at a port (a kill point) rather than a timer.
    at_port: bool,
    started: bool,
    /// Seconds it may run (its function's timeout).
    timeout: i64,
    /// When it started, on the simulated clock.
    started_at: i64,
}

/// What happened to each operation of a schedule, in spawn order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// It ran to the end.
    Finished,
    /// It was killed before its `n`th port call (1-based).
    Killed(u32),
    /// Its function's timeout passed (on the simulated clock) before its `n`th port
    /// call, and Lambda stopped it there.
    TimedOut(u32),
}

/// A set of operations run to completion (or death) in a seeded order.
pub struct Executor {
    tasks: Vec<(usize, Task, u32)>,
    fates: Vec<(String, Fate)>,
}

/// Decisions the executor asks of the schedule.
pub trait Chooser {
    /// An index below `n` (which operation to poll).
    fn pick(&mut self, n: usize) -> usize;
    /// Whether to kill the chosen operation at its current port call.
    fn kill(&mut self, name: &str) -> bool;
}

impl Default for Executor {
    fn default() -> Self {
        Self::new()
    }
}

impl Executor {
    /// No operations.
    pub fn new() -> Self {
        Self {
            tasks: Vec::new(),
            fates: Vec::new(),
        }
    }

    /// Adds an operation that its function stops after `timeout` seconds of the
    /// simulated clock (Lambda's timeout: the next port call after it does not happen).
    pub fn spawn(
        &mut self,
        name: impl Into<String>,
        timeout: i64,
        fut: impl Future<Output = ()> + 'static,
    ) {
        let i = self.fates.len();
        let name = name.into();
        self.fates.push((name.clone(), Fate::Finished));
        self.tasks.push((
            i,
            Task {
                name,
                fut: Box::pin(fut),
                at_port: false,
                started: false,
                timeout,
                started_at: 0,
            },
            0,
        ));
    }

    /// Runs every operation to its end or its death; returns each one's fate, in spawn
    /// order. `now` reads the simulated clock (for timeouts). Must run inside a
    /// current-thread Tokio runtime with paused time.
    pub async fn run(
        mut self,
        chooser: &mut dyn Chooser,
        now: &dyn Fn() -> i64,
    ) -> Vec<(String, Fate)> {
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut idle_rounds = 0usize;
        while !self.tasks.is_empty() {
            let k = chooser.pick(self.tasks.len());
            let (index, task, calls) = &mut self.tasks[k];
            if task.started && task.at_port && now() > task.started_at + task.timeout {
                self.fates[*index].1 = Fate::TimedOut(*calls);
                self.tasks.swap_remove(k);
                idle_rounds = 0;
                continue;
            }
            if task.started && task.at_port && chooser.kill(&task.name) {
                self.fates[*index].1 = Fate::Killed(*calls);
                self.tasks.swap_remove(k);
                idle_rounds = 0;
                continue;
            }
            AT_PORT.with(|a| a.set(false));
            if !task.started {
                task.started_at = now();
            }
            task.started = true;
            match task.fut.as_mut().poll(&mut cx) {
                Poll::Ready(()) => {
                    self.tasks.swap_remove(k);
                    idle_rounds = 0;
                }
                Poll::Pending => {
                    task.at_port = AT_PORT.with(Cell::get);
                    if task.at_port {
                        *calls += 1;
                        idle_rounds = 0;
                    } else {
                        idle_rounds += 1;
                    }
                }
            }
            // Everything left waits on a timer: let Tokio's paused clock move.
            if idle_rounds > 4 * self.tasks.len() && self.tasks.iter().all(|(_, t, _)| !t.at_port) {
                tokio::time::advance(Duration::from_millis(50)).await;
                idle_rounds = 0;
            }
        }
        self.fates
    }
}
