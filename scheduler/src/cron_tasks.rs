//! What the scheduler's cron table does at each slot, and its memory in
//! `schedule_runs`: one row per (task, slot), written in the same transaction as the
//! slot's jobs, so a slot enqueues once however many schedulers run, and a restarted
//! leader knows where to catch up from.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use kronos_db::{
    jobs::{self, Inserted, NewJob},
    models, schedule_runs,
};
use kronos_types::{
    jobs::{
        payload::{CleanupPayload, VerificationPayload},
        training::TrainingPayload,
        JobKind,
    },
    registry::{ModelFamily, ModelSource, ModelStatus},
};
use uuid::Uuid;

use crate::error::{Error, Result};

/// A cron table task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronTask {
    /// Verify expired forecasts (one verification job).
    Verify,
    /// Retrain every production model that was trained here, on fresh data, with
    /// automatic promotion (one training job per lineage).
    Retrain,
    /// Delete old forecast documents and stale training checkpoints.
    Cleanup,
    /// Email the weekly digest to the users who asked for it (in the slot's transaction,
    /// so once per slot however many schedulers run).
    Digest,
}

impl std::str::FromStr for CronTask {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "verify" => Ok(Self::Verify),
            "retrain" => Ok(Self::Retrain),
            "cleanup" => Ok(Self::Cleanup),
            "digest" => Ok(Self::Digest),
            other => {
                Err(Error::Config(format!("unknown cron task {other:?}; expected verify, retrain, cleanup or digest")))
            }
        }
    }
}

impl CronTask {
    /// Name in `schedule_runs` and idempotency keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Retrain => "retrain",
            Self::Cleanup => "cleanup",
            Self::Digest => "digest",
        }
    }

    /// Whether missed slots collapse into the latest one (running a nightly retraining
    /// three times in a row after an outage would train the same data three times).
    /// Verification catches up slot by slot.
    pub fn coalesces(self) -> bool {
        !matches!(self, Self::Verify)
    }
}

/// The latest slot recorded for a task.
pub async fn last_slot(conn: &mut AsyncPgConnection, task: CronTask) -> Result<Option<DateTime<Utc>>> {
    Ok(schedule_runs::last_slot(conn, task.as_str()).await?)
}

/// What a slot did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotOutcome {
    /// Another scheduler recorded the slot first; nothing was done.
    Taken,
    /// The slot's jobs were enqueued (possibly none).
    Enqueued(Vec<Uuid>),
    /// Recorded without jobs (a note says why).
    Skipped(String),
}

/// What slots need besides the time.
#[derive(Debug, Clone, Copy)]
pub struct SlotSettings<'a> {
    /// A cleanup slot's job deletes what is older than this at the slot.
    pub retention: Duration,
    /// Where digest emails link to (`None`: no access-token key, no digest).
    pub links: Option<kronos_notify::Links<'a>>,
}

/// Records `slot` of `task` and enqueues its jobs (or queues its emails) in one
/// transaction; `superseded` records a missed slot that a later one replaces.
pub async fn run_slot(
    conn: &mut AsyncPgConnection,
    task: CronTask,
    slot: DateTime<Utc>,
    superseded: bool,
    settings: SlotSettings<'_>,
) -> Result<SlotOutcome> {
    conn.transaction::<_, Error, _>(async |conn| {
        if !schedule_runs::claim(conn, task.as_str(), slot).await? {
            return Ok(SlotOutcome::Taken);
        }
        let outcome = if superseded {
            SlotOutcome::Skipped("missed while no scheduler ran; a later slot replaces it".into())
        } else {
            match task {
                CronTask::Verify => {
                    SlotOutcome::Enqueued(enqueue_verification(conn, slot).await?.into_iter().collect())
                }
                CronTask::Retrain => SlotOutcome::Enqueued(enqueue_retraining(conn, slot).await?),
                CronTask::Cleanup => {
                    SlotOutcome::Enqueued(enqueue_cleanup(conn, slot, settings.retention).await?.into_iter().collect())
                }
                CronTask::Digest => match settings.links {
                    Some(links) => {
                        let sent = kronos_notify::digest::send_weekly(conn, slot, links)
                            .await
                            .map_err(|e| Error::Config(format!("weekly digest: {e}")))?;
                        SlotOutcome::Skipped(format!("{sent} digests queued"))
                    }
                    None => SlotOutcome::Skipped("no access-token key to sign unsubscribe links".into()),
                },
            }
        };
        let (job, note) = match &outcome {
            SlotOutcome::Enqueued(ids) if ids.len() == 1 => (Some(ids[0]), None),
            SlotOutcome::Enqueued(ids) if ids.is_empty() => (None, None),
            SlotOutcome::Enqueued(ids) => (Some(ids[0]), Some(format!("{} jobs", ids.len()))),
            SlotOutcome::Skipped(note) => (None, Some(note.clone())),
            SlotOutcome::Taken => (None, None),
        };
        schedule_runs::record(conn, task.as_str(), slot, job, note).await?;
        Ok(outcome)
    })
    .await
}

