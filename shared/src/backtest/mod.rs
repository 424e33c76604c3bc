//! Backtests: what would have happened had one traded on a strategy's signals.
//!
//! The default convention (`../shared/notes/backtest.md`; each part is an option of
//! [`engine::EngineConfig`]): a signal computed on bar t's close is filled at bar t+1's
//! open; fees are a fraction of traded notional on entry and on exit; all-in sizing
//! spends all cash so that size × price × (1 + fee) = cash, fractional units allowed;
//! a position still open at the end is marked at the last close, not closed; equity is
//! valued at each bar's close.
//!
//! `strategy` turns bars into entry/exit signals, `engine` simulates them in one tight
//! loop over plain slices, `performance` computes the metrics, `sweep` runs a grid of
//! parameters over the machine's cores and ranks it.

pub mod engine;
pub mod performance;
pub mod strategy;
pub mod sweep;

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
    pub fn from_candles(candles: &[crate::market_data::Candle]) -> Self {
        Self {
            time: candles.iter().map(|c| c.ts.timestamp()).collect(),
            open: candles.iter().map(|c| c.open).collect(),
            high: candles.iter().map(|c| c.high).collect(),
            low: candles.iter().map(|c| c.low).collect(),
            close: candles.iter().map(|c| c.close).collect(),
        }
    }
}
