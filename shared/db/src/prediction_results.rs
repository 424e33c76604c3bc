//! Queries on `prediction_results`: verified forecasts and accuracy aggregated from
//! their error sums, always beside the naive baseline on the same predictions.

use chrono::{DateTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Double, Nullable, Text, Timestamptz},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::{
    predictions::Prediction,
    schema::{jobs, prediction_results, predictions},
};
use crate::error::{Error, Result};

/// A verified forecast.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = prediction_results)]
pub struct NewResult {
    /// The prediction (job) id.
    pub job_id: Uuid,
    /// The serving version.
    pub model: String,
    /// Asset.
    pub asset_id: i64,
    /// Owner of the prediction job.
    pub owner_id: Option<i64>,
    /// Interval.
    pub interval: String,
    /// When the prediction was made.
    pub predicted_at: DateTime<Utc>,
    /// Last close before the forecast.
    pub last_close: f64,
    /// Actual closes per step.
    pub actual: Vec<f64>,
    /// Forecast closes per step.
    pub forecast: Vec<f64>,
    /// Forecast − actual per step.
    pub errors: Vec<f64>,
    /// Whether [p10, p90] held the actual close, per step.
    pub covered: Vec<bool>,
    /// Steps.
    pub steps: i32,
    /// Σ |error|.
    pub abs_error_sum: f64,
    /// Σ error².
    pub sq_error_sum: f64,
    /// Σ |error / actual|.
    pub pct_error_sum: f64,
    /// Steps in the percentage sum (non-zero actuals).
    pub pct_steps: i32,
    /// The forecast's final direction was right.
    pub direction_hit: bool,
    /// Steps inside [p10, p90].
    pub covered_steps: i32,
    /// Naive Σ |error|.
    pub naive_abs_error_sum: f64,
    /// Naive Σ error².
    pub naive_sq_error_sum: f64,
    /// Naive Σ |error / actual|.
    pub naive_pct_error_sum: f64,
    /// The naive direction (the last observed bar's) was right.
    pub naive_direction_hit: bool,
}

/// Expired predictions of stored series not verified yet, oldest expiry first, with
/// their jobs' owners.
pub async fn unverified(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(Prediction, Option<i64>)>> {
    let verified = prediction_results::table.filter(prediction_results::job_id.eq(predictions::job_id));
    Ok(predictions::table
        .inner_join(jobs::table)
        .filter(predictions::asset_id.is_not_null())
        .filter(predictions::expires_at.le(now))
        .filter(diesel::dsl::not(diesel::dsl::exists(verified)))
        .order(predictions::expires_at)
        .limit(limit)
        .select((Prediction::as_select(), jobs::owner_id))
        .load(conn)
        .await?)
}

/// Stores a result; a prediction verified before is left as it was. Returns whether a
/// row was written.
pub async fn insert(conn: &mut AsyncPgConnection, row: &NewResult) -> Result<bool> {
    Ok(diesel::insert_into(prediction_results::table).values(row).on_conflict_do_nothing().execute(conn).await? == 1)
}

/// How accuracy is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Per serving version.
    Model,
    /// Per asset.
    Asset,
    /// Per owner.
    User,
    /// Live forecasts apart from evaluation forecasts.
    Source,
    /// Everything together.
    All,
}

impl std::str::FromStr for GroupBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "model" => Ok(Self::Model),
            "asset" => Ok(Self::Asset),
            "user" => Ok(Self::User),
            "source" => Ok(Self::Source),
            "all" => Ok(Self::All),
            other => Err(Error::invalid(
                "group_by",
                format!("unknown grouping {other:?}; expected model, asset, user, source or all"),
            )),
        }
    }
}

/// Which results count.
#[derive(Debug, Clone, Default)]
pub struct AccuracyFilter {
    /// A version name, or a lineage (all its versions).
    pub model: Option<String>,
    /// Asset symbol.
    pub asset: Option<String>,
    /// Owner.
    pub owner_id: Option<i64>,
    /// Predictions made at or after.
    pub from: Option<DateTime<Utc>>,
    /// Predictions made before.
    pub to: Option<DateTime<Utc>>,
    /// `live` (verified predictions) or `evaluation` (evaluation jobs); both when `None`.
    pub source: Option<String>,
}

