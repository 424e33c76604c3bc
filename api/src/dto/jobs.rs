//! Jobs as clients see them: `GET /v1/jobs/{id}`, the list, and the `202` every
//! submission answers with.

use chrono::{DateTime, Utc};
use kronos_db::jobs::Job;
use kronos_types::jobs::{JobKind, JobStatus};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A job as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    /// Id.
    pub id: Uuid,
    /// Kind.
    pub kind: JobKind,
    /// Status.
    pub status: JobStatus,
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
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Where to poll and where the result will be.
    pub links: JobLinks,
    /// `GET /v1/jobs/{id}` of a job submitted with a `callback_url`: its completion
    /// callback and every delivery attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback: Option<super::batches::CallbackView>,
}

/// Where the result of a job of `kind` is read (`409` there until it succeeded).
pub fn result_link(kind: JobKind, id: Uuid) -> String {
    match kind {
        JobKind::Prediction => format!("/v1/predictions/{id}"),
        JobKind::Backtest => format!("/v1/backtests/{id}"),
        JobKind::Training => format!("/v1/trainings/{id}"),
        JobKind::Evaluation => format!("/v1/evaluations/{id}"),
        JobKind::Verification => format!("/v1/verifications/{id}"),
        JobKind::Refresh | JobKind::Cleanup | JobKind::Email | JobKind::Batch | JobKind::BatchChunk => {
            format!("/v1/jobs/{id}/result")
        }
    }
}

/// Links of a job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobLinks {
    /// This job.
    #[serde(rename = "self")]
    pub this: String,
    /// Where its result is read once it succeeded (every kind has one).
    pub result: Option<String>,
}

impl From<Job> for JobView {
    fn from(j: Job) -> Self {
        let result = Some(result_link(j.kind, j.id));
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
            callback: None,
        }
    }
}

/// `202 Accepted` with `{"job": …}` and a `Location` header pointing at the job.
pub fn accepted(job: Job) -> axum::response::Response {
    use axum::{
        http::{header, HeaderValue, StatusCode},
        response::IntoResponse,
    };
    let location = format!("/v1/jobs/{}", job.id);
    let mut response = (StatusCode::ACCEPTED, axum::Json(Accepted { job: JobView::from(job) })).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The answer to every submission (`202`, with `Location: /v1/jobs/{id}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// The job as recorded (a repeated `Idempotency-Key` answers the first job).
    pub job: JobView,
}

/// A page of jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    /// Jobs, newest first.
    pub jobs: Vec<JobView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}
