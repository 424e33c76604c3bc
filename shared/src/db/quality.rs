//! The data-quality report of a stored series (analysis of its candles plus what was
//! quarantined on the way in).

use std::collections::BTreeMap;

use diesel_async::AsyncPgConnection;
use serde::Serialize;

use super::{assets::Asset, candles, quarantine};
use crate::{
    error::Result,
    market_data::{
        quality::{analyse, QualityReport},
        Interval,
    },
};

/// Most stored bars analysed (the latest ones).
pub const MAX_BARS: i64 = 2_000_000;

/// Report of one asset and interval.
#[derive(Debug, Clone, Serialize)]
pub struct SeriesQuality {
    /// Asset symbol.
    pub symbol: String,
    /// Interval.
    pub interval: String,
    /// The analysis of the stored bars.
    #[serde(flatten)]
    pub report: QualityReport,
    /// Rows refused on import or refresh, by reason.
    pub quarantined: BTreeMap<String, i64>,
}

/// Builds the report of `asset`'s `interval` series.
pub async fn series_report(conn: &mut AsyncPgConnection, asset: &Asset, interval: Interval) -> Result<SeriesQuality> {
    let bars = candles::latest(conn, asset.id, interval, MAX_BARS).await?;
    let report = analyse(&bars, interval, asset.calendar());
    let quarantined = quarantine::counts_by_reason(conn, &asset.symbol, interval).await?.into_iter().collect();
    Ok(SeriesQuality { symbol: asset.symbol.clone(), interval: interval.as_str().to_owned(), report, quarantined })
}
