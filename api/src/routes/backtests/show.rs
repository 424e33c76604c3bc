//! `GET /v1/backtests/{id}`: the summary of a succeeded backtest (metrics, the sweep's
//! best points, the artifacts' keys); 409 while it runs.

use axum::{extract::State, Json};

use crate::{error::ApiResult, extract::ApiPath, routes::jobs::parse_id, state::AppState};

/// Handler.
pub async fn show(State(state): State<AppState>, ApiPath(raw): ApiPath<String>) -> ApiResult<Json<serde_json::Value>> {
    let id = parse_id(&raw)?;
    Ok(Json(super::summary_of(&state, id).await?))
}
