//! `GET /v1/assets/{symbol}/candles?interval=&from=&to=&limit=`: bars in the shape
//! charting libraries take directly (`time` in Unix seconds, oldest first).

use axum::extract::{Path, Query, State};
use kronos_shared::db::candles;
use serde::Serialize;

use super::{resolve, SeriesParams};
use crate::{error::ApiResult, large_json::LargeJson, state::AppState};

/// Bytes of one encoded bar, about (for the buffer size).
const BAR_BYTES: usize = 128;

/// One bar.
#[derive(Debug, Serialize)]
pub struct ChartBar {
    /// Bar open time, Unix seconds (UTC).
    pub time: i64,
    /// Open.
    pub open: f64,
    /// High.
    pub high: f64,
    /// Low.
    pub low: f64,
    /// Close.
    pub close: f64,
    /// Volume.
    pub volume: f64,
    /// Traded value.
    pub amount: f64,
}

/// The answer.
#[derive(Debug, Serialize)]
pub struct CandlesView {
    /// Asset symbol.
    pub symbol: String,
    /// Interval.
    pub interval: String,
    /// Bars, oldest first: the latest `limit` in the range.
    pub candles: Vec<ChartBar>,
    /// Older bars exist in the range (ask again with `to` = first time − 1).
    pub more_before: bool,
}

/// Handler.
pub async fn candles(
    State(state): State<AppState>,
    Path(symbol): Path<String>,
    Query(params): Query<SeriesParams>,
) -> ApiResult<LargeJson<CandlesView>> {
    let q = resolve(&state, &symbol, &params).await?;
    let mut conn = state.pool.get().await.map_err(kronos_shared::Error::from)?;
    let mut rows = candles::range(&mut conn, q.asset.id, q.interval, q.from, q.to, q.limit + 1).await?;
    let more_before = rows.len() as i64 > q.limit;
    if more_before {
        rows.remove(0);
    }
    let size_hint = rows.len() * BAR_BYTES + 128;
    let value = CandlesView {
        symbol: q.asset.symbol,
        interval: q.interval.as_str().to_owned(),
        candles: rows
            .into_iter()
            .map(|c| ChartBar {
                time: c.ts.timestamp(),
                open: c.open,
                high: c.high,
                low: c.low,
                close: c.close,
                volume: c.volume,
                amount: c.amount,
            })
            .collect(),
        more_before,
    };
    Ok(LargeJson { value, size_hint })
}
