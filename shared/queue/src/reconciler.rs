//! The reconciler: repairs the gap between PostgreSQL and Redis.
//!
//! - running jobs whose worker stopped heart-beating go back to `retrying` (or `failed`
//!   when their attempts are spent);
//! - dispatched jobs that Redis no longer knows (FLUSHALL, restart without persistence)
//!   are returned to the dispatcher;
//! - finished apalis task data is deleted from Redis.

use std::time::Duration;

use tracing::{info, warn};

use crate::{enqueue::DispatchSignal, transport::QueueTransport};
use kronos_config::QueueConfig;
use kronos_db::{jobs, DbPool};
use kronos_observability::Metrics;
use kronos_types::jobs::JobKind;

use crate::error::Result;

/// Dispatched jobs checked against Redis per kind and pass.
const CHECK_BATCH: i64 = 5000;

/// Finished tasks vacuumed from Redis per kind and pass.
const VACUUM_BATCH: usize = 5000;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Running jobs whose lease expired.
    pub expired_leases: usize,
    /// Dispatched jobs missing from Redis, returned to the dispatcher.
    pub lost: usize,
    /// Finished tasks removed from Redis.
    pub vacuumed: usize,
}

/// Repairs PostgreSQL/Redis drift.
#[derive(Clone)]
pub struct Reconciler {
    pool: DbPool,
    transport: QueueTransport,
    config: QueueConfig,
    signal: DispatchSignal,
    metrics: Metrics,
}

impl Reconciler {
    /// A reconciler over these handles.
    pub fn new(
        pool: DbPool,
        transport: QueueTransport,
        config: QueueConfig,
        signal: DispatchSignal,
        metrics: Metrics,
    ) -> Self {
        Self { pool, transport, config, signal, metrics }
    }

    /// One pass.
    pub async fn run_once(&self) -> Result<ReconcileReport> {
        let mut report = ReconcileReport::default();
        let mut conn = self.pool.get().await?;
        let expired = jobs::expire_leases(&mut conn, self.config.lease.as_millis() as i64).await?;
        report.expired_leases = expired.len();
        if !expired.is_empty() {
            warn!(count = expired.len(), "expired job leases (worker lost); jobs return to the queue");
            self.metrics.leases_expired.inc_by(expired.len() as u64);
        }
        for kind in JobKind::ALL {
            let old = self.config.redispatch_check.as_millis() as i64;
            let stale = jobs::dispatched_before(&mut conn, kind, old, CHECK_BATCH).await?;
            let missing = self.transport.missing(kind, &stale).await?;
            if !missing.is_empty() {
                let n = jobs::undispatch(&mut conn, &missing).await?;
                report.lost += n;
                self.metrics.redispatched.with_label_values(&[kind.as_str()]).inc_by(n as u64);
                warn!(job.kind = kind.as_str(), count = n, "jobs lost from Redis; re-dispatching");
            }
            report.vacuumed += self.transport.vacuum(kind, VACUUM_BATCH).await?;
        }
        if report.expired_leases + report.lost > 0 {
            self.signal.wake();
        }
        Ok(report)
    }

    /// Runs a pass every `every`, forever.
    pub async fn run(self, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match self.run_once().await {
                Ok(r) if r.expired_leases + r.lost > 0 => info!(?r, "reconciled"),
                Ok(_) => {}
                Err(e) => warn!(error = %e, "reconcile pass failed; will retry"),
            }
        }
    }
}
