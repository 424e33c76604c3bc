//! Exchange adapters behind one trait ([`MarketSource`]): Binance spot klines and 24h
//! ticker, OKX candles and ticker, CoinGecko market charts and simple prices. Each
//! source talks through an [`http::SourceClient`] with its own rate limiter and
//! retries; the [`aggregator::MarketData`] picks sources by priority per data type,
//! fails over on errors, and caches tickers in Redis. [`refresh`] brings a stored
//! series up to date from them.

pub mod aggregator;
pub mod binance;
pub mod coingecko;
pub mod http;
pub mod limiter;
pub mod okx;
pub mod refresh;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use kronos_db::assets::Asset;
use kronos_types::{Candle, Interval};

/// The two kinds of data sources serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// OHLCV bars.
    Candles,
    /// Last price and 24-hour statistics.
    Ticker,
}

/// The identifiers a source needs to find an asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAsset {
    /// Our symbol.
    pub symbol: String,
    /// Binance spot symbol.
    pub binance_symbol: Option<String>,
    /// OKX instrument id.
    pub okx_symbol: Option<String>,
    /// CoinGecko coin id.
    pub coingecko_id: Option<String>,
}

impl From<&Asset> for SourceAsset {
    fn from(a: &Asset) -> Self {
        Self {
            symbol: a.symbol.clone(),
            binance_symbol: a.binance_symbol.clone(),
            okx_symbol: a.okx_symbol.clone(),
            coingecko_id: a.coingecko_id.clone(),
        }
    }
}

/// Last price and 24-hour statistics of an asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticker {
    /// Our symbol.
    pub symbol: String,
    /// Last traded price.
    pub last_price: f64,
    /// Price change over 24 hours, in percent.
    pub change_24h_pct: f64,
    /// Base-asset volume over 24 hours (`None` where the source does not give it).
    pub volume_24h: Option<f64>,
    /// Quote-currency volume over 24 hours.
    pub quote_volume_24h: Option<f64>,
    /// Source name.
    pub source: String,
    /// When the source produced it.
    pub as_of: DateTime<Utc>,
}

/// Why a source could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// The source has no identifier for this asset, or does not serve this interval.
    #[error("{0}")]
    Unsupported(String),
    /// Still rate-limited after every retry.
    #[error("rate limited (retry after {retry_after:?})")]
    RateLimited {
        /// What the source asked us to wait.
        retry_after: Option<Duration>,
    },
    /// An HTTP error status (after retries for 5xx).
    #[error("HTTP {status}: {body}")]
    Status {
        /// Status code.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// No answer in time (after retries).
    #[error("timed out")]
    Timeout,
    /// Connection-level failure (after retries).
    #[error("transport error: {0}")]
    Transport(String),
    /// The answer did not have the documented shape.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The source answered with an application-level error (OKX `code` ≠ 0, …).
    #[error("source error: {0}")]
    Api(String),
}

/// One market-data source.
#[async_trait]
pub trait MarketSource: Send + Sync {
    /// Short name: `binance`, `okx`, `coingecko`.
    fn name(&self) -> &'static str;

    /// Whether this source can serve `kind` for `asset` (it knows the asset's id).
    fn supports(&self, asset: &SourceAsset, kind: DataKind) -> bool;

    /// Bars of `interval` opening at or after `since` (oldest first, at most `limit`,
    /// only closed bars). `since = None` asks for the most recent `limit` bars.
    async fn candles(
        &self,
        asset: &SourceAsset,
        interval: Interval,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Candle>, SourceError>;

    /// Last price and 24-hour statistics.
    async fn ticker(&self, asset: &SourceAsset) -> Result<Ticker, SourceError>;
}

/// A source's own id of an asset (`what` names it in the error), or `Unsupported`.
pub(crate) fn source_id<'a>(id: &'a Option<String>, asset: &SourceAsset, what: &str) -> Result<&'a str, SourceError> {
    id.as_deref().ok_or_else(|| SourceError::Unsupported(format!("{} has no {what}", asset.symbol)))
}

/// Parses a decimal that exchanges send as a JSON string (or number).
pub(crate) fn decimal(value: &serde_json::Value, what: &str) -> Result<f64, SourceError> {
    let parsed = match value {
        serde_json::Value::String(s) => s.parse::<f64>().ok(),
        serde_json::Value::Number(n) => n.as_f64(),
        _ => None,
    };
    parsed.filter(|v| v.is_finite()).ok_or_else(|| SourceError::Malformed(format!("{what} is not a number: {value}")))
}

/// Parses a millisecond timestamp sent as a string or number.
pub(crate) fn millis(value: &serde_json::Value, what: &str) -> Result<DateTime<Utc>, SourceError> {
    let ms = match value {
        serde_json::Value::String(s) => s.parse::<i64>().ok(),
        serde_json::Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    };
    ms.and_then(DateTime::<Utc>::from_timestamp_millis)
        .ok_or_else(|| SourceError::Malformed(format!("{what} is not a millisecond time: {value}")))
}

/// Keeps bars that opened at or after `since` and have closed by `now`, oldest first,
/// without duplicate times, at most `limit` (the oldest ones when `since` is given,
/// the newest otherwise).
pub(crate) fn finish_bars(
    mut bars: Vec<Candle>,
    interval: Interval,
    since: Option<DateTime<Utc>>,
    limit: usize,
    now: DateTime<Utc>,
) -> Vec<Candle> {
    let step = interval.duration();
    bars.retain(|c| since.is_none_or(|s| c.ts >= s) && c.ts + step <= now);
    bars.sort_by_key(|c| c.ts);
    bars.dedup_by_key(|c| c.ts);
    if since.is_some() {
        bars.truncate(limit);
    } else if bars.len() > limit {
        bars.drain(..bars.len() - limit);
    }
    bars
}
