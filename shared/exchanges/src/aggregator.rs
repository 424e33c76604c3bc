//! The one entry point to market data: sources tried in priority order per data type,
//! failing over to the next on any error, and tickers cached briefly in Redis.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use redis::{aio::ConnectionManager, AsyncCommands};
use tracing::{debug, warn};

use super::{
    binance::Binance,
    coingecko::CoinGecko,
    http::{RetryPolicy, SourceClient},
    limiter::RateLimiter,
    okx::Okx,
    DataKind, MarketSource, SourceAsset, SourceError, Ticker,
};
use kronos_config::ExchangeConfig;
use kronos_types::{Candle, Interval};

/// Every source failed (or none serves the asset).
#[derive(Debug, Clone, thiserror::Error)]
#[error("no source could serve {what}: {}", describe(.attempts))]
pub struct AllSourcesFailed {
    /// What was asked for.
    pub what: String,
    /// Each source tried, with its error.
    pub attempts: Vec<(String, SourceError)>,
}

impl AllSourcesFailed {
    /// Whether no source lists the asset (none was tried, or every one said it does
    /// not know it): a definitive answer, not an outage.
    pub fn unlisted(&self) -> bool {
        self.attempts.iter().all(|(_, e)| matches!(e, SourceError::Unsupported(_)))
    }

    /// The sources tried, in order.
    pub fn sources(&self) -> Vec<&str> {
        self.attempts.iter().map(|(s, _)| s.as_str()).collect()
    }
}

fn describe(attempts: &[(String, SourceError)]) -> String {
    if attempts.is_empty() {
        return "no configured source knows this asset".into();
    }
    attempts.iter().map(|(s, e)| format!("{s}: {e}")).collect::<Vec<_>>().join("; ")
}

/// Bars and the source that gave them.
#[derive(Debug, Clone)]
pub struct SourcedCandles {
    /// Source name.
    pub source: String,
    /// Bars, oldest first.
    pub candles: Vec<Candle>,
}

/// Short-lived ticker cache in Redis (`{prefix}:ticker:{symbol}`).
#[derive(Clone)]
pub struct TickerCache {
    conn: ConnectionManager,
    prefix: String,
    ttl: Duration,
}

impl TickerCache {
    /// A cache on `conn`, keys under `prefix`, entries living `ttl`.
    pub fn new(conn: ConnectionManager, prefix: &str, ttl: Duration) -> Self {
        Self { conn, prefix: prefix.to_owned(), ttl }
    }

    fn key(&self, symbol: &str) -> String {
        format!("{}:ticker:{symbol}", self.prefix)
    }

    async fn get(&self, symbol: &str) -> Option<Ticker> {
        let mut conn = self.conn.clone();
        let raw: Option<String> =
            conn.get(self.key(symbol)).await.map_err(|e| warn!(error = %e, "ticker cache read")).ok()?;
        raw.and_then(|r| serde_json::from_str(&r).ok())
    }

    async fn put(&self, ticker: &Ticker) {
        let Ok(raw) = serde_json::to_string(ticker) else { return };
        let mut conn = self.conn.clone();
        let ms = self.ttl.as_millis().max(1) as u64;
        let result: redis::RedisResult<()> = conn.pset_ex(self.key(&ticker.symbol), raw, ms).await;
        if let Err(e) = result {
            warn!(error = %e, "ticker cache write");
        }
    }
}

/// Market data from every configured source.
#[derive(Clone)]
pub struct MarketData {
    candle_sources: Vec<Arc<dyn MarketSource>>,
    ticker_sources: Vec<Arc<dyn MarketSource>>,
    cache: Option<TickerCache>,
}

impl MarketData {
    /// Sources in the given orders (each list names sources of `all`).
    pub fn new(
        all: &[Arc<dyn MarketSource>],
        candle_order: &[String],
        ticker_order: &[String],
        cache: Option<TickerCache>,
    ) -> Self {
        let pick = |order: &[String]| -> Vec<Arc<dyn MarketSource>> {
            order.iter().filter_map(|name| all.iter().find(|s| s.name() == name).cloned()).collect()
        };
        Self { candle_sources: pick(candle_order), ticker_sources: pick(ticker_order), cache }
    }

    /// Binance, OKX and CoinGecko as `config` says, tickers cached through `cache`.
    pub fn from_config(config: &ExchangeConfig, cache: Option<TickerCache>) -> Result<Self, SourceError> {
        let retry = RetryPolicy { max_retries: config.retries, base_delay: config.backoff, max_delay: config.max_wait };
        let client = |name: &'static str, url: &str, limiter: RateLimiter| {
            SourceClient::new(name, url, config.timeout, limiter, retry)
        };
        let all: Vec<Arc<dyn MarketSource>> = vec![
            Arc::new(Binance::new(client(
                "binance",
                &config.binance_url,
                RateLimiter::new(config.binance_weight_per_min, Duration::from_secs(60)),
            )?)),
            Arc::new(Okx::new(client(
                "okx",
                &config.okx_url,
                RateLimiter::new(config.okx_requests_per_2s, Duration::from_secs(2)),
            )?)),
            Arc::new(CoinGecko::new(client(
                "coingecko",
                &config.coingecko_url,
                RateLimiter::new(config.coingecko_calls_per_min, Duration::from_secs(60)),
            )?)),
        ];
        Ok(Self::new(&all, &config.candle_sources, &config.ticker_sources, cache))
    }

    /// Whether any candle source knows `asset`.
    pub fn has_candle_source(&self, asset: &SourceAsset) -> bool {
        self.candle_sources.iter().any(|s| s.supports(asset, DataKind::Candles))
    }

    /// Bars from the first source that answers (see [`MarketSource::candles`]).
    pub async fn candles(
        &self,
        asset: &SourceAsset,
        interval: Interval,
        since: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<SourcedCandles, AllSourcesFailed> {
        let mut attempts = Vec::new();
        for source in self.candle_sources.iter().filter(|s| s.supports(asset, DataKind::Candles)) {
            match source.candles(asset, interval, since, limit).await {
                Ok(candles) => {
                    debug!(source = source.name(), symbol = %asset.symbol, bars = candles.len(), "candles");
                    return Ok(SourcedCandles { source: source.name().to_owned(), candles });
                }
                Err(e) => {
                    warn!(source = source.name(), symbol = %asset.symbol, error = %e, "candle source failed; failing over");
                    attempts.push((source.name().to_owned(), e));
                }
            }
        }
        Err(AllSourcesFailed { what: format!("{} {interval} candles", asset.symbol), attempts })
    }

    /// The ticker: from the Redis cache while fresh, else from the first source that answers.
    pub async fn ticker(&self, asset: &SourceAsset) -> Result<Ticker, AllSourcesFailed> {
        if let Some(cache) = &self.cache {
            if let Some(hit) = cache.get(&asset.symbol).await {
                return Ok(hit);
            }
        }
        let mut attempts = Vec::new();
        for source in self.ticker_sources.iter().filter(|s| s.supports(asset, DataKind::Ticker)) {
            match source.ticker(asset).await {
                Ok(ticker) => {
                    if let Some(cache) = &self.cache {
                        cache.put(&ticker).await;
                    }
                    return Ok(ticker);
                }
                Err(e) => {
                    warn!(source = source.name(), symbol = %asset.symbol, error = %e, "ticker source failed; failing over");
                    attempts.push((source.name().to_owned(), e));
                }
            }
        }
        Err(AllSourcesFailed { what: format!("the {} ticker", asset.symbol), attempts })
    }
}
