//! The refresh cron: after each bar of a scheduled interval closes (plus a settling
//! delay, so exchanges have published it), one refresh job for that interval, unless
//! one is still waiting or running. An idempotency key per (interval, bar) makes a
//! second scheduler, or a restart, enqueue nothing twice.

use chrono::{DateTime, Utc};
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{payload::RefreshPayload, JobKind};
use crate::{
    db::jobs::{self, Inserted, NewJob},
    error::Result,
    market_data::Interval,
};

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
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let closed = interval.bar_start(now - settle);
    let pending: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM jobs
         WHERE kind = 'refresh' AND status IN ('queued', 'running', 'retrying') AND payload->>'interval' = $1",
    )
    .bind::<Text, _>(interval.as_str())
    .get_result(conn)
    .await?;
    if pending.n > 0 {
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
