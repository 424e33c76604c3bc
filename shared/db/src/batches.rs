//! `batches`: bulk prediction batches. A batch is written with its `batch` job (ingest)
//! in one transaction; the ingest records the counts and inserts the chunk jobs in the
//! transaction that ends it; chunk progress is read from the chunk jobs themselves;
//! the finishing job records the outcome and the completion callback together.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use kronos_types::{
    batches::{BatchFormat, BatchStatus, CallbackEvent},
    jobs::{JobKind, JobStatus},
};
use uuid::Uuid;

use crate::{
    callbacks::{self, NewCallback},
    error::Result,
    jobs::{self, NewJob},
    schema::{batches, jobs as jobs_table},
    words::Word,
};

/// A batch row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = batches)]
pub struct Batch {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// Its owner.
    pub owner_id: Option<i64>,
    /// Series that passed the checks (known once validated).
    pub series_total: i32,
    /// Object-store path of the results file.
    pub results_key: Option<String>,
    /// Submitted.
    pub created_at: DateTime<Utc>,
    /// Where it is.
    #[diesel(deserialize_as = Word<BatchStatus>)]
    pub status: BatchStatus,
    /// The shared forecast settings (`kronos_types::batches::BatchSettings`).
    pub settings: serde_json::Value,
    /// How the series arrived.
    #[diesel(deserialize_as = Word<BatchFormat>)]
    pub input_format: BatchFormat,
    /// Object-store path of the input as received.
    pub input_key: Option<String>,
    /// Its size as received.
    pub input_bytes: i64,
    /// Series refused by the checks.
    pub series_invalid: i32,
    /// Chunk jobs.
    pub chunks: i32,
    /// Object-store path of the errors file.
    pub errors_key: Option<String>,
    /// Why the batch failed as a whole.
    pub error: Option<String>,
    /// Its owner asked to cancel it.
    pub cancel_requested: bool,
    /// Where its completion is posted.
    pub callback_url: Option<String>,
    /// The API key it was submitted with (signs its callback).
    pub api_key_id: Option<i64>,
    /// The client's idempotency key.
    pub idempotency_key: Option<String>,
    /// The `X-Request-Id` of the submission.
    pub request_id: Option<String>,
    /// Priority of its chunks.
    pub priority: i16,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When its chunks were written.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A batch to write.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = batches)]
pub struct NewBatch {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub owner_id: Option<i64>,
    /// Settings.
    pub settings: serde_json::Value,
    /// Format (`BatchFormat` word).
    pub input_format: String,
    /// Object-store path of the input.
    pub input_key: Option<String>,
    /// Input size.
    pub input_bytes: i64,
    /// Callback address.
    pub callback_url: Option<String>,
    /// The API key used.
    pub api_key_id: Option<i64>,
    /// Idempotency key.
    pub idempotency_key: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Priority.
    pub priority: i16,
}

/// What [`create`] did.
#[derive(Debug, Clone)]
pub enum Created {
    /// Written with its ingest job.
    New(Batch),
    /// The idempotency key was used before: that batch.
    Existing(Batch),
}

/// Writes a batch and its ingest job in one transaction; a used idempotency key
/// returns the earlier batch and writes nothing.
pub async fn create(conn: &mut AsyncPgConnection, new: NewBatch, ingest: NewJob) -> Result<Created> {
    conn.transaction::<_, crate::Error, _>(async move |conn| {
        let inserted: Option<Batch> = diesel::insert_into(batches::table)
            .values(&new)
            .on_conflict_do_nothing()
            .returning(Batch::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        match inserted {
            Some(batch) => {
                jobs::insert_many(conn, &[ingest]).await?;
                Ok(Created::New(batch))
            }
            None => {
                let earlier = batches::table
                    .filter(batches::owner_id.is_not_distinct_from(new.owner_id))
                    .filter(batches::idempotency_key.is_not_distinct_from(new.idempotency_key.as_deref()))
                    .select(Batch::as_select())
                    .first(conn)
                    .await?;
                Ok(Created::Existing(earlier))
            }
        }
    })
    .await
}

/// A batch by id, whoever owns it.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Option<Batch>> {
    Ok(batches::table.find(id).select(Batch::as_select()).first(conn).await.optional()?)
}

