//! Backtest work on a device pool: the walk-forward forecasts a model strategy trades
//! on, and the job's progress reports.

pub mod progress;
pub mod walk_forward;
