//! The cron table: verification, nightly retraining and cleanup at the slots of their
//! cron expressions (UTC, with seconds).
//!
//! Each tick, every task's due slots are those after its latest slot in
//! `schedule_runs` up to now (at most `catch_up` of them; a task that never ran starts
//! at the first slot after this scheduler started). A slot is recorded and its jobs
//! enqueued in one transaction, so two schedulers never both enqueue it, and a restart
//! catches up what was missed. Tasks that coalesce run only the latest missed slot.

use std::{str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use kronos_config::CronConfig;
use kronos_db::DbPool;
use kronos_queue::enqueue::DispatchSignal;

use crate::cron_tasks::{self, CronTask, SlotOutcome};
use tracing::{info, warn};

/// One parsed entry.
pub struct Entry {
    /// What it does.
    pub task: CronTask,
    /// When.
    pub schedule: cron::Schedule,
}

/// Parses the configured table; a bad task or expression names the entry.
pub fn parse(config: &CronConfig) -> anyhow::Result<Vec<Entry>> {
    config
        .entries
        .iter()
        .map(|(task, expr)| {
            let task = CronTask::from_str(task)?;
            let schedule = cron::Schedule::from_str(expr)
                .map_err(|e| anyhow::anyhow!("KRONOS_CRON: {} = {expr:?}: {e}", task.as_str()))?;
            Ok(Entry { task, schedule })
        })
        .collect()
}

/// Slots of `entry` due at `now`, oldest first, after `last` (or after `started`).
pub fn due_slots(
    entry: &Entry,
    last: Option<DateTime<Utc>>,
    started: DateTime<Utc>,
    now: DateTime<Utc>,
    catch_up: usize,
) -> Vec<DateTime<Utc>> {
    let after = last.unwrap_or(started);
    let mut slots: Vec<DateTime<Utc>> = entry.schedule.after(&after).take_while(|s| *s <= now).collect();
    if slots.len() > catch_up.max(1) {
        slots.drain(..slots.len() - catch_up.max(1));
    }
    slots
}

/// Runs the table every `every`, forever.
pub async fn run(
    entries: Vec<Entry>,
    config: CronConfig,
    links: Option<kronos_notify::Links<'_>>,
    pool: DbPool,
    signal: DispatchSignal,
    every: Duration,
) {
    if entries.is_empty() {
        return std::future::pending().await;
    }
    let started = Utc::now();
    let retention = chrono::Duration::from_std(config.retention).unwrap_or_else(|_| chrono::Duration::days(90));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Some(mut conn) = crate::checkout(&pool).await else { continue };
        for entry in &entries {
            let task = entry.task;
            let last = match cron_tasks::last_slot(&mut conn, task).await {
                Ok(last) => last,
                Err(e) => {
                    warn!(task = task.as_str(), error = %e, "cron: cannot read the last run");
                    continue;
                }
            };
            let slots = due_slots(entry, last, started, Utc::now(), config.catch_up);
            let latest = slots.last().copied();
            for slot in slots {
                let superseded = task.coalesces() && Some(slot) != latest;
                let settings = cron_tasks::SlotSettings { retention, links };
                match cron_tasks::run_slot(&mut conn, task, slot, superseded, settings).await {
                    Ok(SlotOutcome::Enqueued(ids)) => {
                        info!(task = task.as_str(), %slot, jobs = ids.len(), "cron slot ran");
                        if !ids.is_empty() {
                            signal.wake();
                        }
                    }
                    Ok(SlotOutcome::Skipped(note)) => info!(task = task.as_str(), %slot, note, "cron slot skipped"),
                    Ok(SlotOutcome::Taken) => {}
                    Err(e) => {
                        warn!(task = task.as_str(), %slot, error = %e, "cron slot failed; retried next tick");
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_default_table_parses_with_the_weekly_digest_on_mondays() {
        let entries = kronos_config::DEFAULT_CRON
            .split(';')
            .map(|e| e.split_once('=').map(|(t, x)| (t.to_owned(), x.to_owned())).unwrap())
            .collect();
        let config =
            CronConfig { entries, catch_up: 24, retention: std::time::Duration::from_secs(1), pool_horizon: 5 };
        let table = parse(&config).unwrap();
        let digest = table.iter().find(|e| e.task == CronTask::Digest).unwrap();
        let next = digest.schedule.after(&Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap()).next().unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap(), "Monday 08:00 UTC");
    }

    #[test]
    fn catches_up_from_the_last_slot_and_caps_it() {
        let entry = Entry { task: CronTask::Verify, schedule: cron::Schedule::from_str("0 5 * * * *").unwrap() };
        let t = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 1, 1, h, m, 0).unwrap();
        // never ran: nothing before this scheduler started
        assert_eq!(due_slots(&entry, None, t(3, 10), t(3, 20), 24), Vec::<DateTime<Utc>>::new());
        assert_eq!(due_slots(&entry, None, t(3, 10), t(4, 6), 24), vec![t(4, 5)]);
        // down from 1:05 to 5:00: 2:05, 3:05, 4:05 are due
        assert_eq!(due_slots(&entry, Some(t(1, 5)), t(5, 0), t(5, 0), 24), vec![t(2, 5), t(3, 5), t(4, 5)]);
        assert_eq!(due_slots(&entry, Some(t(1, 5)), t(5, 0), t(5, 0), 2), vec![t(3, 5), t(4, 5)]);
    }
}
