//! The dispatcher: moves due jobs from PostgreSQL into Redis, metered so that no
//! queue holds more than `backlog_max` jobs waiting to be fetched (apalis-redis stops
//! every worker on a queue above ~8k due jobs).

use std::time::Duration;

use tracing::{debug, warn};

use crate::{enqueue::DispatchSignal, transport::QueueTransport};
use kronos_config::QueueConfig;
use kronos_db::{jobs, DbPool};
use kronos_observability::Metrics;
use kronos_types::jobs::JobKind;

use crate::error::Result;

/// Most jobs taken from PostgreSQL in one round.
const ROUND: i64 = 1000;

/// How long an idle dispatcher sleeps when nobody wakes it.
const IDLE_TICK: Duration = Duration::from_millis(100);

/// Moves jobs from PostgreSQL into Redis.
#[derive(Clone)]
pub struct Dispatcher {
    pool: DbPool,
    transport: QueueTransport,
    config: QueueConfig,
    signal: DispatchSignal,
    metrics: Metrics,
}

impl Dispatcher {
    /// A dispatcher over these handles (`pool` may be a `db::relaxed_pool`: a lost
    /// dispatch stamp only causes a harmless second push).
    pub fn new(
        pool: DbPool,
        transport: QueueTransport,
        config: QueueConfig,
        signal: DispatchSignal,
        metrics: Metrics,
    ) -> Self {
        Self { pool, transport, config, signal, metrics }
    }

    /// Dispatches as many jobs of `kind` as the backlog allows; returns how many.
    ///
    /// The backlog is what waits in Redis for a worker to fetch it (the queue's active
    /// list and scheduled set: O(1) to read), which is exactly what apalis-redis's
    /// fetch script must not see above ~8k. A full queue costs no PostgreSQL query.
    pub async fn dispatch_kind(&self, kind: JobKind) -> Result<usize> {
        let backlog = if kind == JobKind::BatchChunk { self.config.chunk_backlog } else { self.config.backlog_max };
        let room = (backlog - self.transport.depth(kind).await?).min(ROUND);
        if room <= 0 {
            return Ok(0);
        }
        let mut conn = self.pool.get().await?;
        let taken = jobs::take_for_dispatch(&mut conn, kind, room).await?;
        if taken.is_empty() {
            return Ok(0);
        }
        if let Err(e) = self.transport.push(kind, &taken).await {
            let ids: Vec<_> = taken.iter().map(|d| d.id).collect();
            jobs::undispatch(&mut conn, &ids).await?;
            return Err(e);
        }
        self.metrics.dispatched.with_label_values(&[kind.as_str()]).inc_by(taken.len() as u64);
        debug!(job.kind = kind.as_str(), count = taken.len(), "dispatched jobs");
        Ok(taken.len())
    }

    /// One pass over `kinds`; returns how many jobs moved and which kinds moved any.
    async fn dispatch_kinds(&self, kinds: &[JobKind]) -> (usize, Vec<JobKind>) {
        let mut moved = 0;
        let mut busy = Vec::new();
        for &kind in kinds {
            match self.dispatch_kind(kind).await {
                Ok(0) => {}
                Ok(n) => {
                    moved += n;
                    busy.push(kind);
                }
                Err(e) => {
                    warn!(job.kind = kind.as_str(), error = %e, "dispatch failed; will retry")
                }
            }
        }
        (moved, busy)
    }

    /// One pass over every kind; returns how many jobs moved.
    pub async fn dispatch_all(&self) -> usize {
        self.dispatch_kinds(&JobKind::ALL).await.0
    }

    /// Which kinds have jobs waiting in PostgreSQL (every kind when that cannot be read).
    async fn kinds_due(&self) -> Vec<JobKind> {
        let due = match self.pool.get().await {
            Ok(mut conn) => jobs::kinds_due(&mut conn, &JobKind::ALL).await.map_err(crate::Error::from),
            Err(e) => Err(e.into()),
        };
        due.unwrap_or_else(|e| {
            warn!(error = %e, "cannot read which kinds are due; trying them all");
            JobKind::ALL.to_vec()
        })
    }

    /// Runs forever. Kinds that just moved jobs are polled again at once and on every
    /// wake-up; on the idle tick one query finds the kinds with jobs waiting, so an idle
    /// dispatcher costs one round trip per tick.
    pub async fn run(self) {
        let mut hot: Vec<JobKind> = Vec::new();
        let mut tick = tokio::time::interval(IDLE_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let woken = tokio::select! {
                _ = tick.tick() => false,
                _ = self.signal.woken() => true,
            };
            let kinds = if woken && !hot.is_empty() { hot.clone() } else { self.kinds_due().await };
            loop {
                let (moved, busy) = self.dispatch_kinds(&kinds).await;
                if !busy.is_empty() {
                    hot = busy;
                }
                if moved == 0 {
                    break;
                }
            }
        }
    }
}
