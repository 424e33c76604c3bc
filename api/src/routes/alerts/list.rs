//! `GET /v1/alerts`.

use axum::{extract::State, Json};
use kronos_db::alerts;

use crate::{
    auth::Caller,
    dto::alerts::{AlertList, AlertView},
    error::ApiResult,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/alerts", operation_id = "listAlerts",
    tag = "alerts",
    responses(
        (status = 200, description = "The caller's rules, newest first, and the tier's limit", body = crate::dto::alerts::AlertList),
        (status = "4XX", description = "401: not logged in", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<AlertList>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let rows = alerts::list_owned(&mut conn, caller.user_id).await?;
    Ok(Json(AlertList {
        alerts: rows.iter().map(|(a, symbol)| AlertView::of(a, symbol)).collect(),
        limit: caller.tier.alert_limit(),
    }))
}
