//! A running job's progress, written to `jobs.progress` and `jobs.result` every second
//! (stage, done, total), and the cancel flag raised when a client cancels or the
//! attempt loses the job. Backtests, evaluations and Kronos predictions report this way.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use kronos_db::{jobs, DbPool};
use serde_json::json;
use tokio::task::JoinHandle;
use tracing::warn;
use uuid::Uuid;

const REPORT_EVERY: Duration = Duration::from_secs(1);

/// Shared progress counters.
#[derive(Debug, Default)]
pub struct Progress {
    stage: Mutex<&'static str>,
    done: AtomicUsize,
    total: AtomicUsize,
    cancelled: AtomicBool,
}

impl Progress {
    /// Enters a stage of `total` units.
    pub fn stage(&self, stage: &'static str, total: usize) {
        if let Ok(mut s) = self.stage.lock() {
            *s = stage;
        }
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    /// Counts one unit done.
    pub fn advance(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets the units done (for work that counts elsewhere, as a forecast's decode steps).
    pub fn set_done(&self, done: usize) {
        self.done.store(done, Ordering::Relaxed);
    }

    /// The units-done counter (for work that counts itself, as a sweep).
    pub fn counter(&self) -> &AtomicUsize {
        &self.done
    }

    /// Whether the job should stop.
    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    fn snapshot(&self) -> (&'static str, usize, usize) {
        let stage = self.stage.lock().map(|s| *s).unwrap_or("running");
        (stage, self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed))
    }
}

/// The reporting task; stops when dropped.
pub struct Reporter {
    handle: JoinHandle<()>,
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl Reporter {
    /// Starts reporting `progress` of attempt `attempt` of job `id`.
    pub fn start(pool: DbPool, id: Uuid, attempt: i32, progress: Arc<Progress>) -> Self {
        let handle = tokio::spawn(async move {
            // the first report after a second: short jobs never write one
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + REPORT_EVERY, REPORT_EVERY);
            loop {
                ticker.tick().await;
                let Ok(mut conn) = pool.get().await else { continue };
                let (stage, done, total) = progress.snapshot();
                let fraction = if total == 0 { 0.0 } else { done as f32 / total as f32 };
                let doc = json!({ "progress": { "stage": stage, "done": done, "total": total } });
                match jobs::report_progress(&mut conn, id, attempt, fraction.min(0.99), &doc).await {
                    Ok(false) => progress.cancelled.store(true, Ordering::Relaxed),
                    Ok(true) => {}
                    Err(e) => warn!(error = %e, "could not record job progress"),
                }
                if jobs::cancel_requested(&mut conn, id).await.unwrap_or(false) {
                    progress.cancelled.store(true, Ordering::Relaxed);
                }
            }
        });
        Self { handle }
    }
}
