//! Exchange adapters against local servers answering in Binance's, OKX's and
//! CoinGecko's documented formats: parsing, retries with `Retry-After`, timeouts,
//! malformed bodies, failover between sources, rate limits and the Redis ticker cache.

use std::time::{Duration, Instant};

use chrono::Utc;
use kronos_config::ExchangeConfig;
use kronos_exchanges::{aggregator::MarketData, aggregator::TickerCache, SourceAsset, SourceError};
use kronos_tests::{
    fake_exchange::{bar_at, bar_start, coingecko_price_at, ticker_prices, Behaviour, FakeExchange},
    offline_exchanges, redis_url,
};
use kronos_types::Interval;

struct Exchanges {
    binance: FakeExchange,
    okx: FakeExchange,
    coingecko: FakeExchange,
}

impl Exchanges {
    async fn start() -> Self {
        Self {
            binance: FakeExchange::start().await,
            okx: FakeExchange::start().await,
            coingecko: FakeExchange::start().await,
        }
    }

    fn config(&self) -> ExchangeConfig {
        ExchangeConfig {
            binance_url: self.binance.url.clone(),
            okx_url: self.okx.url.clone(),
            coingecko_url: self.coingecko.url.clone(),
            ..offline_exchanges()
        }
    }
}

fn btc() -> SourceAsset {
    SourceAsset {
        symbol: "BTCUSDT".into(),
        binance_symbol: Some("BTCUSDT".into()),
        okx_symbol: Some("BTC-USDT".into()),
        coingecko_id: Some("bitcoin".into()),
    }
}

fn only(config: &ExchangeConfig, source: &str) -> MarketData {
    let config =
        ExchangeConfig { candle_sources: vec![source.into()], ticker_sources: vec![source.into()], ..config.clone() };
    MarketData::from_config(&config, None).unwrap()
}

const KLINES: &str = "/api/v3/klines";

