//! The enqueue interface: write the job row first, then wake the dispatcher.

use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use tokio::sync::Notify;

use crate::{
    db::jobs::{self, Inserted, NewJob},
    error::Result,
};

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

/// Writes the job row (status `queued`, honouring its idempotency key) and wakes the
/// dispatcher. The row is committed before anything reaches Redis.
pub async fn enqueue(conn: &mut AsyncPgConnection, job: &NewJob, signal: &DispatchSignal) -> Result<Inserted> {
    let inserted = jobs::insert_idempotent(conn, job).await?;
    if matches!(inserted, Inserted::Created(_)) {
        signal.wake();
    }
    Ok(inserted)
}

/// Writes many job rows in one statement and wakes the dispatcher.
pub async fn enqueue_many(conn: &mut AsyncPgConnection, new: &[NewJob], signal: &DispatchSignal) -> Result<usize> {
    let n = jobs::insert_many(conn, new).await?;
    signal.wake();
    Ok(n)
}
