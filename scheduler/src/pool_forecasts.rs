//! Scheduled forecasts of the model pools: after each bar of a pool's interval closes
//! (and the refresh of that interval has stored it), one prediction per enabled pool
//! member of every production Kronos version, owned by the platform — so accuracy per
//! model and asset accumulates on its own and forecast alerts have something to fire
//! on. A pool's interval is the interval its model was trained on (`1d` for imported or
//! pulled weights). An idempotency key per (model, asset, interval, bar) makes a second
//! scheduler, or a restart, enqueue nothing twice.

use std::{str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use kronos_db::{
    jobs::{self, Inserted, NewJob},
    model_pools::{self, ScheduledMember},
    DbPool,
};
use kronos_queue::enqueue::DispatchSignal;
use kronos_types::{
    jobs::{
        payload::{KronosSettings, PredictionPayload, SeriesSource},
        JobKind,
    },
    Interval,
};
use tracing::{info, warn};
use uuid::Uuid;

use crate::error::Result;

/// Scheduled forecasts retry this many times.
const MAX_ATTEMPTS: i32 = 3;

/// The interval a member's model forecasts at.
pub fn interval_of(member: &ScheduledMember) -> Interval {
    member.model.trained_interval.as_deref().and_then(|i| Interval::from_str(i).ok()).unwrap_or(Interval::D1)
}

/// Enqueues, for each pool interval whose last bar closed `settle` before `now`, one
/// prediction per member — unless a refresh of that interval is still pending (its bar
/// may not be stored yet; the next tick tries again). `handled` remembers the bars this
/// scheduler enqueued, so later ticks of the same bar cost one query. Returns the new
/// jobs' ids.
pub async fn enqueue_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    settle: chrono::Duration,
    horizon: usize,
    handled: &mut Vec<(Interval, DateTime<Utc>)>,
) -> Result<Vec<Uuid>> {
    let members = model_pools::scheduled(conn).await?;
    let mut intervals: Vec<Interval> = Vec::new();
    for interval in members.iter().map(interval_of) {
        if !intervals.contains(&interval) {
            intervals.push(interval);
        }
    }
    let mut created = Vec::new();
    for interval in intervals {
        let bar = interval.bar_start(now - settle);
        if handled.contains(&(interval, bar)) || jobs::pending_refreshes(conn, interval.as_str()).await? > 0 {
            continue;
        }
        let slot: Vec<NewJob> = members
            .iter()
            .filter(|m| interval_of(m) == interval)
            .map(|m| job(m, interval, bar, horizon))
            .collect::<Result<_>>()?;
        for inserted in jobs::insert_batch(conn, &slot).await? {
            if let Inserted::Created(job) = inserted {
                created.push(job.id);
            }
        }
        handled.retain(|(i, _)| *i != interval);
        handled.push((interval, bar));
    }
    Ok(created)
}

/// The prediction of one member for the bar that closed at `bar`: the model's own
/// context and the platform's sampling defaults, seeded by the bar (reproducible).
fn job(member: &ScheduledMember, interval: Interval, bar: DateTime<Utc>, horizon: usize) -> Result<NewJob> {
    let model = &member.model;
    let context = usize::try_from(model.max_context).unwrap_or(512);
    let payload = PredictionPayload {
        model: model.name.clone(),
        interval,
        horizon,
        series: SeriesSource::Stored {
            symbol: member.asset.symbol.clone(),
            asset_id: member.asset.id,
            context,
            as_of: None,
        },
        kronos: Some(KronosSettings {
            model_id: model.id,
            samples: KronosSettings::DEFAULT_SAMPLES,
            temperature: KronosSettings::DEFAULT_TEMPERATURE,
            top_k: KronosSettings::DEFAULT_TOP_K,
            top_p: KronosSettings::DEFAULT_TOP_P,
            seed: u64::try_from(bar.timestamp()).unwrap_or(0) & KronosSettings::MAX_SEED,
            max_context: context,
        }),
        calendar: member.asset.calendar(),
    };
    let key = format!("pool:{}:{}:{interval}:{}", model.id, member.asset.id, bar.timestamp());
    Ok(NewJob::new(JobKind::Prediction, serde_json::to_value(&payload)?, MAX_ATTEMPTS).with_key(key))
}

/// Runs the scheduled forecasts every `every`, forever.
pub async fn run(pool: DbPool, signal: DispatchSignal, settle: Duration, horizon: usize, every: Duration) {
    let settle = chrono::Duration::from_std(settle).unwrap_or_else(|_| chrono::Duration::seconds(30));
    let mut tick = tokio::time::interval(every);
    let mut handled = Vec::new();
    loop {
        tick.tick().await;
        let Some(mut conn) = crate::checkout(&pool).await else { continue };
        match enqueue_due(&mut conn, Utc::now(), settle, horizon, &mut handled).await {
            Ok(ids) if ids.is_empty() => {}
            Ok(ids) => {
                info!(jobs = ids.len(), "scheduled pool forecasts enqueued");
                signal.wake();
            }
            Err(e) => warn!(error = %e, "scheduled pool forecasts failed; retried next tick"),
        }
    }
}