#[tokio::test]
async fn every_adapter_reads_its_documented_format() {
    let ex = Exchanges::start().await;
    let config = ex.config();
    let step = chrono::Duration::hours(1);
    let since = bar_start(Interval::H1, Utc::now()) - step * 48;
    for source in ["binance", "okx"] {
        let data = only(&config, source);
        let got = data.candles(&btc(), Interval::H1, Some(since), 24).await.unwrap();
        assert_eq!(got.source, source);
        assert_eq!(got.candles.len(), 24, "{source}");
        for (k, c) in got.candles.iter().enumerate() {
            let want = bar_at(Interval::H1, since + step * k as i32);
            assert_eq!(c.ts, want.ts, "{source}");
            for (a, b) in [
                (c.open, want.open),
                (c.high, want.high),
                (c.low, want.low),
                (c.close, want.close),
                (c.volume, want.volume),
                (c.amount, want.amount),
            ] {
                assert!((a - b).abs() <= 1e-9 * b.abs(), "{source} bar {k}: {a} vs {b}");
            }
        }
        // the most recent bars: closed ones only, the newest being the last closed hour
        let recent = data.candles(&btc(), Interval::H1, None, 10).await.unwrap().candles;
        assert_eq!(recent.len(), 10, "{source}");
        assert_eq!(recent.last().unwrap().ts, bar_start(Interval::H1, Utc::now()) - step, "{source}");
        let ticker = data.ticker(&btc()).await.unwrap();
        let (last, open) = ticker_prices();
        assert!((ticker.last_price - last).abs() < 1e-9, "{source}");
        assert!((ticker.change_24h_pct - (last / open - 1.0) * 100.0).abs() < 1e-3, "{source}");
        assert_eq!(ticker.source, source);
    }
    // CoinGecko: hourly samples become bars (open = first sample, close = last)
    let data = only(&config, "coingecko");
    let got = data.candles(&btc(), Interval::H4, Some(since), 6).await.unwrap().candles;
    assert_eq!(got.len(), 6);
    let first = got[0].ts;
    assert_eq!(first, bar_start(Interval::H4, since + chrono::Duration::hours(3)).max(since));
    assert_eq!(got[0].open, coingecko_price_at(first + chrono::Duration::minutes(1)));
    assert_eq!(got[0].close, coingecko_price_at(first + chrono::Duration::minutes(181)));
    assert!(got.iter().all(|c| c.low <= c.open.min(c.close) && c.high >= c.open.max(c.close)));
    let err = data.candles(&btc(), Interval::M5, Some(since), 6).await.unwrap_err();
    assert!(matches!(err.attempts[0].1, SourceError::Unsupported(_)), "{err}");
    let ticker = data.ticker(&btc()).await.unwrap();
    assert_eq!(ticker.source, "coingecko");
    assert!((ticker.last_price - ticker_prices().0).abs() < 1e-9);
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_honouring_retry_after() {
    let ex = Exchanges::start().await;
    let data = only(&ex.config(), "binance");
    ex.binance.script(KLINES, [Behaviour::Status(429, Some("1".into()))]);
    let started = Instant::now();
    let got = data.candles(&btc(), Interval::H1, None, 5).await.unwrap();
    assert_eq!(got.candles.len(), 5);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was honoured");
    assert_eq!(ex.binance.hits(KLINES), 2);

    ex.binance.script(KLINES, [Behaviour::Status(503, None), Behaviour::Status(502, None)]);
    assert_eq!(data.candles(&btc(), Interval::H1, None, 5).await.unwrap().candles.len(), 5);
    assert_eq!(ex.binance.hits(KLINES), 5, "two retries, then success");

    // more failures than retries: the error says what happened
    ex.binance
        .script(KLINES, [Behaviour::Status(500, None), Behaviour::Status(500, None), Behaviour::Status(500, None)]);
    let err = data.candles(&btc(), Interval::H1, None, 5).await.unwrap_err();
    assert!(matches!(err.attempts[0].1, SourceError::Status { status: 500, .. }), "{err}");
    // a Retry-After longer than we wait fails at once, leaving the time to other sources
    ex.binance.script(KLINES, [Behaviour::Status(429, Some("120".into()))]);
    let started = Instant::now();
    let err = data.candles(&btc(), Interval::H1, None, 5).await.unwrap_err();
    assert!(matches!(err.attempts[0].1, SourceError::RateLimited { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(60));
    // client errors are not retried; Binance's "Invalid symbol." means it lists no
    // such asset (a definitive answer, not an outage)
    let before = ex.binance.hits(KLINES);
    let unknown = SourceAsset { binance_symbol: Some("NOPEUSDT".into()), ..btc() };
    let err = data.candles(&unknown, Interval::H1, None, 5).await.unwrap_err();
    assert!(matches!(&err.attempts[0].1, SourceError::Unsupported(m) if m.contains("lists no such symbol")), "{err}");
    assert_eq!(ex.binance.hits(KLINES), before + 1);
}

#[tokio::test]
async fn failover_on_timeouts_malformed_bodies_and_api_errors() {
    let ex = Exchanges::start().await;
    let config = ExchangeConfig { timeout: Duration::from_millis(300), retries: 1, ..ex.config() };
    let data = MarketData::from_config(&config, None).unwrap();
    // Binance too slow on both tries: OKX answers
    ex.binance.script(KLINES, [Behaviour::Delay(Duration::from_secs(2)), Behaviour::Delay(Duration::from_secs(2))]);
    let got = data.candles(&btc(), Interval::H1, None, 5).await.unwrap();
    assert_eq!(got.source, "okx");
    assert_eq!(got.candles.len(), 5);
    // Binance malformed (not retried), OKX not JSON: CoinGecko answers
    ex.binance.script(KLINES, [Behaviour::Malformed]);
    ex.okx.script("/api/v5/market/candles", [Behaviour::NotJson]);
    let binance_before = ex.binance.hits(KLINES);
    let got = data.candles(&btc(), Interval::H1, None, 5).await.unwrap();
    assert_eq!(got.source, "coingecko");
    assert_eq!(ex.binance.hits(KLINES), binance_before + 1, "a malformed body is not retried");
    // everything down: every source's error is reported
    ex.binance.script(KLINES, [Behaviour::Status(500, None), Behaviour::Status(500, None)]);
    ex.okx.script("/api/v5/market/candles", [Behaviour::Status(429, Some("30".into()))]);
    ex.coingecko.script("/api/v3/coins", [Behaviour::Malformed]);
    let err = data.candles(&btc(), Interval::H1, None, 5).await.unwrap_err();
    let names: Vec<&str> = err.attempts.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names, ["binance", "okx", "coingecko"]);
    assert!(err.to_string().contains("malformed"), "{err}");
    // an asset only OKX knows goes straight to OKX; an instrument OKX does not list is
    // its definitive "unsupported", not an outage
    let okx_only = SourceAsset { binance_symbol: None, coingecko_id: None, ..btc() };
    assert_eq!(data.candles(&okx_only, Interval::H1, None, 3).await.unwrap().source, "okx");
    let unknown = SourceAsset { okx_symbol: Some("NOPE-USDT".into()), ..okx_only };
    let err = data.candles(&unknown, Interval::H1, None, 3).await.unwrap_err();
    assert!(matches!(&err.attempts[0].1, SourceError::Unsupported(m) if m.contains("does not exist")), "{err}");
    assert!(err.unlisted(), "{err}");
    let nothing = SourceAsset { symbol: "AAPL".into(), binance_symbol: None, okx_symbol: None, coingecko_id: None };
    assert!(data.candles(&nothing, Interval::D1, None, 3).await.unwrap_err().attempts.is_empty());
    // tickers fail over the same way
    ex.binance.script("/api/v3/ticker/24hr", [Behaviour::Malformed]);
    assert_eq!(data.ticker(&btc()).await.unwrap().source, "okx");
}

#[tokio::test]
async fn each_source_keeps_to_its_rate_limit() {
    let ex = Exchanges::start().await;
    // 2 requests per 2 s on OKX: five requests need at least 3 s
    let config = ExchangeConfig { okx_requests_per_2s: 2, ..ex.config() };
    let data = only(&config, "okx");
    let started = Instant::now();
    for _ in 0..5 {
        data.ticker(&btc()).await.unwrap();
    }
    assert!(started.elapsed() >= Duration::from_millis(2900), "{:?}", started.elapsed());
    assert_eq!(ex.okx.hits("/api/v5/market/ticker"), 5);
}

#[tokio::test]
async fn tickers_are_cached_in_redis_briefly() {
    let ex = Exchanges::start().await;
    let client = redis::Client::open(redis_url()).unwrap();
    let conn = redis::aio::ConnectionManager::new(client).await.unwrap();
    let prefix = format!("kt:{}", uuid::Uuid::new_v4().simple());
    let cache = TickerCache::new(conn, &prefix, Duration::from_millis(700));
    let config = ExchangeConfig { ticker_sources: vec!["binance".into()], ..ex.config() };
    let data = MarketData::from_config(&config, Some(cache)).unwrap();
    let first = data.ticker(&btc()).await.unwrap();
    let second = data.ticker(&btc()).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(ex.binance.hits("/api/v3/ticker/24hr"), 1, "the second answer came from Redis");
    tokio::time::sleep(Duration::from_millis(900)).await;
    data.ticker(&btc()).await.unwrap();
    assert_eq!(ex.binance.hits("/api/v3/ticker/24hr"), 2, "an expired entry is fetched again");
}
