//! Queries on `jobs`: PostgreSQL is the system of record for every job.
//!
//! Every status change is a guarded UPDATE that names the statuses it may leave,
//! so a late or duplicate delivery can never move a job backwards.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Integer, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use kronos_types::jobs::{JobKind, JobStatus};
use serde::Serialize;
use uuid::Uuid;

use super::schema::jobs;
use crate::error::Result;

mod dispatch;
mod submit;
pub mod watch;
pub use dispatch::{dispatched_before, queued_in_transport, take_for_dispatch, undispatch, Dispatch};

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
    /// Only jobs of this batch.
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
    if let Some(batch) = filter.batch_id {
        query = query.filter(jobs::batch_id.eq(batch));
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

/// A job a worker has just claimed.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    /// Job id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// Kind.
    #[diesel(sql_type = Text, deserialize_as = crate::words::Word<JobKind>)]
    pub kind: JobKind,
    /// Payload, as JSON text (parsed straight into the kind's payload type).
    #[diesel(sql_type = Text)]
    pub payload: String,
    /// This attempt's number (1-based); completion is guarded by it.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// Most attempts.
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
}

/// Moves a job to `running` for `worker`, only from `queued`/`retrying` and only when no
/// cancellation was asked for. `None` means someone else has it or it is finished.
pub async fn claim(conn: &mut AsyncPgConnection, id: Uuid, worker: &str, device: &str) -> Result<Option<Claimed>> {
    Ok(claim_many(conn, &[id], worker, device).await?.pop())
}

