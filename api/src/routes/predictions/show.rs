//! `GET /v1/predictions/{id}[?include=raw]`: the forecast of a succeeded prediction job.

use axum::{extract::State, Json};
use kronos_db::{assets, predictions};
use kronos_types::jobs::JobKind;
use serde::Deserialize;

use crate::{
    auth::Caller,
    dto::predictions::PredictionView,
    error::{ApiError, ApiResult},
    extract::{ApiPath, ApiQuery},
    routes::jobs::{not_ready, parse_id, visible},
    state::AppState,
};

/// Query parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShowParams {
    /// `raw`: also the model's mean path as it came out.
    include: Option<String>,
}

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/predictions/{id}", operation_id = "getPrediction",
    tag = "predictions",
    params(("id" = uuid::Uuid, Path, description = "Job id"), ShowParams),
    responses(
        (status = 200, description = "The forecast (409 until the job succeeded)", body = crate::dto::predictions::PredictionView),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
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
    if visible(&mut conn, id, &caller).await?.is_none() {
        return Err(ApiError::not_found(format!("prediction {id} not found")));
    }
    let Some(prediction) = predictions::find(&mut conn, id).await? else {
        return Err(not_ready(&mut conn, id, Some(JobKind::Prediction), &caller).await);
    };
    let symbol = match prediction.asset_id {
        Some(asset_id) => assets::find(&mut conn, asset_id).await?.map(|a| a.symbol),
        None => None,
    };
    let view = PredictionView::new(prediction, symbol, include_raw).map_err(kronos_db::Error::from)?;
    Ok(Json(view))
}
