//! Refresh jobs, the refresh cron, `kronos backfill` and the ticker endpoint, against
//! local servers answering as Binance, OKX and CoinGecko.

use std::time::Duration;

use chrono::Utc;
use kronos_db::{assets, candles};
use kronos_exchanges::{aggregator::MarketData, refresh::refresh_series, refresh::RefreshLimits};
use kronos_scheduler::refresh_schedule;
use kronos_tests::{
    fake_exchange::{bar_at, okx_eth_listing, ticker_prices, Behaviour, FakeExchange},
    http::TestApi,
    process::{run_to_end, Proc},
    TestEnv,
};
use kronos_types::{catalogue::AssetSpec, Interval};

struct Setup {
    env: TestEnv,
    binance: FakeExchange,
    _okx: FakeExchange,
    _coingecko: FakeExchange,
}

fn spec(symbol: &str, class: &str, binance: Option<&str>, okx: Option<&str>, coingecko: Option<&str>) -> AssetSpec {
    AssetSpec {
        symbol: symbol.into(),
        name: None,
        class: class.into(),
        exchange: None,
        category: None,
        binance_symbol: binance.map(Into::into),
        okx_symbol: okx.map(Into::into),
        coingecko_id: coingecko.map(Into::into),
        market_cap_rank: None,
    }
}

async fn setup() -> Setup {
    let mut env = TestEnv::new().await;
    let (binance, okx, coingecko) =
        (FakeExchange::start().await, FakeExchange::start().await, FakeExchange::start().await);
    env.config.exchanges.binance_url = binance.url.clone();
    env.config.exchanges.okx_url = okx.url.clone();
    env.config.exchanges.coingecko_url = coingecko.url.clone();
    let pool = kronos_db::pool(&env.config.database_url, 1).unwrap();
    let mut conn = pool.get().await.unwrap();
    for s in [
        spec("BTCUSDT", "crypto", Some("BTCUSDT"), Some("BTC-USDT"), Some("bitcoin")),
        spec("ETHUSDT", "crypto", None, Some("ETH-USDT"), None),
        spec("DOGEUSDT", "crypto", Some("DOGEUSDT"), None, None), // unknown to the exchange
        spec("AAPL", "stock", None, None, None),
    ] {
        assets::upsert(&mut conn, &s).await.unwrap();
    }
    Setup { env, binance, _okx: okx, _coingecko: coingecko }
}

