//! `GET /v1/assets/{symbol}/ticker`: last price, 24-hour change and volume, from the
//! first exchange that answers (cached in Redis for a few seconds).

use axum::{extract::State, Json};
use kronos_db::assets;
use kronos_exchanges::SourceAsset;
use kronos_exchanges::Ticker;

use crate::{
    error::{ApiError, ApiResult},
    extract::ApiPath,
    state::AppState,
};

/// Handler: 404 for an unknown symbol or one no exchange lists, 503 when every source failed.
#[utoipa::path(
    get,
    path = "/v1/assets/{symbol}/ticker", operation_id = "getTicker",
    tag = "market data",
    params(("symbol" = String, Path, description = "Asset symbol")),
    responses(
        (status = 200, description = "Last price and 24 h change", body = Ticker),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn ticker(State(state): State<AppState>, ApiPath(symbol): ApiPath<String>) -> ApiResult<Json<Ticker>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let asset = assets::find_by_symbol(&mut conn, &symbol)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("unknown symbol {symbol:?}")))?;
    drop(conn);
    let source = SourceAsset::from(&asset);
    let ticker = state.market.ticker(&source).await.map_err(|e| {
        if e.unlisted() {
            ApiError::not_found(format!("no configured exchange lists {}", asset.symbol))
        } else {
            // the sources' own errors (addresses included) go to the log, not the client
            tracing::warn!(error = %e, "ticker sources failed");
            ApiError::unavailable(format!(
                "no exchange could serve the {} ticker just now (tried {}); try again",
                asset.symbol,
                e.sources().join(", ")
            ))
        }
    })?;
    Ok(Json(ticker))
}
