//! Backtest jobs through the API and a worker process on the demo data: the job's
//! metrics equal the library's (itself cross-checked against vectorbt), the equity
//! curve and trades are Parquet in the object store (and JSON on request), sweeps rank
//! a grid, portfolios share cash, model strategies trade on walk-forward forecasts
//! (the forecast at bar t is unchanged when the bars after t are cut off), and bad
//! requests are refused naming the field.

use std::time::{Duration, Instant};

use kronos_backtest::{engine::EngineConfig, report::read_parquet, strategy::Strategy, Bars, Series};
use kronos_market_data::import;
use kronos_tests::{demo, http::TestApi, process::Proc, TestEnv};
use serde_json::{json, Value};

fn worker(env: &TestEnv) -> Proc {
    let cache = env.scratch.join("model-cache");
    Proc::start(
        "kronos-worker",
        env,
        &["--devices", "cpu", "--torch-threads", "1", "--max-wait-ms", "20"],
        &[("KRONOS_MODEL_CACHE", cache.display().to_string())],
    )
}

/// The demo file's bars of `symbol`, as the library reads them.
fn demo_bars(symbol: &str) -> Bars {
    let parsed = import::parse_file(&demo::file("stocks.csv.gz"), None, None).unwrap();
    Bars::from_candles(&parsed.series[symbol])
}

