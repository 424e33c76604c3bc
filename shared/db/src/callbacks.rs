//! `callbacks` and `callback_attempts`: completion callbacks of batches and jobs,
//! delivered at least once by workers (a due callback is leased with `SKIP LOCKED`,
//! so two workers never post it at once), every attempt recorded for its owner.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Integer},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use kronos_types::batches::{CallbackEvent, CallbackStatus};
use uuid::Uuid;

use crate::{
    error::Result,
    schema::{callback_attempts, callbacks},
    words::Word,
};

/// A callback.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = callbacks)]
pub struct Callback {
    /// Id (also the `Kronos-Event-Id` header: receivers drop repeats by it).
    pub id: Uuid,
    /// Its owner.
    pub owner_id: i64,
    /// The batch it tells about.
    pub batch_id: Option<Uuid>,
    /// The job it tells about.
    pub job_id: Option<Uuid>,
    /// Where it is posted.
    pub url: String,
    /// What it tells.
    #[diesel(deserialize_as = Word<CallbackEvent>)]
    pub event: CallbackEvent,
    /// The JSON body posted.
    pub body: serde_json::Value,
    /// The API key whose secret signs it (`None`: the owner's own secret).
    pub api_key_id: Option<i64>,
    /// Where it is.
    #[diesel(deserialize_as = Word<CallbackStatus>)]
    pub status: CallbackStatus,
    /// Attempts made.
    pub attempts: i32,
    /// When it is next tried.
    pub next_attempt_at: DateTime<Utc>,
    /// Made.
    pub created_at: DateTime<Utc>,
    /// Delivered or given up.
    pub finished_at: Option<DateTime<Utc>>,
}

/// A callback to write.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = callbacks)]
pub struct NewCallback {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub owner_id: i64,
    /// Batch.
    pub batch_id: Option<Uuid>,
    /// Job.
    pub job_id: Option<Uuid>,
    /// Address.
    pub url: String,
    /// Event word.
    pub event: String,
    /// Body.
    pub body: serde_json::Value,
    /// Signing key.
    pub api_key_id: Option<i64>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = callback_attempts)]
pub struct Attempt {
    /// The callback.
    pub callback_id: Uuid,
    /// 1-based.
    pub attempt: i32,
    /// When it was made.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<i32>,
    /// What went wrong (no answer, a refused address, a non-2xx status).
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i32,
}

/// Writes a callback (one per batch or job: a second is ignored).
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewCallback) -> Result<()> {
    diesel::insert_into(callbacks::table).values(new).on_conflict_do_nothing().execute(conn).await?;
    Ok(())
}

/// Takes up to `limit` due callbacks, counting the attempt and moving their next try
/// `lease_secs` ahead (a worker lost mid-delivery leaves them to be tried again then).
pub async fn lease_due(conn: &mut AsyncPgConnection, limit: i64, lease_secs: i32) -> Result<Vec<Callback>> {
    Ok(diesel::sql_query(
        "UPDATE callbacks SET attempts = attempts + 1,
            next_attempt_at = now() + make_interval(secs => $2)
         WHERE id IN (SELECT id FROM callbacks WHERE status = 'pending' AND next_attempt_at <= now()
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING *",
    )
    .bind::<BigInt, _>(limit)
    .bind::<Integer, _>(lease_secs)
    .load(conn)
    .await?)
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Delivered.
    Delivered,
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// Give up.
    GiveUp,
}

/// Records attempt `attempt` of a callback and what comes next.
pub async fn record_attempt(
    conn: &mut AsyncPgConnection,
    callback: &Callback,
    status_code: Option<i32>,
    error: Option<&str>,
    duration_ms: i32,
    next: Next,
) -> Result<()> {
    diesel::insert_into(callback_attempts::table)
        .values((
            callback_attempts::callback_id.eq(callback.id),
            callback_attempts::attempt.eq(callback.attempts),
            callback_attempts::status_code.eq(status_code),
            callback_attempts::error.eq(error),
            callback_attempts::duration_ms.eq(duration_ms),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    let target = callbacks::table.find(callback.id).filter(callbacks::attempts.eq(callback.attempts));
    match next {
        Next::Delivered => {
            diesel::update(target)
                .set((
                    callbacks::status.eq(CallbackStatus::Delivered.as_str()),
                    callbacks::finished_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?
        }
        Next::RetryAt(at) => diesel::update(target).set(callbacks::next_attempt_at.eq(at)).execute(conn).await?,
        Next::GiveUp => {
            diesel::update(target)
                .set((
                    callbacks::status.eq(CallbackStatus::Failed.as_str()),
                    callbacks::finished_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?
        }
    };
    Ok(())
}

/// The callback of a batch with its attempts, oldest first.
pub async fn of_batch(conn: &mut AsyncPgConnection, batch_id: Uuid) -> Result<Option<(Callback, Vec<Attempt>)>> {
    let Some(callback) = callbacks::table
        .filter(callbacks::batch_id.eq(batch_id))
        .select(Callback::as_select())
        .first(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let attempts = attempts_of(conn, callback.id).await?;
    Ok(Some((callback, attempts)))
}

/// The callback of a job with its attempts, oldest first.
pub async fn of_job(conn: &mut AsyncPgConnection, job_id: Uuid) -> Result<Option<(Callback, Vec<Attempt>)>> {
    let Some(callback) = callbacks::table
        .filter(callbacks::job_id.eq(job_id))
        .select(Callback::as_select())
        .first(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let attempts = attempts_of(conn, callback.id).await?;
    Ok(Some((callback, attempts)))
}

async fn attempts_of(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Vec<Attempt>> {
    Ok(callback_attempts::table
        .filter(callback_attempts::callback_id.eq(id))
        .order(callback_attempts::attempt)
        .select(Attempt::as_select())
        .load(conn)
        .await?)
}

/// The secret that signs `owner`'s callbacks: that of the API key the work was
/// submitted with (if it still exists), else the owner's own.
pub async fn signing_secret(conn: &mut AsyncPgConnection, owner: i64, api_key_id: Option<i64>) -> Result<String> {
    use crate::schema::{api_keys, users};
    if let Some(key) = api_key_id {
        let secret: Option<String> = api_keys::table
            .find(key)
            .filter(api_keys::user_id.eq(owner))
            .select(api_keys::callback_secret)
            .first(conn)
            .await
            .optional()?;
        if let Some(secret) = secret {
            return Ok(secret);
        }
    }
    Ok(users::table.find(owner).select(users::callback_secret).first(conn).await?)
}
