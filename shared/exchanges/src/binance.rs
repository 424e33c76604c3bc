//! Binance spot: `GET /api/v3/klines` and `GET /api/v3/ticker/24hr`
//! (<https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints>).
//! Request weight: 2 for each; the IP limit is counted in weight per minute.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    decimal, finish_bars, http::SourceClient, millis, source_id, DataKind, MarketSource, SourceAsset, SourceError,
    Ticker,
};
use kronos_types::{Candle, Interval};

/// Most klines per request.
pub const MAX_KLINES: usize = 1000;
/// Weight of one klines request (any limit up to 1000).
const KLINES_WEIGHT: u32 = 2;
/// Weight of a single-symbol 24h ticker.
const TICKER_WEIGHT: u32 = 2;

/// The Binance spot adapter.
#[derive(Debug, Clone)]
pub struct Binance {
    http: SourceClient,
}

impl Binance {
    /// An adapter speaking through `http`.
    pub fn new(http: SourceClient) -> Self {
        Self { http }
    }
}

fn symbol(asset: &SourceAsset) -> Result<&str, SourceError> {
    source_id(&asset.binance_symbol, asset, "Binance symbol")
}

fn interval_code(interval: Interval) -> &'static str {
    match interval {
        Interval::M1 => "1m",
        Interval::M5 => "5m",
        Interval::M15 => "15m",
        Interval::M30 => "30m",
        Interval::H1 => "1h",
        Interval::H4 => "4h",
        Interval::D1 => "1d",
        Interval::W1 => "1w",
    }
}

/// Parses a klines body: an array of `[openTime, open, high, low, close, volume,
/// closeTime, quoteVolume, trades, …]` rows.
pub fn parse_klines(body: &Value) -> Result<Vec<Candle>, SourceError> {
    let rows = body.as_array().ok_or_else(|| SourceError::Malformed("klines body is not an array".into()))?;
    rows.iter()
        .map(|row| {
            let cells = row.as_array().filter(|c| c.len() >= 8).ok_or_else(|| {
                SourceError::Malformed(format!("kline row is not an array of at least 8 cells: {row}"))
            })?;
            Ok(Candle {
                ts: millis(&cells[0], "open time")?,
                open: decimal(&cells[1], "open")?,
                high: decimal(&cells[2], "high")?,
                low: decimal(&cells[3], "low")?,
                close: decimal(&cells[4], "close")?,
                volume: decimal(&cells[5], "volume")?,
                amount: decimal(&cells[7], "quote volume")?,
            })
        })
        .collect()
}

#[async_trait]
impl MarketSource for Binance {
    fn name(&self) -> &'static str {
        "binance"
    }

    fn supports(&self, asset: &SourceAsset, _kind: DataKind) -> bool {
        asset.binance_symbol.is_some()
    }

    async fn candles(
        &self,
        asset: &SourceAsset,
        interval: Interval,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Candle>, SourceError> {
        let limit = limit.clamp(1, MAX_KLINES);
        let mut query = vec![
            ("symbol", symbol(asset)?.to_owned()),
            ("interval", interval_code(interval).to_owned()),
            // one more than asked: the newest bar is usually still open
            ("limit", (limit + usize::from(since.is_none())).min(MAX_KLINES).to_string()),
        ];
        if let Some(since) = since {
            query.push(("startTime", since.timestamp_millis().to_string()));
        }
        let body = self.http.get_json("/api/v3/klines", &query, KLINES_WEIGHT).await.map_err(unlisted)?;
        Ok(finish_bars(parse_klines(&body)?, interval, since, limit, Utc::now()))
    }

    async fn ticker(&self, asset: &SourceAsset) -> Result<Ticker, SourceError> {
        let query = [("symbol", symbol(asset)?.to_owned())];
        let body = self.http.get_json("/api/v3/ticker/24hr", &query, TICKER_WEIGHT).await.map_err(unlisted)?;
        let field = |name: &str| body.get(name).ok_or_else(|| SourceError::Malformed(format!("ticker has no {name}")));
        Ok(Ticker {
            symbol: asset.symbol.clone(),
            last_price: decimal(field("lastPrice")?, "lastPrice")?,
            change_24h_pct: decimal(field("priceChangePercent")?, "priceChangePercent")?,
            volume_24h: Some(decimal(field("volume")?, "volume")?),
            quote_volume_24h: Some(decimal(field("quoteVolume")?, "quoteVolume")?),
            source: self.name().into(),
            as_of: body.get("closeTime").map(|t| millis(t, "closeTime")).transpose()?.unwrap_or_else(Utc::now),
        })
    }
}

/// Binance's "Invalid symbol." (HTTP 400, code -1121): Binance does not list the asset.
fn unlisted(e: SourceError) -> SourceError {
    match e {
        SourceError::Status { status: 400, ref body } if body.contains("-1121") => {
            SourceError::Unsupported("Binance lists no such symbol".into())
        }
        other => other,
    }
}
