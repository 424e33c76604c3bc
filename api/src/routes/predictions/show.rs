//! `GET /v1/predictions/{id}[?include=raw]`: the forecast of a succeeded prediction job.

use axum::{extract::State, Json};
use kronos_db::{assets, predictions};
use serde::Deserialize;

use crate::{
    error::{ApiError, ApiResult},
    extract::{ApiPath, ApiQuery},
    routes::jobs::{not_ready, parse_id},
    state::AppState,
    views::PredictionView,
};

/// Query parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowParams {
    /// `raw`: also the model's mean path as it came out.
    include: Option<String>,
}

/// Handler.
pub async fn show(
    State(state): State<AppState>,
    ApiPath(raw): ApiPath<String>,
    ApiQuery(params): ApiQuery<ShowParams>,
) -> ApiResult<Json<PredictionView>> {
    let id = parse_id(&raw)?;
    let include_raw = match params.include.as_deref() {
        None => false,
        Some("raw") => true,
        Some(other) => return Err(ApiError::invalid("include", format!("unknown include {other:?}; expected raw"))),
    };
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let Some(prediction) = predictions::find(&mut conn, id).await? else {
        return Err(not_ready(&mut conn, id, "prediction").await);
    };
    let symbol = match prediction.asset_id {
        Some(asset_id) => assets::find(&mut conn, asset_id).await?.map(|a| a.symbol),
        None => None,
    };
    let view = PredictionView::new(prediction, symbol, include_raw).map_err(kronos_db::Error::from)?;
    Ok(Json(view))
}
