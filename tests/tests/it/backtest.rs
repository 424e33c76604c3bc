//! The backtest engine against vectorbt 1.2.0 on the demo data (GOOG daily, 2,148
//! bars) for SMA crossover, RSI thresholds and Bollinger mean reversion with several
//! parameters and fees: the same trades, and metrics equal within 1e-6 relative.
//! `ops/test` installs vectorbt in its own virtualenv (`KRONOS_VECTORBT_PYTHON`).

use std::{path::Path, process::Command};

use kronos_backtest::{engine, engine::EngineConfig, performance, strategy::Strategy, Bars};
use kronos_tests::demo;
use serde_json::Value;

/// Runs compared (the reference script's specs).
const RUNS: [&str; 10] = [
    "sma:10:50:0.001",
    "sma:5:20:0",
    "sma:20:100:0.002",
    "sma:2:8:0.0005",
    "sma:50:200:0.001",
    "rsi:14:30:70:0.001",
    "rsi:7:25:75:0",
    "rsi:21:35:65:0.002",
    "bb:20:2:0.001",
    "bb:10:1.5:0",
];

/// The strategy and fee of a spec.
fn parse(spec: &str) -> (Strategy, f64) {
    let p: Vec<&str> = spec.split(':').collect();
    let fee = p[p.len() - 1].parse().unwrap();
    let strategy = match p[0] {
        "sma" => Strategy::SmaCross { fast: p[1].parse().unwrap(), slow: p[2].parse().unwrap() },
        "rsi" => Strategy::RsiThreshold {
            period: p[1].parse().unwrap(),
            lower: p[2].parse().unwrap(),
            upper: p[3].parse().unwrap(),
        },
        "bb" => Strategy::BollingerReversion { period: p[1].parse().unwrap(), k: p[2].parse().unwrap() },
        other => panic!("unknown spec {other}"),
    };
    (strategy, fee)
}