/// One cleanup job for the slot (workers do the object-store work).
async fn enqueue_cleanup(
    conn: &mut AsyncPgConnection,
    slot: DateTime<Utc>,
    retention: Duration,
) -> Result<Option<Uuid>> {
    let payload = serde_json::to_value(CleanupPayload { before: slot - retention })?;
    let job = cron_job(JobKind::Cleanup, payload, format!("cron:cleanup:{}", slot.timestamp()), -1, 3);
    insert_one(conn, job).await
}

/// Inserts one slot job; its id, or `None` when its key was taken already.
async fn insert_one(conn: &mut AsyncPgConnection, job: NewJob) -> Result<Option<Uuid>> {
    Ok(match jobs::insert_batch(conn, &[job]).await?.pop() {
        Some(Inserted::Created(row)) => Some(row.id),
        _ => None,
    })
}

fn cron_job(kind: JobKind, payload: serde_json::Value, key: String, priority: i16, max_attempts: i32) -> NewJob {
    NewJob::new(kind, payload, max_attempts).with_key(key).with_priority(priority)
}

/// One verification job for the slot.
async fn enqueue_verification(conn: &mut AsyncPgConnection, slot: DateTime<Utc>) -> Result<Option<Uuid>> {
    let payload = serde_json::to_value(VerificationPayload { limit: 10_000 })?;
    let job = cron_job(JobKind::Verification, payload, format!("cron:verify:{}", slot.timestamp()), 1, 3);
    insert_one(conn, job).await
}

/// One training job per production version that was trained here: the same settings,
/// fine-tuning from that version on every candle up to now, promoted when it wins.
async fn enqueue_retraining(conn: &mut AsyncPgConnection, slot: DateTime<Utc>) -> Result<Vec<Uuid>> {
    let production = models::list_filtered(conn, None, Some(ModelStatus::Production)).await?;
    let mut new = Vec::new();
    for model in production.iter().filter(|m| m.source == ModelSource::Training) {
        let Some(config) = &model.training_config else { continue };
        let Ok(mut payload) = serde_json::from_value::<TrainingPayload>(config.clone()) else { continue };
        payload.from_model = Some(format!("{}@{}", model.lineage, model.version));
        payload.preset = None;
        payload.lineage = Some(model.lineage.clone());
        payload.to = None;
        payload.auto_promote = true;
        if payload.family != ModelFamily::Kronos {
            // regressors train from fresh weights on the fresh data
            payload.from_model = None;
        }
        if payload.validate().is_err() {
            continue;
        }
        let key = format!("cron:retrain:{}:{}", model.lineage, slot.timestamp());
        new.push(cron_job(JobKind::Training, serde_json::to_value(&payload)?, key, -1, 5));
    }
    Ok(jobs::insert_batch(conn, &new)
        .await?
        .into_iter()
        .filter_map(|i| match i {
            Inserted::Created(job) => Some(job.id),
            // the scheduler's jobs carry no charge: never over quota
            Inserted::Existing(_) | Inserted::OverQuota { .. } => None,
        })
        .collect())
}
