//! One module per subcommand.

pub mod assets;
pub mod backfill;
pub mod backtest;
pub mod candles;
pub mod forecast;
pub mod import;
pub mod jobs;
pub mod migrate;
pub mod models;
pub mod quality;
pub mod train;
pub mod users;
