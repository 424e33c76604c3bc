//! Backtest benchmark (not a test): one SMA-crossover backtest on a long series and a
//! parameter sweep on a short one, median wall time of several runs (signals, engine
//! and metrics included). `ops/bench-backtest` runs it beside vectorbt on the same
//! files.
//!
//! ```text
//! cargo run --release -p kronos-backtest --example backtest_bench -- LONG.csv GOOG.csv RUNS
//! ```

use std::time::Instant;

use kronos_backtest::{
    engine::{self, EngineConfig},
    performance,
    strategy::Strategy,
    sweep::{self, RankBy},
    Bars, Series,
};
use kronos_market_data::import;

/// The allocator the API and the worker run with: it keeps freed pages for the next
/// run instead of returning them (glibc maps and unmaps each 8 MB column, and on this
/// VM re-faulting them cost as much as the simulation).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn load(path: &str) -> Result<Bars, String> {
    let parsed = import::parse_file(std::path::Path::new(path), Some("BENCH"), None).map_err(|e| e.to_string())?;
    let candles = parsed.series.into_values().next().unwrap_or_default();
    Ok(Bars::from_candles(&candles))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: backtest_bench LONG.csv GOOG.csv [RUNS]");
        std::process::exit(2);
    }
    let runs: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(5);
    let (long, goog) = match (load(&args[1]), load(&args[2])) {
        (Ok(l), Ok(g)) => (l, g),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    // no fee on the long random walk: with one, thousands of round trips take equity to
    // zero and both engines would skip the later entries
    let long_config = EngineConfig::default();
    let config = EngineConfig { fee: 0.001, ..EngineConfig::default() };
    let mut times = Vec::new();
    let mut last = 0.0;
    for _ in 0..runs {
        let started = Instant::now();
        let strategy = Strategy::SmaCross { fast: 10, slow: 50 };
        let result = strategy
            .signals(&long, None)
            .and_then(|s| engine::run(&long, &s, &long_config))
            .map(|sim| performance::metrics(&sim, &long, 252.0));
        times.push(started.elapsed().as_secs_f64());
        match result {
            Ok(m) => last = m.final_equity,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }
    println!(
        "{{\"engine\":\"kronos\",\"task\":\"sma_10_50\",\"bars\":{},\"runs\":{runs},\"median_s\":{:.6},\"final_equity\":{last:.4}}}",
        long.len(),
        median(times)
    );
    let goog_series = [Series { symbol: "GOOG".into(), bars: goog.clone(), forecasts: None }];
    let grid: Vec<Strategy> =
        (2..42).flat_map(|fast| (50..75).map(move |slow| Strategy::SmaCross { fast, slow })).collect();
    let mut times = Vec::new();
    let mut best = String::new();
    for _ in 0..runs {
        let started = Instant::now();
        let ranked = sweep::run(&goog_series, &grid, &config, 252.0, RankBy::Sharpe, None);
        times.push(started.elapsed().as_secs_f64());
        match ranked {
            Ok(r) => best = format!("{} sharpe {:.4}", r[0].strategy, r[0].metrics.sharpe),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }
    println!(
        "{{\"engine\":\"kronos\",\"task\":\"sweep_{}\",\"bars\":{},\"runs\":{runs},\"median_s\":{:.6},\"best\":\"{best}\"}}",
        grid.len(),
        goog.len(),
        median(times)
    );
}
