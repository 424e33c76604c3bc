//! `kronos backtest`: runs a strategy on a CSV/Parquet file or on stored candles with
//! the default convention (signals at bar t's close filled at t+1's open, fees on
//! notional at entry and exit, all-in sizing, an open position marked at the last
//! close) and prints the metrics (`--json`: fractions, not percentages).

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use clap::Args;
use kronos_backtest::{engine, engine::EngineConfig, performance, report, strategy::Strategy, Bars, Series};
use kronos_config::Config;
use kronos_db::{assets, candles};
use kronos_market_data::import;
use kronos_types::{rfc3339, Interval};
use serde_json::json;

/// Arguments of `kronos backtest`.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// A CSV or Parquet file of candles (any spelling `kronos import` reads).
    #[arg(long, conflicts_with = "symbol", required_unless_present = "symbol")]
    csv: Option<PathBuf>,
    /// A stored asset instead of a file.
    #[arg(long)]
    symbol: Option<String>,
    /// Interval of the stored candles.
    #[arg(long, default_value = "1d")]
    interval: String,
    /// Strategy: sma-cross, rsi or bollinger.
    #[arg(long, default_value = "sma-cross")]
    strategy: String,
    /// RSI or Bollinger period.
    #[arg(long, default_value_t = 14)]
    period: usize,
    /// RSI oversold level (entry when RSI crosses below it).
    #[arg(long, default_value_t = 30.0)]
    lower: f64,
    /// RSI overbought level (exit when RSI crosses above it).
    #[arg(long, default_value_t = 70.0)]
    upper: f64,
    /// Bollinger band width in standard deviations.
    #[arg(long, default_value_t = 2.0, allow_negative_numbers = true)]
    k: f64,
    /// Fast SMA window.
    #[arg(long, default_value_t = 10)]
    fast: usize,
    /// Slow SMA window.
    #[arg(long, default_value_t = 50)]
    slow: usize,
    /// Fee as a fraction of traded notional (0.001 = 0.1 %).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    fee: f64,
    /// Starting cash.
    #[arg(long, default_value_t = 10_000.0)]
    cash: f64,
    /// Periods per year for annualising (default: 252 for daily stocks and indices, 365
    /// for daily crypto and FX, from the interval otherwise).
    #[arg(long)]
    periods_per_year: Option<f64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a backtest; needs the database only with `--symbol`.
pub async fn run(args: BacktestArgs) -> anyhow::Result<()> {
    let strategy = match args.strategy.as_str() {
        "sma-cross" => Strategy::SmaCross { fast: args.fast, slow: args.slow },
        "rsi" => Strategy::RsiThreshold { period: args.period, lower: args.lower, upper: args.upper },
        "bollinger" => Strategy::BollingerReversion { period: args.period, k: args.k },
        other => bail!("--strategy: unknown strategy {other:?}; expected sma-cross, rsi or bollinger"),
    };
    strategy.validate().map_err(|e| anyhow!("--{}", flag_error(e)))?;
    let interval: Interval = args.interval.parse().map_err(|e| anyhow!("--interval: {e}"))?;
    let symbol_name = args.symbol.clone().unwrap_or_else(|| "CSV".to_owned()).to_ascii_uppercase();
    let (bars, stocks) = match (&args.csv, &args.symbol) {
        (Some(path), _) => {
            let parsed =
                import::parse_file(path, Some("CSV"), None).with_context(|| format!("--csv {}", path.display()))?;
            let mut series = parsed.series.into_values();
            let candles = series.next().unwrap_or_default();
            if series.next().is_some() {
                bail!("--csv: the file holds several tickers; give a file of one series");
            }
            (Bars::from_candles(&candles), true)
        }
        (None, Some(symbol)) => {
            let config = Config::from_env()?;
            let pool = kronos_db::pool(&config.database_url, 1)?;
            let mut conn = pool.get().await?;
            let asset = assets::find_by_symbol(&mut conn, symbol)
                .await?
                .ok_or_else(|| anyhow!("--symbol: unknown symbol {symbol:?}"))?;
            let stored = candles::range(&mut conn, asset.id, interval, None, None, i64::MAX).await?;
            (Bars::from_candles(&stored), asset.class != "crypto" && asset.class != "fx")
        }
        (None, None) => bail!("give --csv FILE or --symbol S"),
    };
    if bars.is_empty() {
        bail!("no candles to backtest");
    }
    let periods_per_year =
        args.periods_per_year.unwrap_or_else(|| performance::default_periods_per_year(interval, stocks));
    if !(periods_per_year.is_finite() && periods_per_year > 0.0) {
        bail!("--periods-per-year must be a positive number");
    }
    let config = EngineConfig { init_cash: args.cash, fee: args.fee, ..EngineConfig::default() };
    let signals = strategy.signals(&bars, None).map_err(|e| anyhow!("--{}", flag_error(e)))?;
    let sim = engine::run(&bars, &signals, &config).map_err(|e| anyhow!("--{}", flag_error(e)))?;
    let m = performance::metrics(&sim, &bars, periods_per_year);
    if args.json {
        // the fields of the API's backtest summary, and its trades table as rows
        let time = |t: Option<&i64>| t.and_then(|s| chrono::DateTime::from_timestamp(*s, 0)).map(rfc3339);
        let series = [Series { symbol: symbol_name.clone(), bars: bars.clone(), forecasts: None }];
        let trades = report::json_rows(&report::trades_frame(&sim, &series)?);
        let doc = json!({
            "symbols": [symbol_name],
            "bars": bars.len(),
            "first_bar": time(bars.time.first()),
            "last_bar": time(bars.time.last()),
            "strategy": strategy.describe(),
            "engine": config,
            "periods_per_year": periods_per_year,
            "metrics": m,
            "trades": trades,
        });
        println!("{doc}");
        return Ok(());
    }
    println!("{} bars, {} closed and {} open trades", bars.len(), m.trades_closed, m.trades_open);
    println!(
        "final equity {:.2}  total return {:.2}%  CAGR {:.2}%",
        m.final_equity,
        m.total_return * 100.0,
        m.cagr * 100.0
    );
    println!(
        "sharpe {:.3}  sortino {:.3}  max drawdown {:.2}% ({} bars)",
        m.sharpe,
        m.sortino,
        m.max_drawdown * 100.0,
        m.max_drawdown_bars
    );
    println!("win rate {:.1}%  profit factor {:.2}  fees {:.2}", m.win_rate * 100.0, m.profit_factor, m.total_fees);
    println!("buy and hold {:.2}%  alpha {:.3}  beta {:.3}", m.benchmark_return * 100.0, m.alpha, m.beta);
    Ok(())
}

/// A validation error as `flag: message` (`fee` → `fee: …`).
fn flag_error(e: kronos_backtest::Error) -> String {
    match e {
        kronos_backtest::Error::Invalid { field, message } => format!("{}: {message}", field.replace('_', "-")),
        other => other.to_string(),
    }
}
