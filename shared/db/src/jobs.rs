//! Queries on `jobs`: PostgreSQL is the system of record for every job.
//!
//! Every status change is a guarded UPDATE that names the statuses it may leave,
//! so a late or duplicate delivery can never move a job backwards.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, sql_types::Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use kronos_types::jobs::{JobKind, JobStatus};
use serde::Serialize;
use uuid::Uuid;

use super::schema::jobs;
use crate::error::Result;

mod attempts;
mod dispatch;
mod submit;
pub mod watch;
pub use attempts::{
    cancel_requested, claim, claim_many, expire_leases, heartbeat, mark_cancelled, mark_failed, mark_succeeded,
    mark_succeeded_many, mark_succeeded_with_result, report_progress, set_progress, Claimed,
};
pub use dispatch::{dispatched_before, kinds_due, queued_in_transport, take_for_dispatch, undispatch, Dispatch};

/// A row of `jobs`, without its payload (read it with [`payload`]): status reads are
/// the hottest query and payloads can hold thousands of candles.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, Serialize)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
pub struct Job {
    /// Job id (UUIDv7: time-ordered).
    pub id: Uuid,
    /// What the job does.
    #[diesel(deserialize_as = crate::words::Word<JobKind>)]
    pub kind: JobKind,
    /// Where it is in its lifecycle.
    #[diesel(deserialize_as = crate::words::Word<JobStatus>)]
    pub status: JobStatus,
    /// Owner (users arrive later).
    pub owner_id: Option<i64>,
    /// Client-supplied idempotency key.
    pub idempotency_key: Option<String>,
    /// SHA-256 of the request body, to detect key reuse with another body.
    pub request_hash: Option<String>,
    /// Bulk batch this job belongs to.
    pub batch_id: Option<Uuid>,
    /// Higher runs first.
    pub priority: i16,
    /// Attempts started so far.
    pub attempts: i32,
    /// Most attempts allowed.
    pub max_attempts: i32,
    /// 0..1.
    pub progress: f32,
    /// Last error, readable.
    pub error: Option<String>,
    /// Worker running (or that last ran) the job.
    pub worker: Option<String>,
    /// Device it ran on.
    pub device: Option<String>,
    /// Not to be dispatched before this time (retry backoff).
    pub run_after: DateTime<Utc>,
    /// When it was last pushed into Redis; NULL while not in Redis.
    pub dispatched_at: Option<DateTime<Utc>>,
    /// How many times it was pushed into Redis.
    pub dispatch_count: i32,
    /// Last heartbeat of the worker running it.
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// A client asked to cancel it while it was running.
    pub cancel_requested: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// First started.
    pub started_at: Option<DateTime<Utc>>,
    /// Reached a terminal status.
    pub finished_at: Option<DateTime<Utc>>,
    /// What the finished job reports (refresh: per-series counts), small JSON.
    pub result: Option<serde_json::Value>,
}

pub use submit::{find_by_key, insert_batch, insert_many, Charge, Inserted, NewJob};

/// One job by id.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Option<Job>> {
    Ok(jobs::table.find(id).select(Job::as_select()).first(conn).await.optional()?)
}

/// The payload of a job.
pub async fn payload(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Option<serde_json::Value>> {
    Ok(jobs::table.find(id).select(jobs::payload).first(conn).await.optional()?)
}

/// Filters for [`list`].
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// Only this kind.
    pub kind: Option<JobKind>,
    /// Only this status.
    pub status: Option<JobStatus>,
    /// Only jobs of this batch (`None` with no `kind`: jobs of no batch).
    pub batch_id: Option<Uuid>,
    /// Keyset cursor: jobs strictly older than this id (ids are UUIDv7, time-ordered).
    pub before: Option<Uuid>,
    /// Only this owner's jobs (`None`: everyone's).
    pub owner_id: Option<i64>,
}

/// Newest jobs first, at most `limit`, after the cursor.
pub async fn list(conn: &mut AsyncPgConnection, filter: &ListFilter, limit: i64) -> Result<Vec<Job>> {
    let mut query = jobs::table.select(Job::as_select()).into_boxed();
    if let Some(owner) = filter.owner_id {
        query = query.filter(jobs::owner_id.eq(owner));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(jobs::kind.eq(kind.as_str()));
    }
    if let Some(status) = filter.status {
        query = query.filter(jobs::status.eq(status.as_str()));
    }
    match filter.batch_id {
        Some(batch) => query = query.filter(jobs::batch_id.eq(batch)),
        // a bulk batch's own jobs (ingest, chunks, finish) are listed under its batch or
        // by kind; `GET /v1/batches` shows the batch itself
        None if filter.kind.is_none() => query = query.filter(jobs::batch_id.is_null()),
        None => {}
    }
    if let Some(id) = filter.before {
        query = query.filter(jobs::id.lt(id));
    }
    Ok(query.order(jobs::id.desc()).limit(limit).load(conn).await?)
}

/// Asks for cancellation: queued/retrying jobs are cancelled at once, running jobs are
/// flagged and stopped by their worker between steps. `None` when the job is already
/// terminal (or does not exist).
pub async fn request_cancel(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Option<Job>> {
    let job = diesel::sql_query(
        "UPDATE jobs SET
            status = CASE WHEN status IN ('queued', 'retrying') THEN 'cancelled' ELSE status END,
            finished_at = CASE WHEN status IN ('queued', 'retrying') THEN now() ELSE finished_at END,
            cancel_requested = TRUE, updated_at = now()
         WHERE id = $1 AND status IN ('queued', 'retrying', 'running')
         RETURNING *",
    )
    .bind::<SqlUuid, _>(id)
    .get_result::<Job>(conn)
    .await
    .optional()?;
    Ok(job)
}

/// Count of jobs by (kind, status), for metrics.
pub async fn counts_by_kind_status(conn: &mut AsyncPgConnection) -> Result<Vec<(String, String, i64)>> {
    Ok(jobs::table
        .group_by((jobs::kind, jobs::status))
        .select((jobs::kind, jobs::status, diesel::dsl::count_star()))
        .load(conn)
        .await?)
}

/// Training jobs that failed or were cancelled before `cutoff` (their checkpoints may go).
pub async fn ended_trainings_before(conn: &mut AsyncPgConnection, cutoff: DateTime<Utc>) -> Result<Vec<Uuid>> {
    Ok(jobs::table
        .filter(jobs::kind.eq(JobKind::Training.as_str()))
        .filter(jobs::status.eq_any([JobStatus::Failed.as_str(), JobStatus::Cancelled.as_str()]))
        .filter(jobs::finished_at.lt(cutoff))
        .select(jobs::id)
        .load(conn)
        .await?)
}

/// Refresh jobs of `interval` waiting or running.
pub async fn pending_refreshes(conn: &mut AsyncPgConnection, interval: &str) -> Result<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let pending: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM jobs
         WHERE kind = 'refresh' AND status IN ('queued', 'running', 'retrying') AND payload->>'interval' = $1",
    )
    .bind::<diesel::sql_types::Text, _>(interval)
    .get_result(conn)
    .await?;
    Ok(pending.n)
}
