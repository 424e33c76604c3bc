//! The dispatcher: moves due jobs from PostgreSQL into Redis, metered so that no
//! queue holds more than `backlog_max` unclaimed jobs (apalis-redis stops every
//! worker on a queue above ~8k due jobs).

use std::time::Duration;

use tracing::{debug, warn};

use super::{enqueue::DispatchSignal, queue::QueueTransport, JobKind};
use crate::{
    config::QueueConfig,
    db::{jobs, DbPool},
    error::Result,
    metrics::Metrics,
};

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
    /// A dispatcher over these handles.
    pub fn new(pool: DbPool, transport: QueueTransport, config: QueueConfig, signal: DispatchSignal, metrics: Metrics) -> Self {
        Self { pool, transport, config, signal, metrics }
    }

    /// Dispatches as many jobs of `kind` as the backlog allows; returns how many.
    pub async fn dispatch_kind(&self, kind: JobKind) -> Result<usize> {
        let mut conn = self.pool.get().await?;
        let in_transport = jobs::queued_in_transport(&mut conn, kind.as_str()).await?;
        let room = (self.config.backlog_max - in_transport).min(ROUND);
        if room <= 0 {
            return Ok(0);
        }
        let taken = jobs::take_for_dispatch(&mut conn, kind.as_str(), room).await?;
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

    /// One pass over every kind; returns how many jobs moved.
    pub async fn dispatch_all(&self) -> usize {
        let mut moved = 0;
        for kind in JobKind::ALL {
            match self.dispatch_kind(kind).await {
                Ok(n) => moved += n,
                Err(e) => warn!(job.kind = kind.as_str(), error = %e, "dispatch failed; will retry"),
            }
        }
        moved
    }

    /// Runs forever: dispatch, then sleep until woken or the idle tick passes.
    pub async fn run(self) {
        loop {
            if self.dispatch_all().await == 0 {
                tokio::select! {
                    _ = self.signal.woken() => {}
                    _ = tokio::time::sleep(IDLE_TICK) => {}
                }
            }
        }
    }
}
