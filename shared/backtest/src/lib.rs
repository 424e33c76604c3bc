//! Backtests: what would have happened had one traded on a strategy's signals.
//!
//! The default convention (`../shared/notes/backtest.md` of the project; each part is an option of
//! [`engine::EngineConfig`]): a signal computed on bar t's close is filled at bar t+1's
//! open; fees are a fraction of traded notional on entry and on exit; all-in sizing
//! spends all cash so that size × price × (1 + fee) = cash, fractional units allowed;
//! a position still open at the end is marked at the last close, not closed; equity is
//! valued at each bar's close.
//!
//! `align` puts several assets' candles on common bar times (polars), `walk_forward`
//! plans the model forecasts a model strategy reads, `strategy` turns bars (and
//! forecasts) into entry/exit signals, `engine` simulates them in one tight loop over
//! plain slices (one asset or a portfolio sharing cash), `performance` computes the
//! metrics, `sweep` runs a grid of parameters over the machine's cores and ranks it,
//! `report` writes the equity curve and the trades as Parquet, `payload` is the
//! backtest job as stored.

pub mod align;
pub mod engine;
pub mod error;
pub mod payload;
pub mod performance;
pub mod report;
pub mod strategy;
pub mod summary;
pub mod sweep;

pub use error::{Error, Result};
/// Walk-forward plans live with the plain types (evaluation jobs share them).
pub use kronos_types::walk_forward;

/// One asset's input to a backtest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Its symbol.
    pub symbol: String,
    /// Its bars (a portfolio's series share the same times).
    pub bars: Bars,
    /// Walk-forward forecasts on those bars (model strategies only).
    pub forecasts: Option<walk_forward::ModelForecasts>,
}

/// Runs `strategy` on every series (one cash balance) and measures it.
pub fn evaluate(
    series: &[Series],
    strategy: &strategy::Strategy,
    config: &engine::EngineConfig,
    periods_per_year: f64,
) -> Result<(engine::Simulation, performance::Metrics)> {
    let signals = series.iter().map(|s| strategy.signals(&s.bars, s.forecasts.as_ref())).collect::<Result<Vec<_>>>()?;
    let instruments: Vec<engine::Instrument<'_>> =
        series.iter().zip(&signals).map(|(s, signals)| engine::Instrument { bars: &s.bars, signals }).collect();
    let sim = engine::run_portfolio(&instruments, config)?;
    let bars: Vec<&Bars> = series.iter().map(|s| &s.bars).collect();
    let metrics = performance::portfolio_metrics(&sim, &bars, periods_per_year);
    Ok((sim, metrics))
}

/// Bars of one asset, oldest first, as plain columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bars {
    /// Bar open times, Unix seconds.
    pub time: Vec<i64>,
    /// Opens.
    pub open: Vec<f64>,
    /// Highs.
    pub high: Vec<f64>,
    /// Lows.
    pub low: Vec<f64>,
    /// Closes.
    pub close: Vec<f64>,
}

impl Bars {
    /// Number of bars.
    pub fn len(&self) -> usize {
        self.close.len()
    }

    /// Whether there are no bars.
    pub fn is_empty(&self) -> bool {
        self.close.is_empty()
    }

    /// From stored or imported candles.
    pub fn from_candles(candles: &[kronos_types::Candle]) -> Self {
        Self {
            time: candles.iter().map(|c| c.ts.timestamp()).collect(),
            open: candles.iter().map(|c| c.open).collect(),
            high: candles.iter().map(|c| c.high).collect(),
            low: candles.iter().map(|c| c.low).collect(),
            close: candles.iter().map(|c| c.close).collect(),
        }
    }
}
