//! Writing jobs: one statement for a batch of submissions, idempotency keys per owner,
//! and the daily quota charged in the same transaction as the insert.

use std::collections::HashMap;

use diesel::{
    prelude::*,
    sql_types::{BigInt, Text},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use kronos_types::{accounts::Metric, jobs::JobKind};
use uuid::Uuid;

use super::Job;
use crate::{error::Result, schema::jobs, usage};

/// What a job costs its owner: one unit of `metric` against a daily `limit` (`None`:
/// counted, unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    /// The owner.
    pub user_id: i64,
    /// What is counted.
    pub metric: Metric,
    /// The owner's daily limit.
    pub limit: Option<i64>,
}

/// A job to insert.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Job id.
    pub id: Uuid,
    /// Kind.
    pub kind: JobKind,
    /// Validated request.
    pub payload: serde_json::Value,
    /// Owner.
    pub owner_id: Option<i64>,
    /// Idempotency key.
    pub idempotency_key: Option<String>,
    /// Body hash.
    pub request_hash: Option<String>,
    /// Batch.
    pub batch_id: Option<Uuid>,
    /// Priority.
    pub priority: i16,
    /// Most attempts.
    pub max_attempts: i32,
    /// What it costs against its owner's daily quota (`None`: nothing).
    pub charge: Option<Charge>,
    /// The `X-Request-Id` of the request that made it.
    pub request_id: Option<String>,
    /// Where its completion is posted.
    pub callback_url: Option<String>,
    /// The API key it was submitted with (signs its callback).
    pub api_key_id: Option<i64>,
}

impl NewJob {
    /// A job of `kind` with a fresh id, no owner, key or batch, priority 0.
    pub fn new(kind: JobKind, payload: serde_json::Value, max_attempts: i32) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind,
            payload,
            owner_id: None,
            idempotency_key: None,
            request_hash: None,
            batch_id: None,
            priority: 0,
            max_attempts,
            charge: None,
            request_id: None,
            callback_url: None,
            api_key_id: None,
        }
    }

    /// With an idempotency key (a second insert under it returns the first job).
    pub fn with_key(mut self, key: String) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// Owned by `owner_id`, charged as `charge` (see [`Charge`]).
    pub fn owned(mut self, owner_id: i64, charge: Option<Charge>) -> Self {
        self.owner_id = Some(owner_id);
        self.charge = charge;
        self
    }

    /// With a priority (higher runs first).
    pub fn with_priority(mut self, priority: i16) -> Self {
        self.priority = priority;
        self
    }
}

/// A [`NewJob`] as the `jobs` table stores it.
#[derive(Insertable)]
#[diesel(table_name = jobs)]
struct JobRow<'a> {
    id: Uuid,
    kind: &'static str,
    payload: &'a serde_json::Value,
    owner_id: Option<i64>,
    idempotency_key: Option<&'a str>,
    request_hash: Option<&'a str>,
    batch_id: Option<Uuid>,
    priority: i16,
    max_attempts: i32,
    request_id: Option<&'a str>,
    callback_url: Option<&'a str>,
    api_key_id: Option<i64>,
}

impl<'a> From<&'a NewJob> for JobRow<'a> {
    fn from(job: &'a NewJob) -> Self {
        Self {
            id: job.id,
            kind: job.kind.as_str(),
            payload: &job.payload,
            owner_id: job.owner_id,
            idempotency_key: job.idempotency_key.as_deref(),
            request_hash: job.request_hash.as_deref(),
            batch_id: job.batch_id,
            priority: job.priority,
            max_attempts: job.max_attempts,
            request_id: job.request_id.as_deref(),
            callback_url: job.callback_url.as_deref(),
            api_key_id: job.api_key_id,
        }
    }
}

fn rows<'a>(new: impl Iterator<Item = &'a NewJob>) -> Vec<JobRow<'a>> {
    new.map(JobRow::from).collect()
}

/// Outcome of an idempotent, charged insert.
#[derive(Debug, Clone)]
pub enum Inserted {
    /// A new row was written.
    Created(Job),
    /// The idempotency key was already used; this is the earlier job.
    Existing(Job),
    /// The owner's daily quota refused it: nothing was written or counted.
    OverQuota {
        /// The quota's metric.
        metric: Metric,
        /// Its daily limit.
        limit: i64,
    },
}

/// Inserts a batch of jobs; one result per input, in order. A job whose idempotency
/// key already exists (in the table or earlier in the batch) is not written; the earlier
/// job is returned for it instead, and it costs nothing.
///
/// Jobs with a [`Charge`] are counted against their owner's quota in the transaction
/// that writes them: the counters' rows are taken in (owner, metric) order, so
/// concurrent batches cannot deadlock, and a job the quota refuses is neither written
/// nor counted. A batch without charges is one INSERT.
pub async fn insert_batch(conn: &mut AsyncPgConnection, new: &[NewJob]) -> Result<Vec<Inserted>> {
    if new.iter().all(|j| j.charge.is_none()) {
        return insert_uncharged(conn, new).await;
    }
    conn.transaction(async move |conn| insert_charged(conn, new).await).await
}