async fn wait_for_job(api: &TestApi, id: uuid::Uuid) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let (_, job) = api.get(&format!("/v1/jobs/{id}")).await;
        if ["succeeded", "failed", "cancelled"].contains(&job["status"].as_str().unwrap_or("")) {
            return job;
        }
        assert!(std::time::Instant::now() < deadline, "refresh job did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_jobs_fetch_check_and_store_incrementally() {
    let s = setup().await;
    let api = TestApi::start(&s.env, true).await;
    let _worker = Proc::start("kronos-worker", &s.env, &["--devices", "cpu", "--concurrency", "4"], &[]);
    s.binance.script("/api/v3/klines", [Behaviour::CorruptBar]);
    let mut conn = api.state.pool.get().await.unwrap();
    let now = Utc::now();
    let settle = chrono::Duration::seconds(0);
    let id = refresh_schedule::enqueue_due(&mut conn, Interval::H1, now, settle).await.unwrap().expect("enqueued");
    // the same bar again, or while one is pending: nothing new
    assert_eq!(refresh_schedule::enqueue_due(&mut conn, Interval::H1, now, settle).await.unwrap(), None);
    let job = wait_for_job(&api, id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let result = &job["result"];
    let series = result["series"].as_array().unwrap();
    let by_symbol = |sym: &str| series.iter().find(|r| r["symbol"] == sym).unwrap().clone();
    assert_eq!(series.len(), 3, "AAPL has no source: {result}");
    assert_eq!(result["failed"], 1);

    let btc = by_symbol("BTCUSDT");
    assert_eq!(btc["sources"], serde_json::json!(["binance"]));
    assert_eq!(btc["quarantined"], 1, "{btc}");
    let fetched = btc["fetched"].as_u64().unwrap();
    assert!(fetched >= 999, "{btc}");
    assert_eq!(btc["stored"].as_u64().unwrap(), fetched - 1);
    let eth = by_symbol("ETHUSDT");
    assert_eq!(eth["sources"], serde_json::json!(["okx"]));
    assert!(eth["stored"].as_u64().unwrap() >= 999, "{eth}");
    assert!(by_symbol("DOGEUSDT")["error"].as_str().unwrap().contains("Binance lists no such symbol"));

    // what was stored is the exchange's series, with its source; the bad bar is quarantined
    let btc_asset = assets::find_by_symbol(&mut conn, "BTCUSDT").await.unwrap().unwrap();
    let stored = candles::range(&mut conn, btc_asset.id, Interval::H1, None, None, 5000).await.unwrap();
    assert_eq!(stored.len() as u64, fetched - 1);
    let last = stored.last().unwrap();
    assert_eq!(last.ts, Interval::H1.bar_start(Utc::now()) - chrono::Duration::hours(1));
    let want = bar_at(Interval::H1, last.ts);
    assert!((last.close - want.close).abs() < 1e-9 && (last.amount - want.amount).abs() < 1e-6);
    let (_, quality) = api.get("/v1/assets/BTCUSDT/quality?interval=1h").await;
    assert_eq!(quality["gap_count"], 1, "the quarantined bar leaves a gap: {quality}");
    let reasons = quality["quarantined"].as_object().unwrap();
    assert_eq!(reasons.values().map(|v| v.as_i64().unwrap()).sum::<i64>(), 1, "{quality}");

    // a second refresh only asks for bars after the last stored one
    let market = MarketData::from_config(&s.env.config.exchanges, None).unwrap();
    let again = refresh_series(&api.state.pool, &market, &btc_asset, Interval::H1, None, RefreshLimits::default())
        .await
        .unwrap();
    assert!(again.fetched <= 1, "{again:?}");
    assert_eq!(again.since, last.ts + chrono::Duration::hours(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_fills_history_and_refuses_bad_input() {
    let s = setup().await;
    let from = (Utc::now() - chrono::Duration::days(40)).format("%Y-%m-%d").to_string();
    let out = run_to_end("kronos", &s.env, &["backfill", "--symbol", "btcusdt", "--interval", "1d", "--from", &from]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("40 stored") && text.contains("binance"), "{text}");
    // again: the same bars are updated, not duplicated
    let out = run_to_end(
        "kronos",
        &s.env,
        &["backfill", "--symbol", "BTCUSDT", "--interval", "1d", "--from", &from, "--json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["stored"], 40);
    let pool = kronos_db::pool(&s.env.config.database_url, 1).unwrap();
    let mut conn = pool.get().await.unwrap();
    let btc = assets::find_by_symbol(&mut conn, "BTCUSDT").await.unwrap().unwrap();
    assert_eq!(candles::count(&mut conn, btc.id, Interval::D1).await.unwrap(), 40);

    for (args, message) in [
        (vec!["--symbol", "NOPE", "--interval", "1d", "--from", "2024-01-01"], "unknown symbol"),
        (vec!["--symbol", "BTCUSDT", "--interval", "2h", "--from", "2024-01-01"], "--interval"),
        (vec!["--symbol", "BTCUSDT", "--interval", "1d", "--from", "2999-01-01"], "future"),
        (vec!["--symbol", "BTCUSDT", "--interval", "1d", "--from", "yesterday"], "--from"),
        (vec!["--symbol", "AAPL", "--interval", "1d", "--from", "2024-01-01"], "no Binance symbol"),
    ] {
        let mut full = vec!["backfill"];
        full.extend(args.iter());
        let out = run_to_end("kronos", &s.env, &full);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    // before a listing OKX answers empty windows: the backfill skips ahead to the first bar
    let from = (Utc::now() - chrono::Duration::hours(3000)).to_rfc3339();
    let out = run_to_end(
        "kronos",
        &s.env,
        &["backfill", "--symbol", "ETHUSDT", "--interval", "1h", "--from", &from, "--json"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["sources"], serde_json::json!(["okx"]));
    let eth = assets::find_by_symbol(&mut conn, "ETHUSDT").await.unwrap().unwrap();
    let stored = candles::range(&mut conn, eth.id, Interval::H1, None, None, 5000).await.unwrap();
    assert_eq!(stored.first().unwrap().ts, okx_eth_listing());
    assert_eq!(stored.last().unwrap().ts, Interval::H1.bar_start(Utc::now()) - chrono::Duration::hours(1));
    assert_eq!(stored.len() as u64, report["stored"].as_u64().unwrap());
    // every source failing: the CLI says so and exits non-zero, keeping what it stored
    s.binance.script(
        "/api/v3/klines",
        [Behaviour::Status(500, None), Behaviour::Status(500, None), Behaviour::Status(500, None)],
    );
    let out = run_to_end("kronos", &s.env, &["backfill", "--symbol", "DOGEUSDT", "--interval", "1d", "--from", &from]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stopped early"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ticker_endpoint_answers_from_the_first_source_that_can() {
    let s = setup().await;
    let api = TestApi::start(&s.env, false).await;
    let (status, body) = api.get("/v1/assets/btcusdt/ticker").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["symbol"], "BTCUSDT");
    assert_eq!(body["source"], "binance");
    assert!((body["last_price"].as_f64().unwrap() - ticker_prices().0).abs() < 1e-9);
    assert!(body["change_24h_pct"].is_number() && body["volume_24h"].is_number());
    // ETH is only on OKX here
    let (_, eth) = api.get("/v1/assets/ETHUSDT/ticker").await;
    assert_eq!(eth["source"], "okx");
    assert_eq!(api.get("/v1/assets/NOPE/ticker").await.0, 404);
    let (status, body) = api.get("/v1/assets/AAPL/ticker").await;
    assert_eq!(status, 404, "{body}");
    // Binance answers "Invalid symbol." for DOGE: nobody lists it, a 404
    let (status, body) = api.get("/v1/assets/DOGEUSDT/ticker").await;
    assert_eq!(status, 404, "{body}");
    // a source that is down is an outage: 503
    s.binance.script("/api/v3/ticker/24hr", (0..6).map(|_| Behaviour::Status(500, None)));
    let (status, body) = api.get("/v1/assets/DOGEUSDT/ticker").await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("binance"), "{body}");
}
