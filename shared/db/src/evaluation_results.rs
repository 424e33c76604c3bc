//! Queries on `evaluation_results`: the verified forecasts of evaluation jobs (one row
//! per job, asset and forecast bar), scored like live forecasts in
//! `prediction_results`, which `db::prediction_results::accuracy` reads beside them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::{prediction_results::NewResult, schema::evaluation_results};
use crate::error::Result;

/// A verified evaluation forecast.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = evaluation_results)]
pub struct NewEvaluationResult {
    job_id: uuid::Uuid,
    asset_id: i64,
    predicted_at: DateTime<Utc>,
    model: String,
    owner_id: Option<i64>,
    interval: String,
    last_close: f64,
    actual: Vec<f64>,
    forecast: Vec<f64>,
    errors: Vec<f64>,
    covered: Vec<bool>,
    steps: i32,
    abs_error_sum: f64,
    sq_error_sum: f64,
    pct_error_sum: f64,
    pct_steps: i32,
    direction_hit: bool,
    covered_steps: i32,
    naive_abs_error_sum: f64,
    naive_sq_error_sum: f64,
    naive_pct_error_sum: f64,
    naive_direction_hit: bool,
}

impl From<NewResult> for NewEvaluationResult {
    /// A scored forecast whose `job_id` is the evaluation job.
    fn from(r: NewResult) -> Self {
        Self {
            job_id: r.job_id,
            asset_id: r.asset_id,
            predicted_at: r.predicted_at,
            model: r.model,
            owner_id: r.owner_id,
            interval: r.interval,
            last_close: r.last_close,
            actual: r.actual,
            forecast: r.forecast,
            errors: r.errors,
            covered: r.covered,
            steps: r.steps,
            abs_error_sum: r.abs_error_sum,
            sq_error_sum: r.sq_error_sum,
            pct_error_sum: r.pct_error_sum,
            pct_steps: r.pct_steps,
            direction_hit: r.direction_hit,
            covered_steps: r.covered_steps,
            naive_abs_error_sum: r.naive_abs_error_sum,
            naive_sq_error_sum: r.naive_sq_error_sum,
            naive_pct_error_sum: r.naive_pct_error_sum,
            naive_direction_hit: r.naive_direction_hit,
        }
    }
}

/// Stores results; rows already stored (a retried job) are left as they were.
/// Returns how many were written.
pub async fn insert_many(conn: &mut AsyncPgConnection, rows: &[NewEvaluationResult]) -> Result<usize> {
    let mut written = 0;
    // PostgreSQL binds at most 65,535 parameters per statement (22 columns a row)
    for chunk in rows.chunks(2000) {
        written +=
            diesel::insert_into(evaluation_results::table).values(chunk).on_conflict_do_nothing().execute(conn).await?;
    }
    Ok(written)
}

/// Rows stored for evaluation job `job_id`.
pub async fn count(conn: &mut AsyncPgConnection, job_id: uuid::Uuid) -> Result<i64> {
    Ok(evaluation_results::table.filter(evaluation_results::job_id.eq(job_id)).count().get_result(conn).await?)
}
