//! `GET /v1/jobs/{id}`: status, progress, attempts, error, timestamps.

use axum::{extract::State, Json};

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
    get,
    path = "/v1/jobs/{id}", operation_id = "getJob",
    tag = "jobs",
    params(("id" = uuid::Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = crate::dto::jobs::JobView),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<JobView>> {
    let id = parse_id(&raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let job =
        visible(&mut conn, id, &caller).await?.ok_or_else(|| ApiError::not_found(format!("job {id} not found")))?;
    let mut view = JobView::from(job);
    view.callback = kronos_db::callbacks::of_job(&mut conn, id).await?.map(crate::batches::view::callback_view);
    Ok(Json(view))
}
