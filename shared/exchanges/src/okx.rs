//! OKX: `GET /api/v5/market/candles` (recent bars), `/api/v5/market/history-candles`
//! (walking forward from a time) and `/api/v5/market/ticker`
//! (<https://www.okx.com/docs-v5/en/#public-data-rest-api>). Rate limits are counted in
//! requests per 2 seconds; bodies are `{"code": "0", "msg": "", "data": [...]}`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    decimal, finish_bars, http::SourceClient, millis, source_id, DataKind, MarketSource, SourceAsset, SourceError,
    Ticker,
};
use kronos_types::{Candle, Interval};

/// Most bars of `/market/candles`.
const MAX_RECENT: usize = 300;
/// Most bars of `/market/history-candles`.
const MAX_HISTORY: usize = 100;
/// Most empty windows skipped in one call (a listing gap of up to 100 × 100 bars).
const MAX_EMPTY_WINDOWS: usize = 100;

/// The OKX adapter.
#[derive(Debug, Clone)]
pub struct Okx {
    http: SourceClient,
}

impl Okx {
    /// An adapter speaking through `http`.
    pub fn new(http: SourceClient) -> Self {
        Self { http }
    }
}

fn instrument(asset: &SourceAsset) -> Result<&str, SourceError> {
    source_id(&asset.okx_symbol, asset, "OKX instrument")
}

/// OKX bar codes; days and weeks use the UTC-aligned variants.
fn bar_code(interval: Interval) -> &'static str {
    match interval {
        Interval::M1 => "1m",
        Interval::M5 => "5m",
        Interval::M15 => "15m",
        Interval::M30 => "30m",
        Interval::H1 => "1H",
        Interval::H4 => "4H",
        Interval::D1 => "1Dutc",
        Interval::W1 => "1Wutc",
    }
}

/// The `data` array of an OKX body, or its error.
fn data(body: &Value) -> Result<&Vec<Value>, SourceError> {
    let code = body.get("code").and_then(Value::as_str).ok_or_else(|| SourceError::Malformed("no code".into()))?;
    if code != "0" {
        let msg = body.get("msg").and_then(Value::as_str).unwrap_or("");
        // 51001: "Instrument ID does not exist": OKX does not list the asset
        if code == "51001" {
            return Err(SourceError::Unsupported(format!("OKX lists no such instrument ({msg})")));
        }
        return Err(SourceError::Api(format!("OKX code {code}: {msg}")));
    }
    body.get("data").and_then(Value::as_array).ok_or_else(|| SourceError::Malformed("no data array".into()))
}

/// Parses a candles body: rows `[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`,
/// newest first. Unconfirmed (still open) bars are left out.
pub fn parse_candles(body: &Value) -> Result<Vec<Candle>, SourceError> {
    let mut out = Vec::new();
    for row in data(body)? {
        let cells = row
            .as_array()
            .filter(|c| c.len() >= 7)
            .ok_or_else(|| SourceError::Malformed(format!("candle row is not an array of at least 7 cells: {row}")))?;
        if cells.get(8).and_then(Value::as_str) == Some("0") {
            continue;
        }
        out.push(Candle {
            ts: millis(&cells[0], "ts")?,
            open: decimal(&cells[1], "open")?,
            high: decimal(&cells[2], "high")?,
            low: decimal(&cells[3], "low")?,
            close: decimal(&cells[4], "close")?,
            volume: decimal(&cells[5], "vol")?,
            amount: decimal(&cells[6], "volCcy")?,
        });
    }
    Ok(out)
}

#[async_trait]
impl MarketSource for Okx {
    fn name(&self) -> &'static str {
        "okx"
    }

    fn supports(&self, asset: &SourceAsset, _kind: DataKind) -> bool {
        asset.okx_symbol.is_some()
    }

    async fn candles(
        &self,
        asset: &SourceAsset,
        interval: Interval,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Candle>, SourceError> {
        let inst = instrument(asset)?.to_owned();
        let bar = bar_code(interval).to_owned();
        let Some(since) = since else {
            let limit = limit.clamp(1, MAX_RECENT);
            let query = [("limit", (limit + 1).min(MAX_RECENT).to_string()), ("instId", inst), ("bar", bar)];
            let body = self.http.get_json("/api/v5/market/candles", &query, 1).await?;
            return Ok(finish_bars(parse_candles(&body)?, interval, None, limit, Utc::now()));
        };
        // Windows (before, after) of `limit` bars walking forward from `since`. OKX has
        // no "first bar after" query, so windows before an instrument's listing come
        // back empty: skip ahead (at most MAX_EMPTY_WINDOWS) so that "empty" keeps
        // meaning "nothing between `since` and now".
        let limit = limit.clamp(1, MAX_HISTORY);
        let span = interval.duration() * limit as i32;
        let mut start = since;
        for _ in 0..MAX_EMPTY_WINDOWS {
            let query = [
                ("before", (start.timestamp_millis() - 1).to_string()),
                ("after", (start + span).timestamp_millis().to_string()),
                ("limit", limit.to_string()),
                ("instId", inst.clone()),
                ("bar", bar.clone()),
            ];
            let body = self.http.get_json("/api/v5/market/history-candles", &query, 1).await?;
            let bars = finish_bars(parse_candles(&body)?, interval, Some(start), limit, Utc::now());
            if !bars.is_empty() || start + span >= Utc::now() {
                return Ok(bars);
            }
            start += span;
        }
        Ok(Vec::new())
    }

    async fn ticker(&self, asset: &SourceAsset) -> Result<Ticker, SourceError> {
        let query = [("instId", instrument(asset)?.to_owned())];
        let body = self.http.get_json("/api/v5/market/ticker", &query, 1).await?;
        let row = data(&body)?.first().ok_or_else(|| SourceError::Malformed("empty ticker data".into()))?;
        let field = |name: &str| row.get(name).ok_or_else(|| SourceError::Malformed(format!("ticker has no {name}")));
        let last = decimal(field("last")?, "last")?;
        let open = decimal(field("open24h")?, "open24h")?;
        if open <= 0.0 {
            return Err(SourceError::Malformed(format!("open24h {open} is not positive")));
        }
        Ok(Ticker {
            symbol: asset.symbol.clone(),
            last_price: last,
            change_24h_pct: (last / open - 1.0) * 100.0,
            volume_24h: Some(decimal(field("vol24h")?, "vol24h")?),
            quote_volume_24h: Some(decimal(field("volCcy24h")?, "volCcy24h")?),
            source: self.name().into(),
            as_of: row.get("ts").map(|t| millis(t, "ts")).transpose()?.unwrap_or_else(Utc::now),
        })
    }
}
