//! Queries on `predictions`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::schema::predictions;
use crate::error::Result;

/// A row of `predictions` (one per prediction job).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = predictions, check_for_backend(diesel::pg::Pg))]
pub struct Prediction {
    /// The job that produced it (also the prediction's id).
    pub job_id: Uuid,
    /// Asset, for forecasts of stored candles.
    pub asset_id: Option<i64>,
    /// Interval of the series.
    pub interval: String,
    /// Model name.
    pub model: String,
    /// Steps forecast.
    pub horizon: i32,
    /// Time of the last observed candle.
    pub last_ts: DateTime<Utc>,
    /// Last observed close.
    pub last_close: f64,
    /// Forecast rows (see `jobs::payload::ForecastRow`).
    pub forecast: serde_json::Value,
    /// Probability that the final close ends above `last_close`.
    pub prob_up: f64,
    /// Object-store key of the full forecast document.
    pub artifact_key: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When the forecast horizon has passed (verification may run).
    pub expires_at: DateTime<Utc>,
    /// The mean path's final close over the last close, minus 1.
    pub expected_return: Option<f64>,
    /// Standard deviation of the horizon returns across sample paths.
    pub volatility: Option<f64>,
    /// Minus the 5th percentile of the horizon returns.
    pub value_at_risk_5: Option<f64>,
    /// The model's mean path as it came out (see `jobs::payload::RawBar`).
    pub raw_forecast: Option<serde_json::Value>,
    /// A backdated forecast's time: made from the candles up to it only.
    pub as_of: Option<DateTime<Utc>>,
    /// The calendar of the forecast's bar times.
    pub calendar: Option<String>,
}

impl Prediction {
    /// The time the forecast speaks from: its `as_of` when backdated, else when it was made.
    pub fn predicted_at(&self) -> DateTime<Utc> {
        self.as_of.unwrap_or(self.created_at)
    }
}

/// Inserts a prediction; a second insert for the same job is ignored (at-least-once delivery).
pub async fn insert(conn: &mut AsyncPgConnection, row: &Prediction) -> Result<bool> {
    let n = diesel::insert_into(predictions::table).values(row).on_conflict_do_nothing().execute(conn).await?;
    Ok(n == 1)
}

/// Inserts many predictions; rows for jobs that already have one are ignored.
pub async fn insert_many(conn: &mut AsyncPgConnection, rows: &[Prediction]) -> Result<usize> {
    Ok(diesel::insert_into(predictions::table).values(rows).on_conflict_do_nothing().execute(conn).await?)
}

/// The prediction of a job.
pub async fn find(conn: &mut AsyncPgConnection, job_id: Uuid) -> Result<Option<Prediction>> {
    Ok(predictions::table.find(job_id).select(Prediction::as_select()).first(conn).await.optional()?)
}

/// Number of prediction rows for a job (tests use it to prove exactly-once results).
pub async fn count_for_jobs(conn: &mut AsyncPgConnection, job_ids: &[Uuid]) -> Result<i64> {
    Ok(predictions::table.filter(predictions::job_id.eq_any(job_ids)).count().get_result(conn).await?)
}

/// What verification found of a prediction (see `prediction_results`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::schema::prediction_results)]
pub struct Verification {
    /// Steps compared.
    pub steps: i32,
    /// Σ |error|.
    pub abs_error_sum: f64,
    /// Σ error².
    pub sq_error_sum: f64,
    /// The final direction was right.
    pub direction_hit: bool,
    /// Steps whose actual close fell inside [p10, p90].
    pub covered_steps: i32,
    /// Naive Σ |error|.
    pub naive_abs_error_sum: f64,
    /// The naive direction was right.
    pub naive_direction_hit: bool,
    /// When it was verified.
    pub verified_at: DateTime<Utc>,
}

/// A prediction of the history: the forecast, its asset's symbol (stored series) and
/// its verification when it exists.
pub type HistoryRow = (Prediction, Option<String>, Option<Verification>);

/// Predictions of `owner` (everyone's when `None`), newest first, older than job
/// `before` when given, at most `limit`.
pub async fn history(
    conn: &mut AsyncPgConnection,
    owner: Option<i64>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<HistoryRow>> {
    use crate::schema::{assets, jobs, prediction_results};
    let mut query = predictions::table
        .inner_join(jobs::table)
        .left_join(prediction_results::table)
        .left_join(assets::table.on(assets::id.nullable().eq(predictions::asset_id)))
        .select((Prediction::as_select(), assets::symbol.nullable(), Option::<Verification>::as_select()))
        .order(predictions::job_id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(owner) = owner {
        query = query.filter(jobs::owner_id.eq(owner));
    }
    if let Some(before) = before {
        query = query.filter(predictions::job_id.lt(before));
    }
    Ok(query.load(conn).await?)
}
