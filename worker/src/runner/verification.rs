//! Verification jobs: for expired forecasts of stored series whose actual candles have
//! arrived, compute per-step errors, whether the final direction was right and whether
//! [p10, p90] held each actual close, beside the naive baseline on the same steps, and
//! store them in `prediction_results`.
//!
//! The actual bars are the first `horizon` stored bars after the forecast's last bar
//! (a stock's forecast steps are trading days, whatever the calendar says).

use chrono::{Duration, Utc};
use diesel_async::AsyncPgConnection;
use kronos_models::metrics::{covered_steps, ErrorSums, ForecastOutcome};
use kronos_shared::{
    db::{
        candles, jobs,
        jobs::Claimed,
        prediction_results::{self, NewResult},
        predictions::Prediction,
    },
    jobs::payload::{ForecastRow, VerificationPayload},
    market_data::Interval,
    Error as SharedError,
};
use serde_json::json;

use super::{JobFailure, Outcome};
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
    let result = json!({ "examined": pending.len(), "verified": verified, "awaiting_candles": awaiting });
    if jobs::mark_succeeded_with_result(&mut conn, job.id, job.attempts, &result).await? {
        return Ok(Outcome::Succeeded);
    }
    drop(conn);
    super::end_unowned(ctx, job).await
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
    Ok(Some(result_of(prediction, owner, &rows, actual, previous)))
}

/// Compares a forecast with the actual closes (pure arithmetic).
fn result_of(
    prediction: &Prediction,
    owner: Option<i64>,
    rows: &[ForecastRow],
    actual: Vec<f64>,
    previous_close: Option<f64>,
) -> NewResult {
    let steps = rows.len().min(actual.len());
    let actual = actual[..steps].to_vec();
    let forecast: Vec<f64> = rows[..steps].iter().map(|r| r.close).collect();
    let p10: Vec<f64> = rows[..steps].iter().map(|r| r.p10).collect();
    let p90: Vec<f64> = rows[..steps].iter().map(|r| r.p90).collect();
    let last_close = prediction.last_close;
    let outcome = ForecastOutcome { last_close, previous_close, forecast: forecast.clone(), actual: actual.clone() };
    let mut model = ErrorSums::default();
    model.add(&outcome, &forecast, forecast.last().is_some_and(|f| *f > last_close));
    let mut naive = ErrorSums::default();
    naive.add(&outcome, &vec![last_close; steps], previous_close.is_some_and(|p| last_close > p));
    NewResult {
        job_id: prediction.job_id,
        model: prediction.model.clone(),
        asset_id: prediction.asset_id.unwrap_or_default(),
        owner_id: owner,
        interval: prediction.interval.clone(),
        predicted_at: prediction.predicted_at(),
        last_close,
        errors: forecast.iter().zip(&actual).map(|(f, a)| f - a).collect(),
        covered: p10.iter().zip(&p90).zip(&actual).map(|((lo, hi), a)| *lo <= *a && *a <= *hi).collect(),
        covered_steps: covered_steps(&p10, &p90, &actual) as i32,
        actual,
        forecast,
        steps: steps as i32,
        abs_error_sum: model.abs,
        sq_error_sum: model.squared,
        pct_error_sum: model.pct,
        pct_steps: model.pct_steps as i32,
        direction_hit: model.hits == 1,
        naive_abs_error_sum: naive.abs,
        naive_sq_error_sum: naive.squared,
        naive_pct_error_sum: naive.pct,
        naive_direction_hit: naive.hits == 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row(close: f64, p10: f64, p90: f64) -> ForecastRow {
        let ts = Utc.with_ymd_and_hms(2024, 1, 2, 0, 0, 0).unwrap();
        ForecastRow { ts, open: close, high: close, low: close, close, volume: 0.0, amount: 0.0, p10, p50: close, p90 }
    }

    #[test]
    fn matches_hand_computed_errors_and_coverage() {
        let t = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let prediction = Prediction {
            job_id: uuid::Uuid::nil(),
            asset_id: Some(3),
            interval: "1d".into(),
            model: "m.v2".into(),
            horizon: 3,
            last_ts: t,
            last_close: 100.0,
            forecast: serde_json::Value::Null,
            prob_up: 0.5,
            artifact_key: String::new(),
            created_at: t,
            expires_at: t,
            expected_return: None,
            volatility: None,
            value_at_risk_5: None,
            raw_forecast: None,
            as_of: None,
            calendar: None,
        };
        let rows = [row(102.0, 99.0, 104.0), row(104.0, 100.0, 106.0), row(103.0, 101.0, 105.0)];
        // actual 101, 107, 100: errors +1, −3, +3
        let r = result_of(&prediction, Some(9), &rows, vec![101.0, 107.0, 100.0], Some(98.0));
        assert_eq!(r.errors, vec![1.0, -3.0, 3.0]);
        assert_eq!(r.abs_error_sum, 7.0);
        assert_eq!(r.sq_error_sum, 19.0);
        assert!((r.pct_error_sum - (1.0 / 101.0 + 3.0 / 107.0 + 3.0 / 100.0)).abs() < 1e-12);
        // inside [p10, p90]: 101 ∈ [99, 104] yes, 107 ∈ [100, 106] no, 100 ∈ [101, 105] no
        assert_eq!(r.covered, vec![true, false, false]);
        assert_eq!(r.covered_steps, 1);
        // forecast says up (103 > 100), actual final 100 is not above 100: miss
        assert!(!r.direction_hit);
        // naive: 100 every step → errors −1, −7, 0; last bar rose (100 > 98) → says up: miss
        assert_eq!(r.naive_abs_error_sum, 8.0);
        assert_eq!(r.naive_sq_error_sum, 50.0);
        assert!(!r.naive_direction_hit);
        assert_eq!((r.steps, r.pct_steps, r.owner_id), (3, 3, Some(9)));
    }
}
