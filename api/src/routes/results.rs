//! The results of job kinds whose result is the job's own report (`jobs.result`):
//! `GET /v1/trainings/{id}` (the registered version, its metrics beside naive and
//! whether it was promoted), `GET /v1/verifications/{id}`, `GET /v1/evaluations/{id}`
//! and `GET /v1/jobs/{id}/result` (any kind, e.g. refresh jobs). `409` with code
//! `not_ready`, `failed` or `cancelled` until the job succeeded; `404` for a job of
//! another kind. The documents are shown as the worker stored them; their schemas are
//! the types the worker wrote them from (`kronos_types::jobs::results`).

use axum::{extract::State, Json};
use kronos_types::jobs::{JobKind, JobStatus};
use serde_json::Value;

use crate::{
    auth::{Caller, Principal},
    error::ApiResult,
    extract::ApiPath,
    routes::jobs::{not_ready, parse_id, visible},
    state::AppState,
};

/// The result of succeeded job `raw` of `kind` (any kind when `None`), when `caller`
/// may see it.
async fn result_of(state: &AppState, caller: &Principal, raw: &str, kind: Option<JobKind>) -> ApiResult<Json<Value>> {
    let id = parse_id(raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let job = visible(&mut conn, id, caller).await?;
    match job {
        Some(job) if kind.is_none_or(|k| job.kind == k) && job.status == JobStatus::Succeeded => {
            Ok(Json(job.result.unwrap_or(Value::Null)))
        }
        _ => Err(not_ready(&mut conn, id, kind, caller).await),
    }
}

/// `GET /v1/trainings/{id}`.
#[utoipa::path(
    get,
    path = "/v1/trainings/{id}", operation_id = "getTraining",
    tag = "trainings",
    params(("id" = uuid::Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The registered version, its metrics beside naive and whether it was promoted (409 until the job succeeded)", body = kronos_types::jobs::results::TrainingResult),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn training(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    result_of(&state, &caller, &raw, Some(JobKind::Training)).await
}

/// `GET /v1/verifications/{id}`.
#[utoipa::path(
    get,
    path = "/v1/verifications/{id}", operation_id = "getVerification",
    tag = "verifications",
    params(("id" = uuid::Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "Counts of predictions verified (409 until the job succeeded)", body = kronos_types::jobs::results::VerificationResult),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn verification(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    result_of(&state, &caller, &raw, Some(JobKind::Verification)).await
}

/// `GET /v1/evaluations/{id}`.
#[utoipa::path(
    get,
    path = "/v1/evaluations/{id}", operation_id = "getEvaluation",
    tag = "evaluations",
    params(("id" = uuid::Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "Accuracy beside naive per asset and overall (409 until the job succeeded)", body = kronos_types::jobs::results::EvaluationResult),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn evaluation(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    result_of(&state, &caller, &raw, Some(JobKind::Evaluation)).await
}

/// `GET /v1/jobs/{id}/result`.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/result", operation_id = "getJobResult",
    tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job's result, any kind (409 until it succeeded)", body = Option<crate::dto::results::JobResult>),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn any(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    result_of(&state, &caller, &raw, None).await
}
