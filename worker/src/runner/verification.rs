//! Verification jobs: for expired forecasts of stored series whose actual candles have
//! arrived, compute per-step errors, whether the final direction was right and whether
//! [p10, p90] held each actual close, beside the naive baseline on the same steps, and
//! store them in `prediction_results`.
//!
//! The actual bars are the first `horizon` stored bars after the forecast's last bar
//! (a stock's forecast steps are trading days, whatever the calendar says).

use crate::error::Error as SharedError;
use chrono::{Duration, Utc};
use diesel_async::AsyncPgConnection;
use kronos_db::{
    candles, jobs, jobs::Claimed, prediction_results, prediction_results::NewResult, predictions::Prediction,
};
use kronos_types::{
    jobs::payload::{ForecastRow, VerificationPayload},
    jobs::results::VerificationResult,
    Interval,
};

use super::{
    scoring::{score, Forecasted},
    JobFailure, Outcome,
};
use crate::pool::PoolContext;

/// Predictions between cancellation checks.
const CHECK_EVERY: usize = 100;

/// Runs one claimed verification job.
pub async fn run(ctx: &PoolContext, job: &Claimed) -> Result<Outcome, JobFailure> {
    let payload: VerificationPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobFailure::permanent(format!("unreadable verification payload: {e}")))?;
    let mut conn = ctx.pool.get().await.map_err(SharedError::from)?;
    let pending = prediction_results::unverified(&mut conn, Utc::now(), payload.limit.max(1)).await?;
    let (mut verified, mut awaiting) = (0usize, 0usize);
    for (i, (prediction, owner)) in pending.iter().enumerate() {
        if i % CHECK_EVERY == 0 && jobs::cancel_requested(&mut conn, job.id).await? {
            drop(conn);
            return super::end_unowned(ctx, job).await;
        }
        match verify(&mut conn, prediction, *owner).await? {
            Some(row) => verified += usize::from(prediction_results::insert(&mut conn, &row).await?),
            None => awaiting += 1,
        }
    }
    drop(conn);
    let result = VerificationResult { examined: pending.len(), verified, awaiting_candles: awaiting };
    super::succeed_with(ctx, job, &result).await
}

/// The result of one prediction, or `None` while its actual candles are incomplete.
async fn verify(
    conn: &mut AsyncPgConnection,
    prediction: &Prediction,
    owner: Option<i64>,
) -> Result<Option<NewResult>, SharedError> {
    let Some(asset_id) = prediction.asset_id else { return Ok(None) };
    let interval: Interval = prediction.interval.parse()?;
    let horizon = prediction.horizon as i64;
    let actual = candles::first_after(conn, asset_id, interval, prediction.last_ts, horizon).await?;
    if actual.len() < horizon as usize {
        return Ok(None);
    }
    let previous =
        candles::newest_first(conn, asset_id, interval, None, Some(prediction.last_ts - Duration::seconds(1)), 1)
            .await?
            .first()
            .map(|c| c.close);
    let rows: Vec<ForecastRow> = serde_json::from_value(prediction.forecast.clone())?;
    let actual: Vec<f64> = actual.iter().map(|c| c.close).collect();
    let forecasted = Forecasted {
        job_id: prediction.job_id,
        model: prediction.model.clone(),
        asset_id,
        owner_id: owner,
        interval: prediction.interval.clone(),
        predicted_at: prediction.predicted_at(),
        last_close: prediction.last_close,
        previous_close: previous,
    };
    Ok(Some(score(&forecasted, &rows, actual)))
}
