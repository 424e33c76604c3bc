//! Refresh jobs per configured interval, after each bar closes (see
//! [`crate::refresh_schedule`]).

use std::time::Duration;

use kronos_config::RefreshSchedule;
use kronos_db::DbPool;
use kronos_queue::enqueue::DispatchSignal;

use crate::refresh_schedule;
use tracing::{info, warn};

/// Checks every `every` whether a refresh of `schedule` is due, forever.
pub async fn run(schedule: RefreshSchedule, pool: DbPool, signal: DispatchSignal, every: Duration) {
    if schedule.intervals.is_empty() {
        return std::future::pending().await;
    }
    let settle = chrono::Duration::from_std(schedule.settle).unwrap_or_else(|_| chrono::Duration::seconds(30));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Some(mut conn) = crate::checkout(&pool).await else { continue };
        for &interval in &schedule.intervals {
            match refresh_schedule::enqueue_due(&mut conn, interval, chrono::Utc::now(), settle).await {
                Ok(Some(id)) => {
                    info!(%interval, job = %id, "refresh job enqueued");
                    signal.wake();
                }
                Ok(None) => {}
                Err(e) => warn!(%interval, error = %e, "cron: could not enqueue a refresh"),
            }
        }
    }
}
