//! `GET /v1/alerts/{id}/events`: when one of the caller's rules fired.

use axum::{extract::State, Json};
use kronos_db::alerts;

use super::alert_id;
use crate::{
    auth::Caller,
    dto::alerts::{AlertEventList, AlertEventView},
    error::{ApiError, ApiResult},
    extract::ApiPath,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/alerts/{id}/events", operation_id = "listAlertEvents",
    tag = "alerts",
    params(("id" = i64, Path, description = "Alert id")),
    responses(
        (status = 200, description = "Its firings, newest first", body = crate::dto::alerts::AlertEventList),
        (status = "4XX", description = "404: no such rule of yours", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<AlertEventList>> {
    let id = alert_id(&raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    if alerts::find_owned(&mut conn, caller.user_id, id).await?.is_none() {
        return Err(ApiError::not_found(format!("alert {id} not found")));
    }
    let rows = alerts::events(&mut conn, id, 200).await?;
    Ok(Json(AlertEventList { events: rows.iter().map(AlertEventView::from).collect() }))
}
