//! `GET /v1/assets/{symbol}/candles?interval=&from=&to=&limit=`: bars in the shape
//! charting libraries take directly (`time` in Unix seconds, oldest first).
//!
//! The rows come from the index newest first and are written out in reverse straight
//! from that buffer: no re-ordering, no intermediate copy of 5,000 bars.

use axum::extract::State;
use kronos_db::candles;
use kronos_types::Candle;
use serde::{ser::SerializeSeq, Serialize, Serializer};

use super::{resolve, SeriesParams};
use crate::{
    error::ApiResult,
    extract::{ApiPath, ApiQuery},
    large_json::LargeJson,
    state::AppState,
};

/// Bytes of one encoded bar, about (for the buffer size).
const BAR_BYTES: usize = 128;

/// One bar as encoded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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

impl From<&Candle> for ChartBar {
    fn from(c: &Candle) -> Self {
        ChartBar {
            time: c.ts.timestamp(),
            open: c.open,
            high: c.high,
            low: c.low,
            close: c.close,
            volume: c.volume,
            amount: c.amount,
        }
    }
}

/// Bars stored newest first, encoded oldest first.
#[derive(Debug)]
pub struct OldestFirst(Vec<Candle>);

impl Serialize for OldestFirst {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for bar in self.0.iter().rev() {
            seq.serialize_element(&ChartBar::from(bar))?;
        }
        seq.end()
    }
}

/// The answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CandlesView {
    /// Asset symbol.
    pub symbol: String,
    /// Interval.
    #[schema(value_type = kronos_types::Interval)]
    pub interval: String,
    /// Bars, oldest first: the latest `limit` in the range.
    #[schema(value_type = Vec<ChartBar>)]
    pub candles: OldestFirst,
    /// Older bars exist in the range (ask again with `to` = first time − 1).
    pub more_before: bool,
}

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/assets/{symbol}/candles", operation_id = "getCandles",
    tag = "market data",
    params(("symbol" = String, Path, description = "Asset symbol"), super::SeriesParams),
    responses(
        (status = 200, description = "Bars, oldest first", body = CandlesView),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn candles(
    State(state): State<AppState>,
    ApiPath(symbol): ApiPath<String>,
    ApiQuery(params): ApiQuery<SeriesParams>,
) -> ApiResult<LargeJson<CandlesView>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let q = resolve(&mut conn, &symbol, &params).await?;
    let mut rows = candles::newest_first(&mut conn, q.asset.id, q.interval, q.from, q.to, q.limit + 1).await?;
    drop(conn);
    // One bar beyond the limit tells whether older bars exist; it is the oldest, last.
    let more_before = rows.len() as i64 > q.limit;
    rows.truncate(q.limit as usize);
    let size_hint = rows.len() * BAR_BYTES + 128;
    let value = CandlesView {
        symbol: q.asset.symbol,
        interval: q.interval.as_str().to_owned(),
        candles: OldestFirst(rows),
        more_before,
    };
    Ok(LargeJson { value, size_hint })
}
