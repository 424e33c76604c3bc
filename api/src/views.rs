//! Response bodies.

use chrono::{DateTime, Utc};
use kronos_db::{jobs::Job, predictions::Prediction};
use kronos_types::{jobs::payload::direction_of, jobs::payload::ForecastRow};
use serde::Serialize;
use uuid::Uuid;

/// A job as clients see it.
#[derive(Debug, Serialize)]
pub struct JobView {
    /// Id.
    pub id: Uuid,
    /// Kind.
    pub kind: String,
    /// Status.
    pub status: String,
    /// 0..1.
    pub progress: f32,
    /// Attempts started.
    pub attempts: i32,
    /// Most attempts.
    pub max_attempts: i32,
    /// Last error.
    pub error: Option<String>,
    /// Whether cancellation was asked for.
    pub cancel_requested: bool,
    /// Batch.
    pub batch_id: Option<Uuid>,
    /// Device that ran it.
    pub device: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// First started.
    pub started_at: Option<DateTime<Utc>>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// What the finished job reports (refresh jobs: per-series counts and quality).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// Where to poll and where the result will be.
    pub links: JobLinks,
}

/// Where the result of a job of `kind` is read (`409` there until it succeeded).
pub fn result_link(kind: &str, id: Uuid) -> String {
    match kind {
        "prediction" => format!("/v1/predictions/{id}"),
        "backtest" => format!("/v1/backtests/{id}"),
        "training" => format!("/v1/trainings/{id}"),
        "evaluation" => format!("/v1/evaluations/{id}"),
        "verification" => format!("/v1/verifications/{id}"),
        _ => format!("/v1/jobs/{id}/result"),
    }
}

/// Links of a job.
#[derive(Debug, Serialize)]
pub struct JobLinks {
    /// This job.
    #[serde(rename = "self")]
    pub this: String,
    /// Where its result is read once it succeeded (every kind has one).
    pub result: Option<String>,
}

impl From<Job> for JobView {
    fn from(j: Job) -> Self {
        let result = Some(result_link(&j.kind, j.id));
        Self {
            links: JobLinks { this: format!("/v1/jobs/{}", j.id), result },
            id: j.id,
            kind: j.kind,
            status: j.status,
            progress: j.progress,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            error: j.error,
            cancel_requested: j.cancel_requested,
            batch_id: j.batch_id,
            device: j.device,
            created_at: j.created_at,
            updated_at: j.updated_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
            result: j.result,
        }
    }
}

/// A finished prediction.
#[derive(Debug, Serialize)]
pub struct PredictionView {
    /// The job (and prediction) id.
    pub id: Uuid,
    /// Asset symbol, for stored series.
    pub symbol: Option<String>,
    /// Model.
    pub model: String,
    /// Interval.
    pub interval: String,
    /// Steps.
    pub horizon: i32,
    /// The trading calendar the forecast's bar times follow.
    pub calendar: String,
    /// For a backdated forecast: the time it was made as of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<DateTime<Utc>>,
    /// Last observed candle time.
    pub last_ts: DateTime<Utc>,
    /// Last observed close.
    pub last_close: f64,
    /// Probability that the final close ends above `last_close`.
    pub prob_up: f64,
    /// `up` (prob_up > 0.5), `down` (< 0.5) or `flat`.
    pub direction: &'static str,
    /// The mean path's final close over the last close, minus 1.
    pub expected_return: Option<f64>,
    /// Standard deviation of the horizon returns across sample paths.
    pub volatility: Option<f64>,
    /// 5 % value at risk over the horizon (a loss as a positive fraction of the last close).
    pub value_at_risk_5: Option<f64>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When the horizon has passed.
    pub expires_at: DateTime<Utc>,
    /// Object-store key of the forecast document.
    pub artifact_key: String,
    /// Forecast rows (mean path as consistent candles, close quantiles).
    pub forecast: Vec<ForecastRow>,
    /// The model's mean path as it came out (with `?include=raw`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_forecast: Option<serde_json::Value>,
}

impl PredictionView {
    /// Builds the view of a stored prediction; `raw` keeps the raw mean path.
    pub fn new(p: Prediction, symbol: Option<String>, raw: bool) -> Result<Self, serde_json::Error> {
        Ok(Self {
            forecast: serde_json::from_value(p.forecast)?,
            id: p.job_id,
            symbol,
            model: p.model,
            interval: p.interval,
            horizon: p.horizon,
            calendar: p.calendar.unwrap_or_else(|| "always_open".to_owned()),
            as_of: p.as_of,
            last_ts: p.last_ts,
            last_close: p.last_close,
            prob_up: p.prob_up,
            direction: direction_of(p.prob_up),
            expected_return: p.expected_return,
            volatility: p.volatility,
            value_at_risk_5: p.value_at_risk_5,
            created_at: p.created_at,
            expires_at: p.expires_at,
            artifact_key: p.artifact_key,
            raw_forecast: if raw { p.raw_forecast } else { None },
        })
    }
}

/// `202 Accepted` with `{"job": …}` and a `Location` header pointing at the job.
pub fn accepted(job: Job) -> axum::response::Response {
    use axum::{
        http::{header, HeaderValue, StatusCode},
        response::IntoResponse,
    };
    let location = format!("/v1/jobs/{}", job.id);
    let mut response =
        (StatusCode::ACCEPTED, axum::Json(serde_json::json!({ "job": JobView::from(job) }))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
