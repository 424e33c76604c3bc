//! `GET /v1/assets/{symbol}/quality?interval=`: the data-quality report of a series.

use axum::{extract::State, Json};
use kronos_db::quality;
use kronos_market_data::quality::SeriesQuality;

use super::{resolve, SeriesParams};
use crate::{
    error::ApiResult,
    extract::{ApiPath, ApiQuery},
    state::AppState,
};

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/assets/{symbol}/quality", operation_id = "getQuality",
    tag = "market data",
    params(("symbol" = String, Path, description = "Asset symbol"), super::SeriesParams),
    responses(
        (status = 200, description = "The data-quality report", body = kronos_market_data::quality::SeriesQuality),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn quality(
    State(state): State<AppState>,
    ApiPath(symbol): ApiPath<String>,
    ApiQuery(params): ApiQuery<SeriesParams>,
) -> ApiResult<Json<SeriesQuality>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let q = resolve(&mut conn, &symbol, &params).await?;
    let stored = quality::inputs(&mut conn, &q.asset, q.interval).await?;
    drop(conn);
    let calendar = q.asset.calendar();
    let (symbol, interval) = (q.asset.symbol, q.interval);
    let report = state
        .heavy
        .run(move || SeriesQuality::build(&symbol, interval, calendar, &stored.bars, stored.quarantined))
        .await?;
    Ok(Json(report))
}
