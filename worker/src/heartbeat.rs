//! Renews the leases of the jobs this process is running.

use std::time::Duration;

use kronos_db::{jobs, DbPool};
use tracing::warn;

/// Every `every`, marks this process's running jobs alive.
pub async fn run(pool: DbPool, worker_name: String, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let result = match pool.get().await {
            Ok(mut conn) => jobs::heartbeat(&mut conn, &worker_name).await.map(|_| ()),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = result {
            warn!(error = %e, "heartbeat failed");
        }
    }
}
