//! `GET /v1/assets/{symbol}/quality?interval=`: the data-quality report of a series.

use axum::{extract::State, Json};
use kronos_shared::db::quality::{series_report, SeriesQuality};

use super::{resolve, SeriesParams};
use crate::{
    error::ApiResult,
    extract::{ApiPath, ApiQuery},
    state::AppState,
};

/// Handler.
pub async fn quality(
    State(state): State<AppState>,
    ApiPath(symbol): ApiPath<String>,
    ApiQuery(params): ApiQuery<SeriesParams>,
) -> ApiResult<Json<SeriesQuality>> {
    let mut conn = state.pool.get().await.map_err(kronos_shared::Error::from)?;
    let q = resolve(&mut conn, &symbol, &params).await?;
    Ok(Json(series_report(&mut conn, &q.asset, q.interval).await?))
}