/// Claims many jobs at once (see [`claim`]); returns those this worker now owns.
pub async fn claim_many(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    worker: &str,
    device: &str,
) -> Result<Vec<Claimed>> {
    Ok(diesel::sql_query(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker = $2, device = $3,
            started_at = coalesce(started_at, now()), heartbeat_at = now(), updated_at = now(),
            dispatched_at = NULL
         WHERE id IN (SELECT id FROM jobs
                      WHERE id = ANY($1) AND status IN ('queued', 'retrying') AND NOT cancel_requested
                      ORDER BY id FOR UPDATE)
           AND status IN ('queued', 'retrying') AND NOT cancel_requested
         RETURNING id, kind, payload::text AS payload, attempts, max_attempts",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Text, _>(worker)
    .bind::<Text, _>(device)
    .load(conn)
    .await?)
}

/// Marks many (job, attempt) pairs succeeded (see [`mark_succeeded`]); returns the ids
/// whose attempt still owned the job. Rows are locked in id order, as [`claim_many`]
/// does, so concurrent batches cannot deadlock.
pub async fn mark_succeeded_many(conn: &mut AsyncPgConnection, ids: &[Uuid], attempts: &[i32]) -> Result<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let rows: Vec<Id> = diesel::sql_query(
        "WITH locked AS (SELECT id FROM jobs WHERE id = ANY($1) ORDER BY id FOR UPDATE)
         UPDATE jobs j SET status = 'succeeded', progress = 1, error = NULL, finished_at = now(), updated_at = now()
         FROM unnest($1::uuid[], $2::int[]) AS t(id, attempt), locked l
         WHERE j.id = t.id AND l.id = t.id AND j.status = 'running' AND j.attempts = t.attempt
           AND NOT j.cancel_requested
         RETURNING j.id",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<Integer>, _>(attempts)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Renews the lease of every job `worker` is running; returns how many.
///
/// Rows locked by another statement (a completion batch, a cancellation) are skipped,
/// not waited for: they are changing hands anyway, and waiting would let a heartbeat
/// deadlock with a completion batch that locks the same rows in another order.
pub async fn heartbeat(conn: &mut AsyncPgConnection, worker: &str) -> Result<usize> {
    Ok(diesel::sql_query(
        "UPDATE jobs SET heartbeat_at = now()
         WHERE id IN (SELECT id FROM jobs WHERE worker = $1 AND status = 'running' FOR UPDATE SKIP LOCKED)
           AND status = 'running'",
    )
    .bind::<Text, _>(worker)
    .execute(conn)
    .await?)
}

/// Whether a client asked to cancel the job.
pub async fn cancel_requested(conn: &mut AsyncPgConnection, id: Uuid) -> Result<bool> {
    Ok(jobs::table.find(id).select(jobs::cancel_requested).first(conn).await.optional()?.unwrap_or(true))
}

/// Records progress (0..1) of a running attempt.
pub async fn set_progress(conn: &mut AsyncPgConnection, id: Uuid, attempt: i32, progress: f32) -> Result<()> {
    diesel::update(jobs::table)
        .filter(jobs::id.eq(id))
        .filter(jobs::status.eq(JobStatus::Running.as_str()))
        .filter(jobs::attempts.eq(attempt))
        .set((
            jobs::progress.eq(progress),
            jobs::heartbeat_at.eq(diesel::dsl::now),
            jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records progress (0..1) and a progress document (shown as the job's `result` while it
/// runs) of a running attempt. `false` when the attempt no longer owns the job.
pub async fn report_progress(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    attempt: i32,
    progress: f32,
    report: &serde_json::Value,
) -> Result<bool> {
    let n = diesel::update(jobs::table)
        .filter(jobs::id.eq(id))
        .filter(jobs::status.eq(JobStatus::Running.as_str()))
        .filter(jobs::attempts.eq(attempt))
        .set((
            jobs::progress.eq(progress),
            jobs::result.eq(Some(report)),
            jobs::heartbeat_at.eq(diesel::dsl::now),
            jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Marks attempt `attempt` succeeded. `false` when the attempt no longer owns the job
/// (lease expired, cancelled, or already finished): the caller must not write results.
pub async fn mark_succeeded(conn: &mut AsyncPgConnection, id: Uuid, attempt: i32) -> Result<bool> {
    Ok(!mark_succeeded_many(conn, &[id], &[attempt]).await?.is_empty())
}

/// Marks attempt `attempt` succeeded with a result document (see [`mark_succeeded`]).
pub async fn mark_succeeded_with_result(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    attempt: i32,
    result: &serde_json::Value,
) -> Result<bool> {
    let n = diesel::update(jobs::table)
        .filter(jobs::id.eq(id))
        .filter(jobs::status.eq(JobStatus::Running.as_str()))
        .filter(jobs::attempts.eq(attempt))
        .filter(jobs::cancel_requested.eq(false))
        .set((
            jobs::status.eq(JobStatus::Succeeded.as_str()),
            jobs::progress.eq(1.0f32),
            jobs::error.eq(None::<String>),
            jobs::result.eq(Some(result)),
            jobs::finished_at.eq(diesel::dsl::now),
            jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Marks a running attempt cancelled (the worker saw the cancel flag).
pub async fn mark_cancelled(conn: &mut AsyncPgConnection, id: Uuid, attempt: i32) -> Result<bool> {
    let n = diesel::update(jobs::table)
        .filter(jobs::id.eq(id))
        .filter(jobs::status.eq(JobStatus::Running.as_str()))
        .filter(jobs::attempts.eq(attempt))
        .set((
            jobs::status.eq(JobStatus::Cancelled.as_str()),
            jobs::finished_at.eq(diesel::dsl::now),
            jobs::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Records a failed attempt: `retrying` after `backoff_ms` while attempts remain and the
/// error is retryable, otherwise `failed`. Returns the new status, `None` when the attempt
/// no longer owns the job.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    attempt: i32,
    error: &str,
    retryable: bool,
    backoff_ms: i64,
) -> Result<Option<JobStatus>> {
    #[derive(QueryableByName)]
    struct Status {
        #[diesel(sql_type = Text, deserialize_as = crate::words::Word<JobStatus>)]
        status: JobStatus,
    }
    let row: Option<Status> = diesel::sql_query(
        "UPDATE jobs SET
            status = CASE WHEN cancel_requested THEN 'cancelled'
                          WHEN $4 AND attempts < max_attempts THEN 'retrying' ELSE 'failed' END,
            run_after = now() + make_interval(secs => $5::bigint / 1000.0),
            finished_at = CASE WHEN $4 AND attempts < max_attempts AND NOT cancel_requested THEN NULL ELSE now() END,
            error = $3, dispatched_at = NULL, updated_at = now()
         WHERE id = $1 AND status = 'running' AND attempts = $2
         RETURNING status",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Integer, _>(attempt)
    .bind::<Text, _>(error)
    .bind::<diesel::sql_types::Bool, _>(retryable)
    .bind::<BigInt, _>(backoff_ms)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| r.status))
}

/// Running jobs whose worker stopped heart-beating for `lease_ms`: back to `retrying`
/// (counted as an attempt), or `failed` when attempts are spent, or `cancelled` when asked.
pub async fn expire_leases(conn: &mut AsyncPgConnection, lease_ms: i64) -> Result<Vec<Uuid>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let rows: Vec<Id> = diesel::sql_query(
        "UPDATE jobs SET
            status = CASE WHEN cancel_requested THEN 'cancelled'
                          WHEN attempts >= max_attempts THEN 'failed' ELSE 'retrying' END,
            finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN now() ELSE NULL END,
            error = 'worker ' || coalesce(worker, '?') || ' stopped responding (no heartbeat)',
            dispatched_at = NULL, run_after = now(), updated_at = now()
         WHERE id IN (SELECT id FROM jobs
                      WHERE status = 'running' AND heartbeat_at < now() - make_interval(secs => $1::bigint / 1000.0)
                      FOR UPDATE SKIP LOCKED)
           AND status = 'running' AND heartbeat_at < now() - make_interval(secs => $1::bigint / 1000.0)
         RETURNING id",
    )
    .bind::<BigInt, _>(lease_ms)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
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
