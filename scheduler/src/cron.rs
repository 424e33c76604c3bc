//! The cron table: refresh jobs per configured interval (see
//! `kronos_shared::jobs::refresh_schedule`).

use std::time::Duration;

use kronos_shared::{
    db::DbPool,
    jobs::{enqueue::DispatchSignal, refresh_schedule},
    market_data::Interval,
};
use tracing::{info, warn};

/// Which intervals are refreshed and how long after a bar closes.
#[derive(Debug, Clone)]
pub struct RefreshCron {
    /// Intervals (`KRONOS_REFRESH_INTERVALS`, default `1h,1d`; empty: none).
    pub intervals: Vec<Interval>,
    /// Wait after a bar closes (`KRONOS_REFRESH_SETTLE_SECS`, default 30).
    pub settle: Duration,
}

impl RefreshCron {
    /// Reads the cron settings from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        let raw = std::env::var("KRONOS_REFRESH_INTERVALS").unwrap_or_else(|_| "1h,1d".into());
        let intervals = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<Interval>().map_err(|e| anyhow::anyhow!("KRONOS_REFRESH_INTERVALS: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let settle = match std::env::var("KRONOS_REFRESH_SETTLE_SECS") {
            Ok(v) => v.trim().parse::<u64>().map_err(|_| anyhow::anyhow!("KRONOS_REFRESH_SETTLE_SECS={v:?}"))?,
            Err(_) => 30,
        };
        Ok(Self { intervals, settle: Duration::from_secs(settle) })
    }

    /// Checks every `every` whether a refresh is due, forever.
    pub async fn run(self, pool: DbPool, signal: DispatchSignal, every: Duration) {
        if self.intervals.is_empty() {
            return std::future::pending().await;
        }
        let settle = chrono::Duration::from_std(self.settle).unwrap_or_else(|_| chrono::Duration::seconds(30));
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let mut conn = match pool.get().await {
                Ok(conn) => conn,
                Err(e) => {
                    warn!(error = %e, "cron: no database connection");
                    continue;
                }
            };
            for &interval in &self.intervals {
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
}
