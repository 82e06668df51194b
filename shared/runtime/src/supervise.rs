//! Supervision of long-running tasks (DESIGN.md decision 3): every relay, consumer, queue
//! worker, sweeper and watcher runs under a [`Supervisor`]. A task that panics or returns
//! before shutdown is logged at error level with its name and started again with backoff
//! (100 ms doubling to 30 s, back to 100 ms once it has run for a minute). While a task waits
//! out a backoff of a second or more (it failed several times in a row), it counts as down, and
//! the health of the service it belongs to turns NOT_SERVING.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A task that ran this long before failing starts again from the first backoff.
const HEALTHY_RUN: Duration = Duration::from_secs(60);
/// A task waiting out a backoff at least this long counts as down.
const DOWN_AFTER_BACKOFF: Duration = Duration::from_secs(1);

/// The state of one supervised task.
#[derive(Debug)]
pub struct TaskState {
    /// The task's name, e.g. `dispatch-queue-worker-0`.
    pub name: String,
    /// The service whose health it is part of (`""`: the whole process).
    pub service: String,
    up: AtomicBool,
    restarts: AtomicU64,
}

impl TaskState {
    /// Whether the task counts as up.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// How many times it was started again after a failure.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }
}

/// Starts tasks and keeps them running until shutdown.
#[derive(Clone)]
pub struct Supervisor {
    tasks: Arc<Mutex<Vec<Arc<TaskState>>>>,
    handles: Arc<Mutex<Vec<JoinHandle<()>>>>,
    changed: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
}

impl Supervisor {
    /// A supervisor whose tasks stop when `shutdown` turns true.
    pub fn new(shutdown: watch::Receiver<bool>) -> Self {
        Supervisor {
            tasks: Arc::default(),
            handles: Arc::default(),
            changed: Arc::new(Notify::new()),
            shutdown,
        }
    }

    /// Runs `make()` as task `name` of `service`, again after every failure, until shutdown.
    /// `make` receives the shutdown signal; the future it returns should end only on it.
    pub fn spawn<F, Fut>(&self, service: &str, name: impl Into<String>, make: F) -> Arc<TaskState>
    where
        F: Fn(watch::Receiver<bool>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let state = Arc::new(TaskState {
            name: name.into(),
            service: service.to_owned(),
            up: AtomicBool::new(true),
            restarts: AtomicU64::new(0),
        });
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.push(state.clone());
        }
        let handle = tokio::spawn(supervise(
            state.clone(),
            self.changed.clone(),
            self.shutdown.clone(),
            make,
        ));
        if let Ok(mut handles) = self.handles.lock() {
            handles.push(handle);
        }
        state
    }

    /// Every task started so far.
    pub fn tasks(&self) -> Vec<Arc<TaskState>> {
        self.tasks.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// The tasks of `service` that are down.
    pub fn down(&self, service: &str) -> Vec<String> {
        self.tasks()
            .iter()
            .filter(|t| (t.service == service || t.service.is_empty()) && !t.is_up())
            .map(|t| t.name.clone())
            .collect()
    }

    /// Notified whenever a task goes down or comes back up.
    pub fn changed(&self) -> Arc<Notify> {
        self.changed.clone()
    }

    /// Waits for every task to end (after shutdown turned true).
    pub async fn join(&self) {
        let handles: Vec<JoinHandle<()>> = self
            .handles
            .lock()
            .map(|mut h| h.drain(..).collect())
            .unwrap_or_default();
        for handle in handles {
            let _ = handle.await;
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

async fn supervise<F, Fut>(
    state: Arc<TaskState>,
    changed: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    make: F,
) where
    F: Fn(watch::Receiver<bool>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = tokio::time::Instant::now();
        // The panic is caught here, in the supervising task, so nothing of the failed run
        // outlives it; a panic inside `make` itself is caught the same way.
        let outcome = std::panic::AssertUnwindSafe(async { make(shutdown.clone()).await })
            .catch_unwind()
            .await;
        if *shutdown.borrow() {
            break;
        }
        match outcome {
            Ok(()) => tracing::error!(task = %state.name, "task ended before shutdown; restarting"),
            Err(panic) => tracing::error!(
                task = %state.name,
                panic = %panic_message(panic.as_ref()),
                "task panicked; restarting"
            ),
        }
        if started.elapsed() >= HEALTHY_RUN {
            backoff = FIRST_BACKOFF;
        }
        if backoff >= DOWN_AFTER_BACKOFF {
            state.up.store(false, Ordering::Relaxed);
            changed.notify_waiters();
            tracing::error!(task = %state.name, backoff_ms = backoff.as_millis() as u64, "task keeps failing; its service reports NOT_SERVING until it runs again");
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
        state.restarts.fetch_add(1, Ordering::Relaxed);
        if !state.is_up() {
            state.up.store(true, Ordering::Relaxed);
            changed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[tokio::test]
    async fn a_panicking_task_is_restarted_and_finishes_its_work() {
        let (stop, stopped) = watch::channel(false);
        let supervisor = Supervisor::new(stopped);
        let runs = Arc::new(AtomicU32::new(0));
        let (done_tx, mut done) = watch::channel(0_u32);
        let done_tx = Arc::new(done_tx);
        let counter = runs.clone();
        let state = supervisor.spawn("svc", "flaky", move |mut shutdown| {
            let run = counter.fetch_add(1, Ordering::SeqCst);
            let done_tx = done_tx.clone();
            async move {
                if run < 2 {
                    panic!("injected failure {run}");
                }
                let _ = done_tx.send(run);
                let _ = shutdown.changed().await;
            }
        });
        let finished = tokio::time::timeout(Duration::from_secs(5), done.wait_for(|r| *r == 2))
            .await
            .map(|r| r.map(|v| *v));
        assert_eq!(finished.ok().and_then(Result::ok), Some(2));
        assert_eq!(state.restarts(), 2);
        assert!(state.is_up());
        let _ = stop.send(true);
        supervisor.join().await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_task_that_keeps_failing_counts_as_down_for_its_service_only() {
        let (stop, stopped) = watch::channel(false);
        let supervisor = Supervisor::new(stopped);
        supervisor.spawn("dispatch", "broken", |_| async { panic!("always") });
        supervisor.spawn("intake", "fine", |mut shutdown| async move {
            let _ = shutdown.changed().await;
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while supervisor.down("dispatch").is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(supervisor.down("dispatch"), vec!["broken".to_owned()]);
        assert!(supervisor.down("intake").is_empty());
        let _ = stop.send(true);
        supervisor.join().await;
    }
}