/// Accuracy of one group: the forecasts and the naive baseline on the same predictions.
#[derive(Debug, Clone, QueryableByName, Serialize)]
pub struct AccuracyRow {
    /// Group key (version name, symbol, owner id or `all`).
    #[diesel(sql_type = Text)]
    pub key: String,
    /// Predictions verified.
    #[diesel(sql_type = BigInt)]
    pub predictions: i64,
    /// Forecast steps verified.
    #[diesel(sql_type = BigInt)]
    pub steps: i64,
    /// Mean absolute error of the close (pooled over steps).
    #[diesel(sql_type = Double)]
    pub mae: f64,
    /// Root mean squared error.
    #[diesel(sql_type = Double)]
    pub rmse: f64,
    /// Mean absolute percentage error (fraction).
    #[diesel(sql_type = Nullable<Double>)]
    pub mape: Option<f64>,
    /// Share of predictions whose final direction was right.
    #[diesel(sql_type = Double)]
    pub direction_accuracy: f64,
    /// Share of steps whose actual close fell inside [p10, p90] (nominal 0.8).
    #[diesel(sql_type = Double)]
    pub coverage_p10_p90: f64,
    /// Naive MAE on the same steps.
    #[diesel(sql_type = Double)]
    pub naive_mae: f64,
    /// Naive RMSE.
    #[diesel(sql_type = Double)]
    pub naive_rmse: f64,
    /// Naive MAPE.
    #[diesel(sql_type = Nullable<Double>)]
    pub naive_mape: Option<f64>,
    /// Naive (last-bar persistence) direction accuracy.
    #[diesel(sql_type = Double)]
    pub naive_direction_accuracy: f64,
}

/// Aggregates verified forecasts (live and evaluated: the `verified_forecasts` view)
/// per group, largest groups first.
pub async fn accuracy(
    conn: &mut AsyncPgConnection,
    filter: &AccuracyFilter,
    group: GroupBy,
) -> Result<Vec<AccuracyRow>> {
    let key = match group {
        GroupBy::Model => "r.model",
        GroupBy::Asset => "a.symbol",
        GroupBy::User => "coalesce(r.owner_id::text, 'anonymous')",
        GroupBy::Source => "r.source",
        GroupBy::All => "'all'",
    };
    let sql = format!(
        "SELECT {key} AS key, count(*) AS predictions, sum(r.steps)::int8 AS steps,
            sum(r.abs_error_sum) / sum(r.steps) AS mae,
            sqrt(sum(r.sq_error_sum) / sum(r.steps)) AS rmse,
            sum(r.pct_error_sum) / nullif(sum(r.pct_steps), 0) AS mape,
            avg(r.direction_hit::int)::float8 AS direction_accuracy,
            sum(r.covered_steps)::float8 / sum(r.steps) AS coverage_p10_p90,
            sum(r.naive_abs_error_sum) / sum(r.steps) AS naive_mae,
            sqrt(sum(r.naive_sq_error_sum) / sum(r.steps)) AS naive_rmse,
            sum(r.naive_pct_error_sum) / nullif(sum(r.pct_steps), 0) AS naive_mape,
            avg(r.naive_direction_hit::int)::float8 AS naive_direction_accuracy
         FROM verified_forecasts r JOIN assets a ON a.id = r.asset_id
         WHERE ($1::text IS NULL OR r.model = $1 OR r.model IN (SELECT name FROM models WHERE lineage = $1))
           AND ($2::text IS NULL OR a.symbol = $2)
           AND ($3::int8 IS NULL OR r.owner_id = $3)
           AND ($4::timestamptz IS NULL OR r.predicted_at >= $4)
           AND ($5::timestamptz IS NULL OR r.predicted_at < $5)
           AND ($6::text IS NULL OR r.source = $6)
         GROUP BY 1 ORDER BY 2 DESC, 1"
    );
    Ok(diesel::sql_query(sql)
        .bind::<Nullable<Text>, _>(filter.model.as_deref())
        .bind::<Nullable<Text>, _>(filter.asset.as_deref())
        .bind::<Nullable<BigInt>, _>(filter.owner_id)
        .bind::<Nullable<Timestamptz>, _>(filter.from)
        .bind::<Nullable<Timestamptz>, _>(filter.to)
        .bind::<Nullable<Text>, _>(filter.source.as_deref())
        .load(conn)
        .await?)
}

/// Whether `name` names something accuracy can be asked of: a registered version or
/// lineage, or a model that verified forecasts were made with (a deleted version's
/// results stay readable).
pub async fn model_known(conn: &mut AsyncPgConnection, name: &str) -> Result<bool> {
    #[derive(QueryableByName)]
    struct Known {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        known: bool,
    }
    let row: Known = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM models WHERE name = $1 OR lineage = $1)
             OR EXISTS (SELECT 1 FROM prediction_results WHERE model = $1)
             OR EXISTS (SELECT 1 FROM evaluation_results WHERE model = $1) AS known",
    )
    .bind::<Text, _>(name)
    .get_result(conn)
    .await?;
    Ok(row.known)
}
