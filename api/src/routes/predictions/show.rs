//! `GET /v1/predictions/{id}`: the forecast of a succeeded prediction job.

use axum::{
    extract::State,
    Json,
};
use kronos_shared::db::{assets, jobs, predictions};

use crate::{
    extract::{ApiPath},
    error::{ApiError, ApiResult},
    routes::jobs::parse_id,
    state::AppState,
    views::PredictionView,
};

/// Handler.
pub async fn show(State(state): State<AppState>, ApiPath(raw): ApiPath<String>) -> ApiResult<Json<PredictionView>> {
    let id = parse_id(&raw)?;
    let mut conn = state.pool.get().await.map_err(kronos_shared::Error::from)?;
    let Some(prediction) = predictions::find(&mut conn, id).await? else {
        return match jobs::find(&mut conn, id).await? {
            Some(job) if job.kind == "prediction" => Err(ApiError::conflict(
                "not_ready",
                format!("prediction job {id} is {}; poll /v1/jobs/{id}", job.status),
            )),
            _ => Err(ApiError::not_found(format!("prediction {id} not found"))),
        };
    };
    let symbol = match prediction.asset_id {
        Some(asset_id) => assets::find(&mut conn, asset_id).await?.map(|a| a.symbol),
        None => None,
    };
    let view = PredictionView::new(prediction, symbol).map_err(kronos_shared::Error::from)?;
    Ok(Json(view))
}
