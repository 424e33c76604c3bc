//! `GET /v1/assets/{symbol}/indicators?interval=&names=&from=&to=&limit=`: indicator
//! series aligned with the candles, column-wise (`time`, then one array per output).

use std::collections::BTreeMap;

use axum::{
    extract::{Path, Query, State},
    Json,
};
use kronos_shared::{
    db::candles,
    market_data::indicators::{compute, Indicator},
};
use serde::Serialize;

use super::{resolve, SeriesParams};
use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Extra history read before the first returned bar so exponential averages settle:
/// this many times the longest lookback (window indicators need one lookback).
const RECURSIVE_WARMUP: usize = 10;

/// Most bars of warm-up read.
const MAX_WARMUP: usize = 5000;

/// The answer.
#[derive(Debug, Serialize)]
pub struct IndicatorsView {
    /// Asset symbol.
    pub symbol: String,
    /// Interval.
    pub interval: String,
    /// Bar times, Unix seconds, oldest first.
    pub time: Vec<i64>,
    /// Closes of those bars.
    pub close: Vec<f64>,
    /// One array per output column (`null` during the warm-up).
    pub series: BTreeMap<String, Vec<Option<f64>>>,
}

/// Handler.
pub async fn indicators(
    State(state): State<AppState>,
    Path(symbol): Path<String>,
    Query(params): Query<SeriesParams>,
) -> ApiResult<Json<IndicatorsView>> {
    let names = params.names.as_deref().filter(|n| !n.trim().is_empty()).ok_or_else(|| {
        ApiError::invalid("names", "names is required, e.g. names=sma_20,rsi_14,macd,bbands_20,atr_14")
    })?;
    let wanted: Vec<Indicator> = names.split(',').map(str::parse).collect::<Result<_, _>>()?;
    if wanted.len() > 20 {
        return Err(ApiError::invalid("names", "at most 20 indicators per request"));
    }
    let mut conn = state.pool.get().await.map_err(kronos_shared::Error::from)?;
    let q = resolve(&mut conn, &symbol, &params).await?;
    let lookback = wanted.iter().map(Indicator::lookback).max().unwrap_or(0);
    let factor = if wanted.iter().any(Indicator::is_recursive) { RECURSIVE_WARMUP } else { 1 };
    let warmup = (lookback * factor).min(MAX_WARMUP) as i64;
    let mut conn = state.pool.get().await.map_err(kronos_shared::Error::from)?;
    // the window's bars plus warm-up bars before it (the lower bound applies to the output only)
    let bars = candles::range(&mut conn, q.asset.id, q.interval, None, q.to, q.limit + warmup).await?;
    let computed = compute(&bars, &wanted)?;
    let first = bars
        .iter()
        .position(|c| q.from.is_none_or(|from| c.ts >= from))
        .unwrap_or(bars.len())
        .max(bars.len().saturating_sub(q.limit as usize));
    Ok(Json(IndicatorsView {
        symbol: q.asset.symbol,
        interval: q.interval.as_str().to_owned(),
        time: bars[first..].iter().map(|c| c.ts.timestamp()).collect(),
        close: bars[first..].iter().map(|c| c.close).collect(),
        series: computed.into_iter().map(|s| (s.name, s.values[first..].to_vec())).collect(),
    }))
}
