//! Backtest work on a device pool: the walk-forward forecasts a model strategy trades
//! on (also used by evaluation jobs).

pub mod walk_forward;
