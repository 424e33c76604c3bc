//! Response bodies.

use chrono::{DateTime, Utc};
use kronos_shared::{
    db::{jobs::Job, predictions::Prediction},
    jobs::payload::ForecastRow,
};
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

/// Links of a job.
#[derive(Debug, Serialize)]
pub struct JobLinks {
    /// This job.
    #[serde(rename = "self")]
    pub this: String,
    /// Its result, once it succeeded.
    pub result: Option<String>,
}

impl From<Job> for JobView {
    fn from(j: Job) -> Self {
        let result = (j.kind == "prediction").then(|| format!("/v1/predictions/{}", j.id));
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
    /// Last observed candle time.
    pub last_ts: DateTime<Utc>,
    /// Last observed close.
    pub last_close: f64,
    /// Probability that the final close ends above `last_close`.
    pub prob_up: f64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When the horizon has passed.
    pub expires_at: DateTime<Utc>,
    /// Object-store key of the forecast document.
    pub artifact_key: String,
    /// Forecast rows (mean path, close quantiles).
    pub forecast: Vec<ForecastRow>,
}

impl PredictionView {
    /// Builds the view of a stored prediction.
    pub fn new(p: Prediction, symbol: Option<String>) -> Result<Self, serde_json::Error> {
        Ok(Self {
            forecast: serde_json::from_value(p.forecast)?,
            id: p.job_id,
            symbol,
            model: p.model,
            interval: p.interval,
            horizon: p.horizon,
            last_ts: p.last_ts,
            last_close: p.last_close,
            prob_up: p.prob_up,
            created_at: p.created_at,
            expires_at: p.expires_at,
            artifact_key: p.artifact_key,
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