/// Submits a backtest and waits for it; returns its summary.
async fn backtest(api: &TestApi, body: &Value) -> (String, Value) {
    let (status, created) = api.post_json("/v1/backtests", body).await;
    assert_eq!(status, 202, "{created}");
    let id = created["job"]["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let (_, job) = api.get(&format!("/v1/jobs/{id}")).await;
        match job["status"].as_str().unwrap_or_default() {
            "succeeded" => break,
            "failed" | "cancelled" => panic!("backtest ended badly: {job}"),
            _ => {}
        }
        assert!(started.elapsed() < Duration::from_secs(240), "backtest did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, summary) = api.get(&format!("/v1/backtests/{id}")).await;
    assert_eq!(status, 200, "{summary}");
    (id, summary)
}

async fn parquet(api: &TestApi, id: &str, table: &str) -> polars::prelude::DataFrame {
    let response = api.client.get(api.url(&format!("/v1/backtests/{id}/{table}"))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/vnd.apache.parquet");
    read_parquet(response.bytes().await.unwrap().to_vec()).unwrap()
}

fn column(frame: &polars::prelude::DataFrame, name: &str) -> Vec<f64> {
    frame.column(name).unwrap().f64().unwrap().into_iter().map(|v| v.unwrap_or(f64::NAN)).collect()
}

fn close(what: &str, ours: f64, theirs: f64) {
    assert!((ours - theirs).abs() <= 1e-9 * theirs.abs().max(1.0), "{what}: job {ours}, library {theirs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_jobs_equal_the_library_and_store_parquet_tables() {
    let env = TestEnv::new().await;
    demo::import_stocks(&env);
    let api = TestApi::start(&env, true).await;
    let _worker = worker(&env);

    // one asset, SMA(10, 50), 0.1 % fee: the vectorbt-checked case, through a job
    let body = json!({"symbols": ["GOOG"], "strategy": {"kind": "sma_cross", "fast": 10, "slow": 50},
                      "engine": {"fee": 0.001}});
    let (id, summary) = backtest(&api, &body).await;
    let goog = [Series { symbol: "GOOG".into(), bars: demo_bars("GOOG"), forecasts: None }];
    let config = EngineConfig { fee: 0.001, ..EngineConfig::default() };
    let strategy = Strategy::SmaCross { fast: 10, slow: 50 };
    let (sim, m) = kronos_backtest::evaluate(&goog, &strategy, &config, 252.0).unwrap();
    let metrics = &summary["metrics"];
    for (key, ours) in [
        ("final_equity", m.final_equity),
        ("total_return", m.total_return),
        ("max_drawdown", m.max_drawdown),
        ("sharpe", m.sharpe),
        ("win_rate", m.win_rate),
        ("total_fees", m.total_fees),
        ("benchmark_return", m.benchmark_return),
    ] {
        close(key, metrics[key].as_f64().unwrap(), ours);
    }
    assert_eq!(summary["periods_per_year"], json!(252.0), "daily stocks: trading days");
    assert_eq!(summary["bars"], json!(goog[0].bars.len()));
    assert_eq!(metrics["trades_closed"], json!(m.trades_closed));
    let equity = parquet(&api, &id, "equity").await;
    assert_eq!(equity.height(), goog[0].bars.len());
    close("last equity", *column(&equity, "equity").last().unwrap(), m.final_equity);
    let trades = parquet(&api, &id, "trades").await;
    assert_eq!(trades.height(), sim.trades.len());
    close("first entry", column(&trades, "entry_price")[0], sim.trades[0].entry_price);
    let (status, rows) = api.get(&format!("/v1/backtests/{id}/trades?format=json")).await;
    assert_eq!(status, 200);
    assert_eq!(rows.as_array().unwrap().len(), sim.trades.len());
    assert_eq!(rows[0]["symbol"], "GOOG");
    assert!(rows[0]["entry_time"].as_str().unwrap().starts_with("20"), "{}", rows[0]);
    let (status, _) = api.get(&format!("/v1/backtests/{id}/sweep")).await;
    assert_eq!(status, 404, "no sweep, no sweep table");

    // a sweep: 9 combinations, one skipped (fast 60 ≥ slow 50), ranked by Sharpe; the
    // summary's curve is the best point's
    let body = json!({"symbols": ["GOOG"], "strategy": {"kind": "sma_cross"}, "engine": {"fee": 0.001},
                      "sweep": {"grid": {"fast": [5, 10, 60], "slow": [50, 100, 200]}, "rank_by": "sharpe", "top": 3}});
    let (id, summary) = backtest(&api, &body).await;
    let sweep = &summary["sweep"];
    assert_eq!((sweep["points"].as_u64(), sweep["skipped"].as_u64()), (Some(8), Some(1)), "{sweep}");
    let top = sweep["top"].as_array().unwrap();
    assert_eq!(top.len(), 3);
    let sharpes: Vec<f64> = top.iter().map(|p| p["metrics"]["sharpe"].as_f64().unwrap()).collect();
    assert!(sharpes.windows(2).all(|w| w[0] >= w[1]), "{sharpes:?}");
    assert_eq!(summary["strategy"], top[0]["strategy"]);
    close("best sharpe", summary["metrics"]["sharpe"].as_f64().unwrap(), sharpes[0]);
    let ranking = parquet(&api, &id, "sweep").await;
    assert_eq!(ranking.height(), 8);

    // a portfolio of two stocks sharing cash, traded on the days both have bars
    let body = json!({"symbols": ["GOOG", "IBM"], "strategy": {"kind": "rsi", "period": 14, "lower": 35, "upper": 65},
                      "engine": {"fee": 0.0005, "sizing": {"fraction": 0.5}}});
    let (id, summary) = backtest(&api, &body).await;
    let ibm = demo_bars("IBM");
    let series = kronos_backtest::align::align(vec![
        goog[0].clone(),
        Series { symbol: "IBM".into(), bars: ibm, forecasts: None },
    ])
    .unwrap();
    let config =
        EngineConfig { fee: 0.0005, sizing: kronos_backtest::engine::Sizing::Fraction(0.5), ..EngineConfig::default() };
    let strategy = Strategy::RsiThreshold { period: 14, lower: 35.0, upper: 65.0 };
    let (sim, m) = kronos_backtest::evaluate(&series, &strategy, &config, 252.0).unwrap();
    close("portfolio equity", summary["metrics"]["final_equity"].as_f64().unwrap(), m.final_equity);
    assert_eq!(summary["bars"], json!(series[0].bars.len()));
    let traded: std::collections::BTreeSet<usize> = sim.trades.iter().map(|t| t.asset).collect();
    assert_eq!(traded.len(), 2, "both assets traded");
    let trades = parquet(&api, &id, "trades").await;
    let symbols: std::collections::BTreeSet<String> =
        trades.column("symbol").unwrap().str().unwrap().into_no_null_iter().map(str::to_owned).collect();
    assert_eq!(symbols.into_iter().collect::<Vec<_>>(), vec!["GOOG", "IBM"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_strategies_trade_on_walk_forward_forecasts() {
    let env = TestEnv::new().await;
    demo::import_stocks(&env);
    kronos_tests::fixtures::import_kronos_tiny(&env, "tiny");
    let api = TestApi::start(&env, true).await;
    let _worker = worker(&env);

    let request = |model: &str, rule: &str, entry: f64, to: &str| {
        json!({
            "symbols": ["GOOG"], "from": "2011-01-01T00:00:00Z", "to": to,
            "strategy": {"kind": "model", "rule": rule, "entry": entry},
            "model": {"name": model, "context": 32, "horizon": 3, "samples": 4, "seed": 7},
            "engine": {"fee": 0.001}
        })
    };
    for (model, rule, entry) in [("tiny", "prob_up", 0.7), ("drift", "expected_return", 0.002)] {
        let (id, summary) = backtest(&api, &request(model, rule, entry, "2011-12-31T00:00:00Z")).await;
        let bars = summary["bars"].as_u64().unwrap() as usize;
        assert!(bars > 200, "{summary}");
        assert_eq!(summary["model"]["bars_with_forecast"], json!(bars), "a forecast at every bar: {summary}");
        let equity = parquet(&api, &id, "equity").await;
        let signal = column(&equity, rule);
        assert!(signal.iter().all(|v| v.is_finite()));
        if model == "tiny" {
            assert!(signal.iter().all(|p| (0.0..=1.0).contains(p) && (p * 4.0).fract() == 0.0), "4 paths");
        }
        // every entry follows a forecast at or above the threshold on the bar before,
        // every signal exit one below the exit threshold
        let trades = parquet(&api, &id, "trades").await;
        let times: Vec<i64> =
            equity.column("time").unwrap().datetime().unwrap().physical().into_no_null_iter().collect();
        let entries: Vec<i64> =
            trades.column("entry_time").unwrap().datetime().unwrap().physical().into_no_null_iter().collect();
        assert!(!entries.is_empty(), "{model} traded");
        let exit_threshold = if rule == "prob_up" { 0.5 } else { 0.0 };
        for entry_time in entries {
            let bar = times.iter().position(|t| *t == entry_time).unwrap();
            assert!(signal[bar - 1] >= entry, "{model}: entered after {}", signal[bar - 1]);
        }
        let reasons = trades.column("exit_reason").unwrap().str().unwrap().clone();
        let exits = trades.column("exit_time").unwrap().datetime().unwrap().physical().clone();
        for (reason, exit_time) in reasons.into_iter().zip(exits.into_iter()) {
            if let (Some("signal"), Some(t)) = (reason, exit_time) {
                let bar = times.iter().position(|x| *x == t).unwrap();
                assert!(signal[bar - 1] < exit_threshold, "{model}: exited after {}", signal[bar - 1]);
            }
        }

        // walk-forward: cutting the range at mid-year leaves every earlier forecast as it was
        let (cut_id, _) = backtest(&api, &request(model, rule, entry, "2011-06-30T00:00:00Z")).await;
        let cut = column(&parquet(&api, &cut_id, "equity").await, rule);
        assert!(cut.len() > 100 && cut.len() < signal.len());
        let differing = cut.iter().zip(&signal).filter(|(a, b)| a != b).count();
        assert_eq!(differing, 0, "{model}: forecasts before the cut changed when later bars were removed");
    }

    // a forecast every 5 bars: the first traded bar still has one, and each stands 5 bars
    let mut body = request("drift", "expected_return", 0.002, "2011-12-31T00:00:00Z");
    body["model"]["every"] = json!(5);
    let (id, summary) = backtest(&api, &body).await;
    assert_eq!(summary["model"]["bars_with_forecast"], summary["bars"], "{summary}");
    let sparse = column(&parquet(&api, &id, "equity").await, "expected_return");
    let changes = sparse.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(changes <= sparse.len() / 5 + 1, "{changes} changes over {} bars", sparse.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_backtest_requests_name_the_field() {
    let env = TestEnv::new().await;
    demo::import_stocks(&env);
    let api = TestApi::start(&env, false).await;
    let sma = json!({"kind": "sma_cross", "fast": 10, "slow": 50});
    for (body, field) in [
        (json!({"symbols": ["NOPE"], "strategy": sma}), "symbols[0]"),
        (json!({"symbols": [], "strategy": sma}), "symbols"),
        (json!({"symbols": ["GOOG"], "strategy": {"kind": "martingale"}}), "strategy.kind"),
        (json!({"symbols": ["GOOG"], "strategy": {"kind": "sma_cross", "fast": 50, "slow": 10}}), "strategy.fast"),
        (json!({"symbols": ["GOOG"], "strategy": sma, "engine": {"fee": -0.01}}), "engine.fee"),
        (json!({"symbols": ["GOOG"], "strategy": sma, "engine": {"leverage": 0.5}}), "engine.leverage"),
        (
            json!({"symbols": ["GOOG"], "strategy": sma, "from": "1990-01-01T00:00:00Z", "to": "1990-12-31T00:00:00Z"}),
            "symbols[0]",
        ),
        (json!({"symbols": ["GOOG"], "strategy": {"kind": "model", "entry": 0.6}}), "model"),
        (
            json!({"symbols": ["GOOG"], "strategy": {"kind": "model", "entry": 0.6}, "model": {"name": "oracle"}}),
            "model.name",
        ),
        (json!({"symbols": ["GOOG"], "strategy": sma, "sweep": {"grid": {"k": [1, 2]}}}), "sweep.grid.k"),
        (json!({"symbols": ["GOOG"], "strategy": sma, "periods_per_year": 0}), "periods_per_year"),
    ] {
        let (status, err) = api.post_json("/v1/backtests", &body).await;
        assert_eq!(status, 422, "{body}: {err}");
        let text = err.to_string();
        assert!(text.contains(&format!("\"{field}\"")), "{body}: expected the field {field} in {err}");
    }
    let (status, _) = api.get("/v1/backtests/01234567-89ab-7def-8123-456789abcdef").await;
    assert_eq!(status, 404);
    let (status, err) = api.get("/v1/backtests/nope").await;
    assert_eq!(status, 422, "{err}");
    // a queued backtest (no worker here) is not ready yet
    let (_, created) = api.post_json("/v1/backtests", &json!({"symbols": ["GOOG"], "strategy": sma})).await;
    let id = created["job"]["id"].as_str().unwrap();
    let (status, err) = api.get(&format!("/v1/backtests/{id}")).await;
    assert_eq!(status, 409, "{err}");
    let (status, err) = api.get(&format!("/v1/backtests/{id}/ledger")).await;
    assert_eq!(status, 422, "{err}");
}
