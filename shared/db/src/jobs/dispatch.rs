//! The dispatcher's and reconciler's side of `jobs`: which rows are pushed into the
//! queue transport, which are back in the undispatched pool, and which were pushed
//! long ago without being claimed.

use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Integer, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use kronos_types::jobs::{JobKind, JobStatus};
use uuid::Uuid;

use crate::{error::Result, schema::jobs};

/// A job handed to the queue transport.
#[derive(Debug, Clone, QueryableByName)]
pub struct Dispatch {
    /// Job id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// How many times it has been pushed (this push included).
    #[diesel(sql_type = Integer)]
    pub dispatch_count: i32,
}

/// Jobs of `kind` sitting in Redis unclaimed.
pub async fn queued_in_transport(conn: &mut AsyncPgConnection, kind: JobKind) -> Result<i64> {
    Ok(jobs::table
        .filter(jobs::kind.eq(kind.as_str()))
        .filter(jobs::status.eq_any([JobStatus::Queued.as_str(), JobStatus::Retrying.as_str()]))
        .filter(jobs::dispatched_at.is_not_null())
        .count()
        .get_result(conn)
        .await?)
}

/// Takes up to `limit` due, undispatched jobs of `kind` and marks them dispatched.
/// Concurrent dispatchers never take the same row (`SKIP LOCKED`).
pub async fn take_for_dispatch(conn: &mut AsyncPgConnection, kind: JobKind, limit: i64) -> Result<Vec<Dispatch>> {
    if kind == JobKind::BatchChunk {
        return take_round_robin(conn, kind, limit).await;
    }
    Ok(diesel::sql_query(
        "UPDATE jobs SET dispatched_at = now(), dispatch_count = dispatch_count + 1
         WHERE id IN (
            SELECT id FROM jobs
            WHERE kind = $1 AND status IN ('queued', 'retrying') AND dispatched_at IS NULL
              AND run_after <= now() AND NOT cancel_requested
            ORDER BY priority DESC, run_after
            LIMIT $2
            FOR UPDATE SKIP LOCKED)
         RETURNING id, dispatch_count",
    )
    .bind::<Text, _>(kind.as_str())
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

/// A kind's name, as [`kinds_due`] reads it.
#[derive(QueryableByName)]
struct KindRow {
    #[diesel(sql_type = Text)]
    kind: String,
}

/// Which of `kinds` have jobs waiting to be dispatched: one query, one index probe per
/// kind, so an idle dispatcher costs one round trip per tick instead of one per kind.
pub async fn kinds_due(conn: &mut AsyncPgConnection, kinds: &[JobKind]) -> Result<Vec<JobKind>> {
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let rows: Vec<KindRow> = diesel::sql_query(
        "SELECT k AS kind FROM unnest($1::text[]) AS k
         WHERE EXISTS (
            SELECT 1 FROM jobs
            WHERE kind = k AND dispatched_at IS NULL AND status IN ('queued', 'retrying')
              AND run_after <= now() AND NOT cancel_requested)",
    )
    .bind::<Array<Text>, _>(names)
    .load(conn)
    .await?;
    Ok(rows.into_iter().filter_map(|r| r.kind.parse().ok()).collect())
}

/// [`take_for_dispatch`] for bulk batch chunks: fair shares across owners. Each
/// waiting chunk's turn is its place in its owner's line (by priority and age) plus the
/// owner's chunks already in Redis or running, and the lowest turns go first: owners
/// take turns, and a tenant's huge batch never holds back another tenant's. A window
/// function cannot take `SKIP LOCKED`; the `UPDATE` re-checks each row after locking
/// it, so two dispatchers still never stamp the same row twice.
async fn take_round_robin(conn: &mut AsyncPgConnection, kind: JobKind, limit: i64) -> Result<Vec<Dispatch>> {
    Ok(diesel::sql_query(
        "WITH active AS (
            SELECT owner_id, count(*) AS n FROM jobs
            WHERE kind = $1 AND (status = 'running' OR (status IN ('queued', 'retrying') AND dispatched_at IS NOT NULL))
            GROUP BY owner_id),
         ranked AS (
            SELECT j.id, row_number() OVER (PARTITION BY j.owner_id ORDER BY j.priority DESC, j.run_after, j.id)
                         + coalesce(a.n, 0) AS turn
            FROM jobs j LEFT JOIN active a ON a.owner_id IS NOT DISTINCT FROM j.owner_id
            WHERE j.kind = $1 AND j.status IN ('queued', 'retrying') AND j.dispatched_at IS NULL
              AND j.run_after <= now() AND NOT j.cancel_requested)
         UPDATE jobs SET dispatched_at = now(), dispatch_count = dispatch_count + 1
         WHERE id IN (SELECT id FROM ranked ORDER BY turn, id LIMIT $2)
           AND status IN ('queued', 'retrying') AND dispatched_at IS NULL AND NOT cancel_requested
         RETURNING id, dispatch_count",
    )
    .bind::<Text, _>(kind.as_str())
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

/// Returns jobs to the undispatched pool (their push failed or they were lost from Redis).
pub async fn undispatch(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> Result<usize> {
    Ok(diesel::sql_query(
        "UPDATE jobs SET dispatched_at = NULL WHERE id = ANY($1) AND status IN ('queued', 'retrying')",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .execute(conn)
    .await?)
}

/// Dispatched, unclaimed jobs of `kind` pushed more than `older_than_ms` ago.
pub async fn dispatched_before(
    conn: &mut AsyncPgConnection,
    kind: JobKind,
    older_than_ms: i64,
    limit: i64,
) -> Result<Vec<Dispatch>> {
    Ok(diesel::sql_query(
        "SELECT id, dispatch_count FROM jobs
         WHERE kind = $1 AND status IN ('queued', 'retrying') AND dispatched_at IS NOT NULL
           AND dispatched_at < now() - make_interval(secs => $2::bigint / 1000.0)
         ORDER BY dispatched_at LIMIT $3",
    )
    .bind::<Text, _>(kind.as_str())
    .bind::<BigInt, _>(older_than_ms)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}
