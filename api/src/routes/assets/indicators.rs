//! `GET /v1/assets/{symbol}/indicators?interval=&names=&from=&to=&limit=`: indicator
//! series aligned with the candles, column-wise (`time`, then one array per output).

use std::collections::BTreeMap;

use axum::{extract::State, Json};
use kronos_db::candles;
use kronos_market_data::{indicators::compute, indicators::Indicator};
use serde::Serialize;

use super::{resolve, SeriesParams};
use crate::{
    error::{ApiError, ApiResult},
    extract::{ApiPath, ApiQuery},
    state::AppState,
};

/// Extra history read before the first returned bar so exponential averages settle:
/// this many times the longest lookback (window indicators need one lookback).
const RECURSIVE_WARMUP: usize = 10;

/// Most bars of warm-up read.
const MAX_WARMUP: usize = 5000;

/// The answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
#[utoipa::path(
    get,
    path = "/v1/assets/{symbol}/indicators", operation_id = "getIndicators",
    tag = "market data",
    params(("symbol" = String, Path, description = "Asset symbol"), super::SeriesParams),
    responses(
        (status = 200, description = "Indicator series aligned with the bars", body = IndicatorsView),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn indicators(
    State(state): State<AppState>,
    ApiPath(symbol): ApiPath<String>,
    ApiQuery(params): ApiQuery<SeriesParams>,
) -> ApiResult<Json<IndicatorsView>> {
    let names = params.names.as_deref().filter(|n| !n.trim().is_empty()).ok_or_else(|| {
        ApiError::invalid("names", "names is required, e.g. names=sma_20,rsi_14,macd,bbands_20,atr_14")
    })?;
    let wanted = parse_names(names)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let q = resolve(&mut conn, &symbol, &params).await?;
    let lookback = wanted.iter().map(Indicator::lookback).max().unwrap_or(0);
    let factor = if wanted.iter().any(Indicator::is_recursive) { RECURSIVE_WARMUP } else { 1 };
    let warmup = (lookback * factor).min(MAX_WARMUP) as i64;
    // the window's bars plus warm-up bars before it (the lower bound applies to the output only)
    let bars = candles::range(&mut conn, q.asset.id, q.interval, None, q.to, q.limit + warmup).await?;
    drop(conn);
    let (bars, computed) = state
        .heavy
        .run(move || {
            let computed = compute(&bars, &wanted);
            (bars, computed)
        })
        .await?;
    let computed = computed?;
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

/// Most indicators per request.
const MAX_INDICATORS: usize = 20;

/// The indicators named, each once: two spellings of one indicator (`sma_20,SMA_20`,
/// `macd,macd_12_26_9`) are refused, as they would produce the same columns.
fn parse_names(names: &str) -> ApiResult<Vec<Indicator>> {
    let parts: Vec<&str> = names.split(',').collect();
    if parts.len() > MAX_INDICATORS {
        return Err(ApiError::invalid("names", format!("at most {MAX_INDICATORS} indicators per request")));
    }
    let mut wanted: Vec<Indicator> = Vec::with_capacity(parts.len());
    for (i, raw) in parts.iter().enumerate() {
        let indicator: Indicator = raw.parse()?;
        if let Some(earlier) = wanted.iter().position(|w| *w == indicator) {
            return Err(ApiError::invalid(
                "names",
                format!(
                    "{:?} is the same indicator as {:?}; name each indicator once",
                    raw.trim(),
                    parts[earlier].trim()
                ),
            ));
        }
        debug_assert_eq!(wanted.len(), i);
        wanted.push(indicator);
    }
    Ok(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_spellings_of_one_indicator_are_refused() {
        for names in ["sma_20,SMA_20", "macd,macd_12_26_9", "bbands_20,bbands_20_2", "rsi_14, rsi_14"] {
            let e = parse_names(names).unwrap_err();
            assert_eq!(e.field(), Some("names"), "{names}");
        }
        assert_eq!(parse_names("sma_20,ema_20,macd_5_35_5,macd").unwrap().len(), 4);
    }
}
