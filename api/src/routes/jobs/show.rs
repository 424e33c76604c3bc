//! `GET /v1/jobs/{id}`: status, progress, attempts, error, timestamps.

use axum::{extract::State, Json};
use kronos_db::jobs;

use super::parse_id;
use crate::{
    error::{ApiError, ApiResult},
    extract::ApiPath,
    state::AppState,
    views::JobView,
};

/// Handler.
pub async fn show(State(state): State<AppState>, ApiPath(raw): ApiPath<String>) -> ApiResult<Json<JobView>> {
    let id = parse_id(&raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let job = jobs::find(&mut conn, id).await?.ok_or_else(|| ApiError::not_found(format!("job {id} not found")))?;
    Ok(Json(job.into()))
}
