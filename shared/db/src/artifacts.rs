//! Queries on `artifacts`: the catalogue of what lives in the object store.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, upsert::excluded};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::artifacts;
use crate::error::Result;

/// An artifact to record.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = artifacts)]
pub struct NewArtifact {
    /// Object-store key.
    pub key: String,
    /// Producing job.
    pub job_id: Option<Uuid>,
    /// What it is (`forecast`, `checkpoint`, `report`, …).
    pub kind: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
}

/// Records an artifact; writing the same key again replaces its metadata.
pub async fn upsert(conn: &mut AsyncPgConnection, row: &NewArtifact) -> Result<()> {
    diesel::insert_into(artifacts::table)
        .values(row)
        .on_conflict(artifacts::key)
        .do_update()
        .set((
            artifacts::size_bytes.eq(row.size_bytes),
            artifacts::sha256.eq(&row.sha256),
            artifacts::content_type.eq(&row.content_type),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records many artifacts (distinct keys); existing keys get the new metadata.
pub async fn upsert_many(conn: &mut AsyncPgConnection, rows: &[NewArtifact]) -> Result<()> {
    diesel::insert_into(artifacts::table)
        .values(rows)
        .on_conflict(artifacts::key)
        .do_update()
        .set((
            artifacts::size_bytes.eq(excluded(artifacts::size_bytes)),
            artifacts::sha256.eq(excluded(artifacts::sha256)),
            artifacts::content_type.eq(excluded(artifacts::content_type)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Keys of forecast documents created before `cutoff`, at most `limit`.
pub async fn forecast_keys_before(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<String>> {
    Ok(artifacts::table
        .filter(artifacts::kind.eq("forecast"))
        .filter(artifacts::created_at.lt(cutoff))
        .select(artifacts::key)
        .limit(limit)
        .load(conn)
        .await?)
}

/// Forgets the artifact stored at `key`.
pub async fn delete(conn: &mut AsyncPgConnection, key: &str) -> Result<()> {
    diesel::delete(artifacts::table.find(key)).execute(conn).await?;
    Ok(())
}