async fn insert_uncharged(conn: &mut AsyncPgConnection, new: &[NewJob]) -> Result<Vec<Inserted>> {
    let created: Vec<Job> = diesel::insert_into(jobs::table)
        .values(rows(new.iter()))
        .on_conflict_do_nothing()
        .returning(Job::as_returning())
        .get_results(conn)
        .await?;
    let mut created: HashMap<Uuid, Job> = created.into_iter().map(|j| (j.id, j)).collect();
    let mut out = Vec::with_capacity(new.len());
    for job in new {
        match created.remove(&job.id) {
            Some(row) => out.push(Inserted::Created(row)),
            None => {
                out.push(Inserted::Existing(find_by_key(conn, job.owner_id, job.idempotency_key.as_deref()).await?))
            }
        }
    }
    Ok(out)
}

/// The charged path of [`insert_batch`], inside its transaction.
async fn insert_charged(conn: &mut AsyncPgConnection, new: &[NewJob]) -> Result<Vec<Inserted>> {
    let mut decided: Vec<Option<Inserted>> = vec![None; new.len()];
    // replays of a stored key cost nothing and write nothing
    for (i, job) in new.iter().enumerate() {
        if let (Some(_), Some(key)) = (job.charge, job.idempotency_key.as_deref()) {
            if let Some(existing) = keyed(conn, job.owner_id, Some(key)).await? {
                decided[i] = Some(Inserted::Existing(existing));
            }
        }
    }
    let mut charged: Vec<usize> = (0..new.len()).filter(|&i| decided[i].is_none() && new[i].charge.is_some()).collect();
    charged.sort_by_key(|&i| new[i].charge.map(|c| (c.user_id, c.metric.as_str())));
    for &i in &charged {
        let Some(charge) = new[i].charge else { continue };
        if usage::charge(conn, charge.user_id, charge.metric, 1, charge.limit).await?.is_none() {
            decided[i] = Some(Inserted::OverQuota { metric: charge.metric, limit: charge.limit.unwrap_or(0) });
        }
    }
    let to_write: Vec<&NewJob> = (0..new.len()).filter(|&i| decided[i].is_none()).map(|i| &new[i]).collect();
    let created: Vec<Job> = if to_write.is_empty() {
        Vec::new()
    } else {
        diesel::insert_into(jobs::table)
            .values(rows(to_write.iter().copied()))
            .on_conflict_do_nothing()
            .returning(Job::as_returning())
            .get_results(conn)
            .await?
    };
    let mut created: HashMap<Uuid, Job> = created.into_iter().map(|j| (j.id, j)).collect();
    let mut out = Vec::with_capacity(new.len());
    for (job, decided) in new.iter().zip(decided) {
        if let Some(decided) = decided {
            out.push(decided);
            continue;
        }
        match created.remove(&job.id) {
            Some(row) => out.push(Inserted::Created(row)),
            None => {
                // the key was taken by a concurrent request since the check: this one
                // is a replay after all, and gives back what it was charged
                if let Some(charge) = job.charge {
                    usage::refund(conn, charge.user_id, charge.metric, 1).await?;
                }
                out.push(Inserted::Existing(find_by_key(conn, job.owner_id, job.idempotency_key.as_deref()).await?))
            }
        }
    }
    Ok(out)
}

/// The job an owner submitted under an idempotency key.
pub async fn find_by_key(conn: &mut AsyncPgConnection, owner_id: Option<i64>, key: Option<&str>) -> Result<Job> {
    keyed(conn, owner_id, key).await?.ok_or_else(|| crate::Error::NotFound("job under this idempotency key".into()))
}

async fn keyed(conn: &mut AsyncPgConnection, owner_id: Option<i64>, key: Option<&str>) -> Result<Option<Job>> {
    Ok(diesel::sql_query("SELECT * FROM jobs WHERE owner_id IS NOT DISTINCT FROM $1 AND idempotency_key = $2")
        .bind::<diesel::sql_types::Nullable<BigInt>, _>(owner_id)
        .bind::<diesel::sql_types::Nullable<Text>, _>(key)
        .get_result(conn)
        .await
        .optional()?)
}

/// Inserts many jobs in one statement (no idempotency keys, no charges).
pub async fn insert_many(conn: &mut AsyncPgConnection, new: &[NewJob]) -> Result<usize> {
    Ok(diesel::insert_into(jobs::table).values(rows(new.iter())).execute(conn).await?)
}
