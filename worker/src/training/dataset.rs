//! Training data from stored candles: one series per asset, oldest first.

use crate::error::Error;
use crate::error::Result;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use kronos_db::{assets, candles};
use kronos_models::training::Series;
use kronos_types::Interval;

/// Most bars read per asset (the latest ones in the range).
pub const MAX_BARS_PER_ASSET: i64 = 500_000;

/// The loaded series and the range they cover.
#[derive(Debug)]
pub struct TrainingData {
    /// One series per asset, in the order asked.
    pub series: Vec<Series>,
    /// First bar over all series.
    pub first: Option<DateTime<Utc>>,
    /// Last bar over all series.
    pub last: Option<DateTime<Utc>>,
}

/// Reads every asset's candles of `interval` in `[from, to]`. An unknown symbol or an
/// asset without candles is a `symbols` error.
pub async fn load(
    conn: &mut AsyncPgConnection,
    symbols: &[String],
    interval: Interval,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<TrainingData> {
    let mut series = Vec::with_capacity(symbols.len());
    let (mut first, mut last) = (None::<DateTime<Utc>>, None::<DateTime<Utc>>);
    for symbol in symbols {
        let asset = assets::find_by_symbol(conn, symbol)
            .await?
            .ok_or_else(|| Error::invalid("symbols", format!("unknown symbol {symbol:?}")))?;
        let bars = candles::range(conn, asset.id, interval, from, to, MAX_BARS_PER_ASSET).await?;
        if bars.is_empty() {
            return Err(Error::invalid("symbols", format!("{symbol} has no {interval} candles in the range")));
        }
        first = first.min(Some(bars[0].ts)).or(Some(bars[0].ts));
        last = last.max(bars.last().map(|b| b.ts));
        series.push(Series {
            symbol: asset.symbol.clone(),
            times: bars.iter().map(|b| b.ts.naive_utc()).collect(),
            bars: bars.iter().map(|b| [b.open, b.high, b.low, b.close, b.volume, b.amount]).collect(),
        });
    }
    Ok(TrainingData { series, first, last })
}
