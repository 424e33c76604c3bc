//! `POST /v1/batches/{id}/cancel`: waiting chunks are cancelled at once, running ones
//! stop between decode steps; the batch then finishes with what had been forecast.

use axum::{extract::State, Json};
use kronos_db::batches;
use kronos_types::batches::BatchStatus;

use super::parse_id;
use crate::{
    auth::Caller,
    batches::view::batch_view,
    dto::batches::BatchView,
    error::{ApiError, ApiResult},
    extract::ApiPath,
    state::AppState,
};

/// Cancel a batch of the caller.
#[utoipa::path(
    post,
    path = "/v1/batches/{id}/cancel", operation_id = "cancelBatch",
    tag = "batches",
    params(("id" = uuid::Uuid, Path, description = "Batch id")),
    responses(
        (status = 200, description = "Cancellation under way (or done)", body = BatchView),
        (status = "4XX", description = "Refused, not found, or already finished (409)", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn cancel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<BatchView>> {
    let id = parse_id(&raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let before = super::owned(&mut conn, id, &caller).await?;
    if before.status.is_terminal() {
        return Err(ApiError::conflict("already_finished", format!("batch {id} is already {}", before.status)));
    }
    let Some(batch) = batches::request_cancel(&mut conn, id, caller.user_id).await? else {
        return Err(ApiError::not_found(format!("batch {id} not found")));
    };
    // nothing left running: the batch finishes now with what it has
    if batch.status == BatchStatus::Running && !batches::has_unfinished_chunks(&mut conn, id).await? {
        batches::enqueue_finish(&mut conn, &batch).await?;
        state.signal.wake();
    }
    Ok(Json(batch_view(&mut conn, batch).await?))
}
