//! The refresh cron: after each bar of a scheduled interval closes (plus a settling
//! delay, so exchanges have published it), one refresh job for that interval, unless
//! one is still waiting or running. An idempotency key per (interval, bar) makes a
//! second scheduler, or a restart, enqueue nothing twice.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use kronos_db::jobs::{self, Inserted, NewJob};
use kronos_types::{
    jobs::{payload::RefreshPayload, JobKind},
    Interval,
};
use uuid::Uuid;

use crate::error::Result;

/// Refresh jobs retry this many times (sources come back).
const MAX_ATTEMPTS: i32 = 5;

/// Enqueues the refresh of `interval` for the last bar closed `settle` before `now`,
/// when not done yet and no refresh of that interval is pending. Returns the new
/// job's id.
pub async fn enqueue_due(
    conn: &mut AsyncPgConnection,
    interval: Interval,
    now: DateTime<Utc>,
    settle: chrono::Duration,
) -> Result<Option<Uuid>> {
    let closed = interval.bar_start(now - settle);
    if jobs::pending_refreshes(conn, interval.as_str()).await? > 0 {
        return Ok(None);
    }
    let payload = RefreshPayload { interval, symbols: Vec::new(), since: None };
    let key = format!("refresh:{interval}:{}", closed.timestamp());
    let job =
        NewJob::new(JobKind::Refresh, serde_json::to_value(&payload)?, MAX_ATTEMPTS).with_key(key).with_priority(1);
    match jobs::insert_batch(conn, &[job]).await?.pop() {
        Some(Inserted::Created(job)) => Ok(Some(job.id)),
        _ => Ok(None),
    }
}
