//! `GET /v1/batches`: the caller's batches, newest first, paged by `before`.

use axum::{extract::State, Json};
use kronos_db::batches;

use crate::{
    auth::Caller,
    batches::view::batch_view,
    dto::batches::{BatchList, BatchListQuery},
    error::ApiResult,
    extract::{page_size, ApiQuery},
    state::AppState,
};

/// The caller's batches.
#[utoipa::path(
    get,
    path = "/v1/batches", operation_id = "listBatches",
    tag = "batches",
    params(BatchListQuery),
    responses(
        (status = 200, description = "A page of batches", body = BatchList),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<BatchListQuery>,
) -> ApiResult<Json<BatchList>> {
    let limit = page_size(query.limit.as_deref(), 20, 100)?;
    let before = query.before.as_deref().map(super::parse_id).transpose()?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let rows = batches::list_owned(&mut conn, caller.user_id, before, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let mut views = Vec::with_capacity(rows.len());
    for batch in rows.into_iter().take(limit as usize) {
        views.push(batch_view(&mut conn, batch).await?);
    }
    let next_before = if more { views.last().map(|b| b.id) } else { None };
    Ok(Json(BatchList { batches: views, next_before }))
}
