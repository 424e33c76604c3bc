//! A worker's attempt at a job: claiming it, heartbeats, progress, its outcome
//! (succeeded, cancelled, failed or retrying) and the leases of workers that went away.
//! Every change names the attempt it belongs to, so a stale worker cannot overwrite a
//! newer one.

use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Integer, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use kronos_types::jobs::{JobKind, JobStatus};
use uuid::Uuid;

use crate::{error::Result, schema::jobs};

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
    /// Its owner (`None`: the platform's own work).
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub owner_id: Option<i64>,
    /// The `X-Request-Id` of the request that made it.
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub request_id: Option<String>,
    /// The bulk batch it is part of.
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    pub batch_id: Option<Uuid>,
    /// Where its completion is posted.
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub callback_url: Option<String>,
    /// The API key it was submitted with.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub api_key_id: Option<i64>,
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
         RETURNING id, kind, payload::text AS payload, attempts, max_attempts, owner_id, request_id, batch_id,
                   callback_url, api_key_id",
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