fn reference() -> Value {
    let python = std::env::var("KRONOS_VECTORBT_PYTHON")
        .expect("KRONOS_VECTORBT_PYTHON is not set: run the tests through ops/test, which installs vectorbt");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ops/reference/vectorbt_reference.py");
    let stocks = demo::file("stocks.csv.gz");
    let mut cmd = Command::new(python);
    cmd.arg(script).arg(stocks).args(["GOOG", "10000", "252"]);
    cmd.args(RUNS);
    let out = cmd.output().expect("run vectorbt");
    assert!(out.status.success(), "vectorbt failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("vectorbt's JSON")
}

fn column(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn assert_close(what: &str, ours: f64, theirs: f64) {
    let tolerance = 1e-6 * theirs.abs().max(1e-12);
    assert!((ours - theirs).abs() <= tolerance, "{what}: ours {ours}, vectorbt {theirs}");
}

#[test]
fn sma_rsi_and_bollinger_strategies_match_vectorbt_on_goog() {
    let reference = reference();
    let b = &reference["bars"];
    let bars = Bars {
        time: b["time"].as_array().unwrap().iter().map(|t| t.as_i64().unwrap()).collect(),
        open: column(&b["open"]),
        high: column(&b["high"]),
        low: column(&b["low"]),
        close: column(&b["close"]),
    };
    assert_eq!(bars.len(), 2148);
    for run in reference["runs"].as_array().unwrap() {
        let label = run["spec"].as_str().unwrap().to_owned();
        let (strategy, fee) = parse(&label);
        let signals = strategy.signals(&bars, None).unwrap();
        let config = EngineConfig { init_cash: 10_000.0, fee, ..EngineConfig::default() };
        let sim = engine::run(&bars, &signals, &config).unwrap();
        let theirs = run["trades"].as_array().unwrap();
        assert_eq!(sim.trades.len(), theirs.len(), "{label}: number of trades");
        for (ours, t) in sim.trades.iter().zip(theirs) {
            assert_eq!(ours.entry_bar as u64, t["entry_bar"].as_u64().unwrap(), "{label}: entry bar");
            assert_eq!(ours.exit_bar.map(|b| b as u64), t["exit_bar"].as_u64(), "{label}: exit bar");
            assert_close(&format!("{label}: entry price"), ours.entry_price, t["entry_price"].as_f64().unwrap());
            assert_close(&format!("{label}: exit price"), ours.exit_price, t["exit_price"].as_f64().unwrap());
            assert_close(&format!("{label}: size"), ours.size, t["size"].as_f64().unwrap());
            assert_close(&format!("{label}: pnl"), ours.pnl, t["pnl"].as_f64().unwrap());
        }
        let m = performance::metrics(&sim, &bars, 252.0);
        let r = &run["metrics"];
        assert_close(&format!("{label}: final equity"), m.final_equity, r["final_equity"].as_f64().unwrap());
        assert_close(&format!("{label}: total return"), m.total_return, r["total_return"].as_f64().unwrap());
        assert_close(&format!("{label}: max drawdown"), m.max_drawdown, r["max_drawdown"].as_f64().unwrap());
        assert_close(&format!("{label}: sharpe"), m.sharpe, r["sharpe"].as_f64().unwrap());
        assert_eq!(m.trades_closed as u64, r["trades_closed"].as_u64().unwrap(), "{label}");
        assert_eq!(m.trades_open as u64, r["trades_open"].as_u64().unwrap(), "{label}");
        if let Some(win_rate) = r["win_rate"].as_f64() {
            assert_close(&format!("{label}: win rate"), m.win_rate, win_rate);
        }
        let fees = r["total_fees"].as_f64().unwrap();
        if fees > 0.0 {
            assert_close(&format!("{label}: fees"), m.total_fees, fees);
        } else {
            assert_eq!(m.total_fees, 0.0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_prints_the_same_metrics_and_refuses_bad_input() {
    let env = kronos_tests::TestEnv::new().await;
    let reference = reference();
    let b = &reference["bars"];
    // one series, as a plain CSV
    let mut csv = String::from("time,open,high,low,close\n");
    for i in 0..b["close"].as_array().unwrap().len() {
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            b["time"][i], b["open"][i], b["high"][i], b["low"][i], b["close"][i]
        ));
    }
    let path = env.scratch.join("goog.csv");
    std::fs::write(&path, csv).unwrap();
    let file = path.to_str().unwrap();
    let run = |args: &[&str]| kronos_tests::process::run_to_end("kronos", &env, args);
    let out = run(&[
        "backtest",
        "--csv",
        file,
        "--strategy",
        "sma-cross",
        "--fast",
        "10",
        "--slow",
        "50",
        "--fee",
        "0.001",
        "--periods-per-year",
        "252",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ours: Value = serde_json::from_slice(&out.stdout).unwrap();
    let theirs = &reference["runs"][0]["metrics"];
    for key in ["final_equity", "total_return", "max_drawdown", "sharpe", "win_rate", "total_fees"] {
        assert_close(key, ours["metrics"][key].as_f64().unwrap(), theirs[key].as_f64().unwrap());
    }
    // the CLI prints the API summary's fields, and the trades table's rows
    assert_eq!(ours["metrics"]["trades_closed"], theirs["trades_closed"]);
    assert_eq!(ours["metrics"]["trades_open"], theirs["trades_open"]);
    let closed = ours["trades"].as_array().unwrap().iter().filter(|t| !t["exit_time"].is_null()).count();
    assert_eq!(serde_json::json!(closed), theirs["trades_closed"]);
    assert!(ours["first_bar"].as_str().unwrap().ends_with('Z'));

    let empty = env.scratch.join("empty.csv");
    std::fs::write(&empty, "time,open,high,low,close\n").unwrap();
    for (args, needle) in [
        (vec!["backtest", "--csv", file, "--strategy", "martingale"], "--strategy"),
        (vec!["backtest", "--csv", file, "--fast", "50", "--slow", "10"], "--fast"),
        (vec!["backtest", "--csv", file, "--fee", "-0.01"], "--fee"),
        (vec!["backtest", "--csv", empty.to_str().unwrap()], "no candles"),
        (vec!["backtest", "--symbol", "NOPE"], "--symbol"),
    ] {
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(needle), "{args:?}: {err}");
    }
}
