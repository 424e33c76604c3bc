//! A forecast scored against what happened: per-step errors, whether [p10, p90] held
//! each actual close, the final direction, and the same sums for the naive baseline on
//! the same steps. Verification (live forecasts) and evaluation jobs (walk-forward
//! forecasts over stored history) both score this way, so their accuracy aggregates
//! alike.

use chrono::{DateTime, Utc};
use kronos_db::prediction_results::NewResult;
use kronos_models::metrics::{covered_steps, ErrorSums, ForecastOutcome};
use kronos_types::jobs::payload::ForecastRow;
use uuid::Uuid;

/// Who made a forecast, of what, and when.
#[derive(Debug, Clone)]
pub struct Forecasted {
    /// The job it belongs to (the prediction job, or the evaluation job).
    pub job_id: Uuid,
    /// The serving model version (or baseline).
    pub model: String,
    /// Asset.
    pub asset_id: i64,
    /// Owner of the job.
    pub owner_id: Option<i64>,
    /// Interval.
    pub interval: String,
    /// The time the forecast speaks from.
    pub predicted_at: DateTime<Utc>,
    /// The last observed close.
    pub last_close: f64,
    /// The close before it (the naive baseline's direction), when known.
    pub previous_close: Option<f64>,
}

/// Scores `rows` (the forecast) against the `actual` closes that followed.
pub fn score(f: &Forecasted, rows: &[ForecastRow], actual: Vec<f64>) -> NewResult {
    let steps = rows.len().min(actual.len());
    let actual = actual[..steps].to_vec();
    let forecast: Vec<f64> = rows[..steps].iter().map(|r| r.close).collect();
    let p10: Vec<f64> = rows[..steps].iter().map(|r| r.p10).collect();
    let p90: Vec<f64> = rows[..steps].iter().map(|r| r.p90).collect();
    let last_close = f.last_close;
    let outcome = ForecastOutcome {
        last_close,
        previous_close: f.previous_close,
        forecast: forecast.clone(),
        actual: actual.clone(),
    };
    let mut model = ErrorSums::default();
    model.add(&outcome, &forecast, forecast.last().is_some_and(|c| *c > last_close));
    let mut naive = ErrorSums::default();
    naive.add(&outcome, &vec![last_close; steps], f.previous_close.is_some_and(|p| last_close > p));
    NewResult {
        job_id: f.job_id,
        model: f.model.clone(),
        asset_id: f.asset_id,
        owner_id: f.owner_id,
        interval: f.interval.clone(),
        predicted_at: f.predicted_at,
        last_close,
        errors: forecast.iter().zip(&actual).map(|(c, a)| c - a).collect(),
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
        let f = Forecasted {
            job_id: Uuid::nil(),
            model: "m.v2".into(),
            asset_id: 3,
            owner_id: Some(9),
            interval: "1d".into(),
            predicted_at: t,
            last_close: 100.0,
            previous_close: Some(98.0),
        };
        let rows = [row(102.0, 99.0, 104.0), row(104.0, 100.0, 106.0), row(103.0, 101.0, 105.0)];
        // actual 101, 107, 100: errors +1, −3, +3
        let r = score(&f, &rows, vec![101.0, 107.0, 100.0]);
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
