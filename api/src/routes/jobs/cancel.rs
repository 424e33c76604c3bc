//! `POST /v1/jobs/{id}/cancel`: queued jobs are cancelled at once, running ones at
//! their worker's next step.

use axum::{extract::State, Json};
use kronos_db::jobs;

use super::{parse_id, visible};
use crate::{
    auth::Caller,
    dto::jobs::JobView,
    error::{ApiError, ApiResult},
    extract::ApiPath,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/cancel", operation_id = "cancelJob",
    tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "Cancelled (queued) or asked to stop (running)", body = crate::dto::jobs::JobView),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<JobView>> {
    let id = parse_id(&raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    if visible(&mut conn, id, &caller).await?.is_none() {
        return Err(ApiError::not_found(format!("job {id} not found")));
    }
    if let Some(job) = jobs::request_cancel(&mut conn, id).await? {
        return Ok(Json(job.into()));
    }
    match jobs::find(&mut conn, id).await? {
        Some(job) => Err(ApiError::conflict("already_finished", format!("job {id} is already {}", job.status))),
        None => Err(ApiError::not_found(format!("job {id} not found"))),
    }
}
