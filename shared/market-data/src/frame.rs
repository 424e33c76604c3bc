//! Candles as a polars frame: `ts` (Unix milliseconds, i64), `open`, `high`, `low`,
//! `close`, `volume`, `amount` (f64).

use polars::prelude::*;

use crate::error::Result;
use kronos_types::Candle;

/// The frame of `candles`, one row each, in order.
pub fn candles_frame(candles: &[Candle]) -> Result<DataFrame> {
    let column = |f: fn(&Candle) -> f64| candles.iter().map(f).collect::<Vec<f64>>();
    Ok(df!(
        "ts" => candles.iter().map(|c| c.ts.timestamp_millis()).collect::<Vec<_>>(),
        "open" => column(|c| c.open),
        "high" => column(|c| c.high),
        "low" => column(|c| c.low),
        "close" => column(|c| c.close),
        "volume" => column(|c| c.volume),
        "amount" => column(|c| c.amount),
    )?)
}
