//! `GET /v1/backtests/{id}`: the summary of a succeeded backtest (metrics, the sweep's
//! best points, the artifacts' keys); 409 while it runs.

use axum::{extract::State, Json};

use crate::{auth::Caller, error::ApiResult, extract::ApiPath, routes::jobs::parse_id, state::AppState};

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/backtests/{id}", operation_id = "getBacktest",
    tag = "backtests",
    params(("id" = uuid::Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "Metrics, the sweep's best points and the tables' keys (409 until the job succeeded)", body = kronos_backtest::summary::BacktestSummary),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = parse_id(&raw)?;
    Ok(Json(super::summary_of(&state, &caller, id).await?))
}
