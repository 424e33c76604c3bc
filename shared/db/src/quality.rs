//! What a series' data-quality report reads: its latest bars and the rows quarantined
//! on the way in (the analysis itself is `kronos_market_data::quality`).

use diesel_async::AsyncPgConnection;
use kronos_types::{Candle, Interval};

use super::{assets::Asset, candles, quarantine};
use crate::error::Result;

/// Most stored bars a report analyses (the latest ones).
pub const MAX_BARS: i64 = 2_000_000;

/// The stored inputs of one series' report.
#[derive(Debug, Clone)]
pub struct QualityInputs {
    /// The latest bars (at most [`MAX_BARS`]), oldest first.
    pub bars: Vec<Candle>,
    /// Rows refused on import or refresh, by reason.
    pub quarantined: Vec<(String, i64)>,
}

/// Reads what the report of `asset`'s `interval` series analyses.
pub async fn inputs(conn: &mut AsyncPgConnection, asset: &Asset, interval: Interval) -> Result<QualityInputs> {
    let bars = candles::latest(conn, asset.id, interval, MAX_BARS).await?;
    let quarantined = quarantine::counts_by_reason(conn, &asset.symbol, interval).await?;
    Ok(QualityInputs { bars, quarantined })
}
