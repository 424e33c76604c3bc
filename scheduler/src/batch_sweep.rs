//! The batch sweep: every few seconds, running batches whose chunks have all ended
//! without a finishing job get one. Workers queue it after a batch's last chunk; this
//! covers a worker lost between the chunk and that step.

use std::time::Duration;

use kronos_db::{batches, DbPool};
use kronos_queue::enqueue::DispatchSignal;
use tracing::{info, warn};

/// Sweeps every `every`, forever.
pub async fn run(pool: DbPool, signal: DispatchSignal, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Some(mut conn) = crate::checkout(&pool).await else { continue };
        match sweep(&mut conn).await {
            Ok(0) => {}
            Ok(n) => {
                info!(batches = n, "batch sweep: finishing jobs queued");
                signal.wake();
            }
            Err(e) => warn!(error = %e, "batch sweep failed; retried next tick"),
        }
    }
}

/// One pass; returns how many finishing jobs it queued.
pub async fn sweep(conn: &mut diesel_async::AsyncPgConnection) -> Result<usize, kronos_db::Error> {
    let mut queued = 0;
    for batch in batches::ready_to_finish(conn, 100).await? {
        if batches::enqueue_finish(conn, &batch).await? {
            queued += 1;
        }
    }
    Ok(queued)
}
