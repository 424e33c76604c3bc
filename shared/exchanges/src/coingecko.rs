//! CoinGecko: `GET /api/v3/coins/{id}/market_chart/range` (price points turned into
//! bars) and `GET /api/v3/simple/price` (ticker)
//! (<https://docs.coingecko.com/reference/coins-id-market-chart-range>).
//!
//! Market charts are price samples (5-minutely within a day, hourly up to 90 days,
//! daily beyond), not trades: bars are built from the samples in each bucket, only
//! for 1h and coarser, and carry no volume except daily bars, whose amount is the
//! 24-hour volume CoinGecko reports at the bar's last sample. It is the source of
//! last resort for candles.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    decimal, finish_bars, http::SourceClient, millis, source_id, DataKind, MarketSource, SourceAsset, SourceError,
    Ticker,
};
use kronos_types::{Candle, Interval};

/// Longest range asked for in one request (hourly samples up to 90 days).
const MAX_RANGE_DAYS: i64 = 90;
/// Most empty ranges skipped in one call.
const MAX_EMPTY_RANGES: usize = 5;

/// The CoinGecko adapter (prices in US dollars).
#[derive(Debug, Clone)]
pub struct CoinGecko {
    http: SourceClient,
}

impl CoinGecko {
    /// An adapter speaking through `http`.
    pub fn new(http: SourceClient) -> Self {
        Self { http }
    }
}

fn coin(asset: &SourceAsset) -> Result<&str, SourceError> {
    source_id(&asset.coingecko_id, asset, "CoinGecko id")
}

fn samples(body: &Value, key: &str) -> Result<Vec<(DateTime<Utc>, f64)>, SourceError> {
    let rows =
        body.get(key).and_then(Value::as_array).ok_or_else(|| SourceError::Malformed(format!("no {key} array")))?;
    rows.iter()
        .map(|row| {
            let pair = row
                .as_array()
                .filter(|p| p.len() == 2)
                .ok_or_else(|| SourceError::Malformed(format!("{key} entry is not a [time, value] pair: {row}")))?;
            Ok((millis(&pair[0], "time")?, decimal(&pair[1], key)?))
        })
        .collect()
}

/// Builds bars from a market-chart body: open = first sample of the bucket, close =
/// last, high/low = extremes. Only buckets wholly inside `[from, to]` are kept: a
/// bucket the range cuts would get a wrong open or close.
pub fn bars_from_chart(
    body: &Value,
    interval: Interval,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Candle>, SourceError> {
    let step = interval.duration();
    let prices = samples(body, "prices")?;
    let volumes = samples(body, "total_volumes").unwrap_or_default();
    let mut buckets: BTreeMap<DateTime<Utc>, Candle> = BTreeMap::new();
    for (ts, price) in prices {
        if price <= 0.0 {
            return Err(SourceError::Malformed(format!("price {price} at {ts} is not positive")));
        }
        let start = interval.bar_start(ts);
        if start < from || start + step > to {
            continue;
        }
        buckets
            .entry(start)
            .and_modify(|c| {
                c.high = c.high.max(price);
                c.low = c.low.min(price);
                c.close = price;
            })
            .or_insert(Candle {
                ts: start,
                open: price,
                high: price,
                low: price,
                close: price,
                volume: 0.0,
                amount: 0.0,
            });
    }
    if interval == Interval::D1 {
        for (ts, volume) in volumes {
            if let Some(c) = buckets.get_mut(&interval.bar_start(ts)) {
                c.amount = volume.max(0.0);
                c.volume = c.amount / c.close;
            }
        }
    }
    Ok(buckets.into_values().collect())
}

#[async_trait]
impl MarketSource for CoinGecko {
    fn name(&self) -> &'static str {
        "coingecko"
    }

    fn supports(&self, asset: &SourceAsset, _kind: DataKind) -> bool {
        asset.coingecko_id.is_some()
    }

    async fn candles(
        &self,
        asset: &SourceAsset,
        interval: Interval,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<Candle>, SourceError> {
        let id = coin(asset)?;
        if interval.duration() < Interval::H1.duration() {
            return Err(SourceError::Unsupported(format!("CoinGecko market charts do not give {interval} bars")));
        }
        let step = interval.duration();
        let now = Utc::now();
        let limit = limit.max(1);
        // the first whole bucket at or after `since`
        let from = match since {
            Some(s) if interval.bar_start(s) < s => interval.bar_start(s) + step,
            Some(s) => s,
            None => interval.bar_start(now) - step * limit as i32,
        };
        let max_span = if interval.duration() >= Interval::D1.duration() {
            chrono::Duration::days(365)
        } else {
            chrono::Duration::days(MAX_RANGE_DAYS)
        };
        // Ranges before a coin's listing come back empty: skip ahead (a few ranges at
        // most; calls are scarce) so that "empty" keeps meaning "nothing until now".
        let mut from = from;
        for _ in 0..MAX_EMPTY_RANGES {
            let to = (from + step * limit as i32).min(from + max_span).min(now);
            let query = [
                ("vs_currency", "usd".to_owned()),
                ("from", from.timestamp().to_string()),
                ("to", to.timestamp().to_string()),
            ];
            let body = self.http.get_json(&format!("/api/v3/coins/{id}/market_chart/range"), &query, 1).await?;
            let bars = finish_bars(bars_from_chart(&body, interval, from, to)?, interval, since, limit, now);
            if !bars.is_empty() || to >= now || since.is_none() {
                return Ok(bars);
            }
            from = to;
        }
        Ok(Vec::new())
    }

    async fn ticker(&self, asset: &SourceAsset) -> Result<Ticker, SourceError> {
        let id = coin(asset)?;
        let query = [
            ("ids", id.to_owned()),
            ("vs_currencies", "usd".to_owned()),
            ("include_24hr_change", "true".to_owned()),
            ("include_24hr_vol", "true".to_owned()),
            ("include_last_updated_at", "true".to_owned()),
        ];
        let body = self.http.get_json("/api/v3/simple/price", &query, 1).await?;
        let row = body.get(id).ok_or_else(|| SourceError::Unsupported(format!("CoinGecko lists no coin {id}")))?;
        let field = |name: &str| row.get(name).ok_or_else(|| SourceError::Malformed(format!("price has no {name}")));
        let as_of = row
            .get("last_updated_at")
            .and_then(Value::as_i64)
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .unwrap_or_else(Utc::now);
        Ok(Ticker {
            symbol: asset.symbol.clone(),
            last_price: decimal(field("usd")?, "usd")?,
            change_24h_pct: decimal(field("usd_24h_change")?, "usd_24h_change")?,
            volume_24h: None,
            quote_volume_24h: Some(decimal(field("usd_24h_vol")?, "usd_24h_vol")?),
            source: self.name().into(),
            as_of,
        })
    }
}
