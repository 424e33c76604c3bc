//! `GET /v1/batches/{id}`: status, counts, progress, ETA, callback deliveries.

use axum::{extract::State, Json};

use super::{owned, parse_id};
use crate::{
    auth::Caller, batches::view::batch_view, dto::batches::BatchView, error::ApiResult, extract::ApiPath,
    state::AppState,
};

/// A batch of the caller.
#[utoipa::path(
    get,
    path = "/v1/batches/{id}", operation_id = "getBatch",
    tag = "batches",
    params(("id" = uuid::Uuid, Path, description = "Batch id")),
    responses(
        (status = 200, description = "The batch", body = BatchView),
        (status = "4XX", description = "Refused or not found", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<BatchView>> {
    let id = parse_id(&raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let batch = owned(&mut conn, id, &caller).await?;
    Ok(Json(batch_view(&mut conn, batch).await?))
}
