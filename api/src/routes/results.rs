//! The results of job kinds whose result is the job's own report (`jobs.result`):
//! `GET /v1/trainings/{id}` (the registered version, its metrics beside naive and
//! whether it was promoted), `GET /v1/verifications/{id}`, `GET /v1/evaluations/{id}`
//! and `GET /v1/jobs/{id}/result` (any kind, e.g. refresh jobs). `409` with code
//! `not_ready`, `failed` or `cancelled` until the job succeeded; `404` for a job of
//! another kind.

use axum::{extract::State, Json};
use kronos_db::jobs;
use serde_json::Value;

use crate::{
    error::ApiResult,
    extract::ApiPath,
    routes::jobs::{not_ready, parse_id},
    state::AppState,
};

/// The result of succeeded job `raw` of `kind` (any kind when `None`).
async fn result_of(state: &AppState, raw: &str, kind: Option<&str>) -> ApiResult<Json<Value>> {
    let id = parse_id(raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let job = jobs::find(&mut conn, id).await?;
    let kind = kind.map(str::to_owned).or_else(|| job.as_ref().map(|j| j.kind.clone())).unwrap_or_default();
    match job {
        Some(job) if job.kind == kind && job.status == "succeeded" => Ok(Json(job.result.unwrap_or(Value::Null))),
        _ => Err(not_ready(&mut conn, id, &kind).await),
    }
}

/// `GET /v1/trainings/{id}`.
pub async fn training(State(state): State<AppState>, ApiPath(raw): ApiPath<String>) -> ApiResult<Json<Value>> {
    result_of(&state, &raw, Some("training")).await
}

/// `GET /v1/verifications/{id}`.
pub async fn verification(State(state): State<AppState>, ApiPath(raw): ApiPath<String>) -> ApiResult<Json<Value>> {
    result_of(&state, &raw, Some("verification")).await
}

/// `GET /v1/evaluations/{id}`.
pub async fn evaluation(State(state): State<AppState>, ApiPath(raw): ApiPath<String>) -> ApiResult<Json<Value>> {
    result_of(&state, &raw, Some("evaluation")).await
}

/// `GET /v1/jobs/{id}/result`.
pub async fn any(State(state): State<AppState>, ApiPath(raw): ApiPath<String>) -> ApiResult<Json<Value>> {
    result_of(&state, &raw, None).await
}