/// `owner`'s batch submitted under idempotency key `key`.
pub async fn find_by_key(conn: &mut AsyncPgConnection, owner: i64, key: &str) -> Result<Option<Batch>> {
    Ok(batches::table
        .filter(batches::owner_id.eq(owner))
        .filter(batches::idempotency_key.eq(key))
        .select(Batch::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// A batch of `owner` (another owner's is `None`).
pub async fn find_owned(conn: &mut AsyncPgConnection, id: Uuid, owner: i64) -> Result<Option<Batch>> {
    Ok(batches::table
        .find(id)
        .filter(batches::owner_id.eq(owner))
        .select(Batch::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// `owner`'s batches, newest first, older than `before` when given.
pub async fn list_owned(
    conn: &mut AsyncPgConnection,
    owner: i64,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Batch>> {
    let mut query = batches::table.filter(batches::owner_id.eq(owner)).into_boxed();
    if let Some(before) = before {
        query = query.filter(batches::id.lt(before));
    }
    Ok(query.order(batches::id.desc()).limit(limit).select(Batch::as_select()).load(conn).await?)
}

/// `owner`'s batches that have not ended.
pub async fn unfinished(conn: &mut AsyncPgConnection, owner: i64) -> Result<i64> {
    Ok(batches::table
        .filter(batches::owner_id.eq(owner))
        .filter(batches::status.eq_any(["validating", "running", "assembling"]))
        .count()
        .get_result(conn)
        .await?)
}

/// The chunks of a batch, by where they are, with the series they report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkCounts {
    /// Chunks waiting or retrying.
    pub waiting: i64,
    /// Chunks running.
    pub running: i64,
    /// Chunks done.
    pub succeeded: i64,
    /// Chunks failed for good.
    pub failed: i64,
    /// Chunks cancelled.
    pub cancelled: i64,
    /// Series forecast (done chunks).
    pub series_done: i64,
    /// Series the model refused (done chunks).
    pub series_failed: i64,
    /// Series of chunks that failed for good or were cancelled.
    pub series_lost: i64,
}

/// Counts a batch's chunk jobs (one indexed query).
pub async fn chunk_counts(conn: &mut AsyncPgConnection, batch_id: Uuid) -> Result<ChunkCounts> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text, deserialize_as = Word<JobStatus>)]
        status: JobStatus,
        #[diesel(sql_type = BigInt)]
        chunks: i64,
        #[diesel(sql_type = BigInt)]
        succeeded: i64,
        #[diesel(sql_type = BigInt)]
        failed: i64,
        #[diesel(sql_type = BigInt)]
        series: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT status, count(*) AS chunks,
                coalesce(sum((result->>'succeeded')::bigint), 0)::bigint AS succeeded,
                coalesce(sum((result->>'failed')::bigint), 0)::bigint AS failed,
                coalesce(sum((payload->>'series')::bigint), 0)::bigint AS series
         FROM jobs WHERE batch_id = $1 AND kind = 'batch_chunk' GROUP BY status",
    )
    .bind::<SqlUuid, _>(batch_id)
    .load(conn)
    .await?;
    let mut counts = ChunkCounts::default();
    for row in rows {
        match row.status {
            JobStatus::Queued | JobStatus::Retrying => counts.waiting += row.chunks,
            JobStatus::Running => counts.running += row.chunks,
            JobStatus::Succeeded => {
                counts.succeeded += row.chunks;
                counts.series_done += row.succeeded;
                counts.series_failed += row.failed;
            }
            JobStatus::Failed => {
                counts.failed += row.chunks;
                counts.series_lost += row.series;
            }
            JobStatus::Cancelled => {
                counts.cancelled += row.chunks;
                counts.series_lost += row.series;
            }
        }
    }
    Ok(counts)
}

/// Whether any chunk of the batch has not ended (one probe of the (batch, status) index).
pub async fn has_unfinished_chunks(conn: &mut AsyncPgConnection, batch_id: Uuid) -> Result<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        jobs_table::table
            .filter(jobs_table::batch_id.eq(batch_id))
            .filter(jobs_table::status.eq_any(["queued", "retrying", "running"]))
            .filter(jobs_table::kind.eq(JobKind::BatchChunk.as_str())),
    ))
    .get_result(conn)
    .await?)
}

/// What validation found, recorded when the ingest job ends.
#[derive(Debug, Clone)]
pub struct Validated {
    /// Series that passed.
    pub series_total: i32,
    /// Series refused.
    pub series_invalid: i32,
    /// Object-store path of the refused series' errors.
    pub errors_key: Option<String>,
}

