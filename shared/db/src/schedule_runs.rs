//! `schedule_runs`: the cron table's memory, one row per (task, slot), written in the
//! same transaction as the slot's jobs.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::schedule_runs;
use crate::error::Result;

/// The latest slot recorded for `task`.
pub async fn last_slot(conn: &mut AsyncPgConnection, task: &str) -> Result<Option<DateTime<Utc>>> {
    Ok(schedule_runs::table
        .filter(schedule_runs::task.eq(task))
        .select(diesel::dsl::max(schedule_runs::slot))
        .first(conn)
        .await?)
}

/// Records `slot` of `task`; `false` when another scheduler recorded it first.
pub async fn claim(conn: &mut AsyncPgConnection, task: &str, slot: DateTime<Utc>) -> Result<bool> {
    let claimed = diesel::insert_into(schedule_runs::table)
        .values((schedule_runs::task.eq(task), schedule_runs::slot.eq(slot)))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(claimed == 1)
}

/// Notes what a claimed slot did: its (first) job and a note.
pub async fn record(
    conn: &mut AsyncPgConnection,
    task: &str,
    slot: DateTime<Utc>,
    job: Option<Uuid>,
    note: Option<String>,
) -> Result<()> {
    diesel::update(schedule_runs::table.find((task, slot)))
        .set((schedule_runs::job_id.eq(job), schedule_runs::note.eq(note)))
        .execute(conn)
        .await?;
    Ok(())
}
