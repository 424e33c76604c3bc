//! The Kronos ML library.
//!
//! Takes arrays and local paths, never services: no tokio, diesel, redis, axum or
//! object_store here. Series are rows of `[open, high, low, close, volume, amount]`.

pub mod baselines;
pub mod device;
pub mod forecast;
pub mod kronos;
pub mod metrics;
pub mod training;

pub use device::ComputeDevice;
pub use forecast::{Forecast, ForecastError, HorizonRisk};

/// One candle's numeric fields: open, high, low, close, volume, amount.
pub type Bar = [f64; 6];

/// Index of the close in a [`Bar`].
pub const CLOSE: usize = 3;