/// Ends the ingest job `(job_id, attempt)` with `result` and moves the batch to
/// `running` with its chunk jobs, in one transaction. `false` (nothing written) when
/// the attempt no longer owns its job or the batch is no longer validating.
pub async fn record_validated(
    conn: &mut AsyncPgConnection,
    batch_id: Uuid,
    job_id: Uuid,
    attempt: i32,
    result: &serde_json::Value,
    validated: Validated,
    chunk_jobs: Vec<NewJob>,
) -> Result<bool> {
    conn.transaction::<_, crate::Error, _>(async move |conn| {
        if !jobs::mark_succeeded_with_result(conn, job_id, attempt, result).await? {
            return Ok(false);
        }
        let moved = diesel::update(batches::table.find(batch_id))
            .filter(batches::status.eq(BatchStatus::Validating.as_str()))
            .set((
                batches::status.eq(BatchStatus::Running.as_str()),
                batches::series_total.eq(validated.series_total),
                batches::series_invalid.eq(validated.series_invalid),
                batches::errors_key.eq(validated.errors_key),
                batches::chunks.eq(chunk_jobs.len() as i32),
                batches::started_at.eq(diesel::dsl::now),
                batches::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        if moved == 0 {
            return Err(crate::Error::Conflict {
                field: "batch".into(),
                message: format!("batch {batch_id} is no longer validating"),
            });
        }
        for part in chunk_jobs.chunks(500) {
            jobs::insert_many(conn, part).await?;
        }
        Ok(true)
    })
    .await
    .or_else(|e| match e {
        crate::Error::Conflict { .. } => Ok(false),
        other => Err(other),
    })
}

/// Marks a batch `failed` with `error` (from any unfinished status).
pub async fn fail(conn: &mut AsyncPgConnection, batch_id: Uuid, error: &str) -> Result<bool> {
    let n = diesel::update(batches::table.find(batch_id))
        .filter(batches::status.eq_any(["validating", "running", "assembling"]))
        .set((
            batches::status.eq(BatchStatus::Failed.as_str()),
            batches::error.eq(error),
            batches::finished_at.eq(diesel::dsl::now),
            batches::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Queues the completion callback of a batch that has a callback address (once).
pub async fn queue_callback(conn: &mut AsyncPgConnection, batch: &Batch, body: serde_json::Value) -> Result<()> {
    let (Some(url), Some(owner)) = (&batch.callback_url, batch.owner_id) else { return Ok(()) };
    let callback = NewCallback {
        id: Uuid::now_v7(),
        owner_id: owner,
        batch_id: Some(batch.id),
        job_id: None,
        url: url.clone(),
        event: CallbackEvent::BatchFinished.as_str().to_owned(),
        body,
        api_key_id: batch.api_key_id,
    };
    callbacks::insert(conn, &callback).await
}

/// Asks to cancel `owner`'s batch: waiting chunks (and a waiting ingest) are cancelled
/// at once, running ones asked to stop. Returns the batch as it is afterwards; `None`
/// when it is not the owner's.
pub async fn request_cancel(conn: &mut AsyncPgConnection, batch_id: Uuid, owner: i64) -> Result<Option<Batch>> {
    conn.transaction::<_, crate::Error, _>(async move |conn| {
        let Some(batch) = batches::table
            .find(batch_id)
            .filter(batches::owner_id.eq(owner))
            .select(Batch::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
        else {
            return Ok(None);
        };
        if batch.status.is_terminal() {
            return Ok(Some(batch));
        }
        diesel::update(batches::table.find(batch_id))
            .set((batches::cancel_requested.eq(true), batches::updated_at.eq(diesel::dsl::now)))
            .execute(conn)
            .await?;
        diesel::sql_query(
            "UPDATE jobs SET
                status = CASE WHEN status IN ('queued', 'retrying') THEN 'cancelled' ELSE status END,
                finished_at = CASE WHEN status IN ('queued', 'retrying') THEN now() ELSE finished_at END,
                cancel_requested = true, updated_at = now()
             WHERE id IN (SELECT id FROM jobs WHERE batch_id = $1 AND status IN ('queued', 'retrying', 'running')
                            AND kind = 'batch_chunk' ORDER BY id FOR UPDATE)",
        )
        .bind::<SqlUuid, _>(batch_id)
        .execute(conn)
        .await?;
        // an ingest that has not started yet ends the batch here
        let ingest_cancelled = diesel::sql_query(
            "UPDATE jobs SET status = 'cancelled', finished_at = now(), cancel_requested = true, updated_at = now()
             WHERE batch_id = $1 AND kind = 'batch' AND status IN ('queued', 'retrying')",
        )
        .bind::<SqlUuid, _>(batch_id)
        .execute(conn)
        .await?;
        if ingest_cancelled > 0 && batch.status == BatchStatus::Validating {
            diesel::update(batches::table.find(batch_id))
                .set((batches::status.eq(BatchStatus::Cancelled.as_str()), batches::finished_at.eq(diesel::dsl::now)))
                .execute(conn)
                .await?;
        }
        Ok(batches::table.find(batch_id).select(Batch::as_select()).first(conn).await.optional()?)
    })
    .await
}

/// Running batches whose chunks have all ended and which have no finishing job yet
/// (the scheduler's safety net for a worker lost between a chunk and its check).
pub async fn ready_to_finish(conn: &mut AsyncPgConnection, limit: i64) -> Result<Vec<Batch>> {
    Ok(batches::table
        .filter(batches::status.eq(BatchStatus::Running.as_str()))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            jobs_table::table
                .filter(jobs_table::batch_id.eq(batches::id.nullable()))
                .filter(jobs_table::kind.eq(JobKind::BatchChunk.as_str()))
                .filter(jobs_table::status.eq_any(["queued", "retrying", "running"])),
        )))
        .order(batches::id)
        .limit(limit)
        .select(Batch::as_select())
        .load(conn)
        .await?)
}

/// How a batch ended, recorded by its finishing job.
#[derive(Debug, Clone)]
pub struct Finished {
    /// `succeeded` or `cancelled`.
    pub status: BatchStatus,
    /// Results file.
    pub results_key: String,
    /// Errors file.
    pub errors_key: String,
    /// The callback's body, when the batch has a callback address.
    pub callback_body: Option<serde_json::Value>,
}

/// Ends the finishing job `(job_id, attempt)` and records the batch's outcome (and its
/// callback) in one transaction; `false` when the attempt no longer owns its job.
pub async fn record_finished(
    conn: &mut AsyncPgConnection,
    batch: &Batch,
    job_id: Uuid,
    attempt: i32,
    finished: Finished,
) -> Result<bool> {
    let batch = batch.clone();
    conn.transaction::<_, crate::Error, _>(async move |conn| {
        let result = serde_json::json!({ "status": finished.status.as_str() });
        if !jobs::mark_succeeded_with_result(conn, job_id, attempt, &result).await? {
            return Ok(false);
        }
        diesel::update(batches::table.find(batch.id))
            .filter(batches::status.eq_any(["running", "assembling"]))
            .set((
                batches::status.eq(finished.status.as_str()),
                batches::results_key.eq(&finished.results_key),
                batches::errors_key.eq(&finished.errors_key),
                batches::finished_at.eq(diesel::dsl::now),
                batches::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        if let Some(body) = finished.callback_body {
            queue_callback(conn, &batch, body).await?;
        }
        Ok(true)
    })
    .await
}

/// Queues the batch's finishing job (once: its idempotency key is per batch). Whether
/// this call queued it.
pub async fn enqueue_finish(conn: &mut AsyncPgConnection, batch: &Batch) -> Result<bool> {
    let payload = serde_json::json!({ "batch_id": batch.id, "phase": "finish" });
    let mut new = NewJob::new(JobKind::Batch, payload, 5).with_key(format!("batch:{}:finish", batch.id));
    new.owner_id = batch.owner_id;
    new.batch_id = Some(batch.id);
    new.request_id = batch.request_id.clone();
    Ok(matches!(jobs::insert_batch(conn, &[new]).await?.pop(), Some(jobs::Inserted::Created(_))))
}

/// Marks a batch as assembling (its finishing job started).
pub async fn mark_assembling(conn: &mut AsyncPgConnection, batch_id: Uuid) -> Result<()> {
    diesel::update(batches::table.find(batch_id))
        .filter(batches::status.eq(BatchStatus::Running.as_str()))
        .set((batches::status.eq(BatchStatus::Assembling.as_str()), batches::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await?;
    Ok(())
}

/// The chunk jobs of a batch that succeeded, with their chunk numbers and results.
pub async fn succeeded_chunks(conn: &mut AsyncPgConnection, batch_id: Uuid) -> Result<Vec<(Uuid, serde_json::Value)>> {
    Ok(jobs_table::table
        .filter(jobs_table::batch_id.eq(batch_id))
        .filter(jobs_table::kind.eq(JobKind::BatchChunk.as_str()))
        .filter(jobs_table::status.eq(JobStatus::Succeeded.as_str()))
        .order(jobs_table::id)
        .select((jobs_table::id, jobs_table::payload))
        .load(conn)
        .await?)
}

/// The chunk jobs of a batch that ended without results (failed or cancelled): their
/// payloads, statuses and errors.
pub async fn lost_chunks(
    conn: &mut AsyncPgConnection,
    batch_id: Uuid,
) -> Result<Vec<(serde_json::Value, String, Option<String>)>> {
    Ok(jobs_table::table
        .filter(jobs_table::batch_id.eq(batch_id))
        .filter(jobs_table::kind.eq(JobKind::BatchChunk.as_str()))
        .filter(jobs_table::status.eq_any(["failed", "cancelled"]))
        .order(jobs_table::id)
        .select((jobs_table::payload, jobs_table::status, jobs_table::error))
        .load(conn)
        .await?)
}
