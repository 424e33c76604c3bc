//! The enqueue interface: write the job row first, then wake the dispatcher.
//!
//! Concurrent submissions are coalesced into multi-row INSERTs (one commit per batch),
//! which is what lets one API process accept thousands of jobs a second.

use std::sync::Arc;

use tokio::sync::Notify;

use kronos_db::{
    batching::Coalescer,
    jobs::{self, Inserted, NewJob},
    DbPool,
};

use crate::error::{Error, Result};

/// Most jobs written in one INSERT.
const MAX_BATCH: usize = 256;

/// Batches written at once.
const IN_FLIGHT: usize = 4;

/// Wakes the in-process dispatcher when new jobs are written (other processes'
/// dispatchers find them on their next tick).
#[derive(Debug, Clone, Default)]
pub struct DispatchSignal(Arc<Notify>);

impl DispatchSignal {
    /// A fresh signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes the dispatcher.
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Waits for a wake-up.
    pub async fn woken(&self) {
        self.0.notified().await;
    }
}

/// Writes job rows (status `queued`, honouring idempotency keys), batching concurrent
/// callers, and wakes the dispatcher after each commit.
#[derive(Clone)]
pub struct Enqueuer {
    writer: Coalescer<NewJob, std::result::Result<Inserted, String>>,
}

impl Enqueuer {
    /// Starts the batching writer.
    pub fn start(pool: DbPool, signal: DispatchSignal) -> Self {
        let writer = Coalescer::start(MAX_BATCH, IN_FLIGHT, move |batch: Vec<NewJob>| {
            let pool = pool.clone();
            let signal = signal.clone();
            async move {
                let n = batch.len();
                let result = async {
                    let mut conn = pool.get().await?;
                    jobs::insert_batch(&mut conn, &batch).await
                }
                .await;
                match result {
                    Ok(rows) => {
                        signal.wake();
                        rows.into_iter().map(Ok).collect()
                    }
                    Err(e) => vec![Err(e.to_string()); n],
                }
            }
        });
        Self { writer }
    }

    /// Writes one job (committed before this returns) and wakes the dispatcher.
    pub async fn enqueue(&self, job: NewJob) -> Result<Inserted> {
        self.writer.call(job).await.map_err(|e| Error::Batch(e.to_string()))?.map_err(Error::Batch)
    }
}
