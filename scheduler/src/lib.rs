//! The scheduler's work, as a library so the tests drive it: the cron table and its
//! tasks (verification, retraining, cleanup), the refresh schedule, and the billing
//! review (tiers whose grace or paid period is over), and the model pools' scheduled
//! forecasts. The binary
//! (`main.rs`) adds leader election, the dispatcher and the reconciler.

pub mod batch_sweep;
pub mod billing_review;
pub mod cron_table;
pub mod cron_tasks;
pub mod error;
pub mod pool_forecasts;
pub mod refresh_cron;
pub mod refresh_schedule;

pub use error::{Error, Result};

/// A pooled connection for one cron tick; `None` (logged) when the database is away,
/// and the tick is skipped.
pub(crate) async fn checkout(pool: &kronos_db::DbPool) -> Option<kronos_db::DbConn> {
    match pool.get().await {
        Ok(conn) => Some(conn),
        Err(e) => {
            tracing::warn!(error = %e, "cron: no database connection");
            None
        }
    }
}
