//! Resampling candles to a coarser interval with polars (`group_by_dynamic`).
//!
//! Windows start at multiples of the target interval from the Unix epoch (UTC), weeks
//! on Mondays; each output bar is labelled with its window's start and takes the first
//! open, the highest high, the lowest low, the last close and the summed volume and
//! amount of the bars inside it. The last window may be partial (the bar still forming).

use chrono::{DateTime, Utc};
use polars::prelude::*;

use kronos_types::{Candle, Interval};

use crate::error::{Error, Result};
use crate::frame::candles_frame;

/// Whether `from` bars can be resampled into `to` bars (`to` a whole multiple of `from`).
pub fn can_resample(from: Interval, to: Interval) -> bool {
    let (f, t) = (from.duration().num_seconds(), to.duration().num_seconds());
    t > f && t % f == 0
}

/// Resamples `candles` (oldest first, `from` interval) into `to` bars.
pub fn resample(candles: &[Candle], from: Interval, to: Interval) -> Result<Vec<Candle>> {
    if !can_resample(from, to) {
        return Err(Error::invalid("interval", format!("cannot resample {from} bars into {to} bars")));
    }
    if candles.is_empty() {
        return Ok(Vec::new());
    }
    let frame = candles_frame(candles)?;
    let every = polars::prelude::Duration::parse(to.as_str());
    let options = DynamicGroupOptions {
        every,
        period: every,
        offset: polars::prelude::Duration::parse("0s"),
        label: Label::Left,
        include_boundaries: false,
        closed_window: ClosedWindow::Left,
        start_by: if to == Interval::W1 { StartBy::Monday } else { StartBy::WindowBound },
        ..Default::default()
    };
    let out = frame
        .lazy()
        .with_column(col("ts").cast(DataType::Datetime(TimeUnit::Milliseconds, None)))
        .sort(["ts"], Default::default())
        .group_by_dynamic(col("ts"), [], options)
        .agg([
            col("open").first(),
            col("high").max(),
            col("low").min(),
            col("close").last(),
            col("volume").sum(),
            col("amount").sum(),
        ])
        .with_column(col("ts").cast(DataType::Int64))
        .collect()?;
    let ts = out.column("ts")?.i64()?.clone();
    let f = |name: &str| -> Result<Vec<f64>> {
        Ok(out.column(name)?.f64()?.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    };
    let (open, high, low, close, volume, amount) =
        (f("open")?, f("high")?, f("low")?, f("close")?, f("volume")?, f("amount")?);
    ts.into_iter()
        .enumerate()
        .map(|(i, t)| {
            let ts = t
                .and_then(DateTime::<Utc>::from_timestamp_millis)
                .ok_or_else(|| Error::Data("resampled bar without a time".into()))?;
            Ok(Candle {
                ts,
                open: open[i],
                high: high[i],
                low: low[i],
                close: close[i],
                volume: volume[i],
                amount: amount[i],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn minute_bars(start: DateTime<Utc>, n: usize) -> Vec<Candle> {
        (0..n)
            .map(|i| {
                let p = 100.0 + i as f64;
                Candle {
                    ts: start + Duration::minutes(i as i64),
                    open: p,
                    high: p + 0.5,
                    low: p - 0.5,
                    close: p + 0.25,
                    volume: 1.0,
                    amount: p,
                }
            })
            .collect()
    }

    #[test]
    fn five_minute_bars_from_minutes() {
        let start = Utc.with_ymd_and_hms(2024, 3, 1, 9, 32, 0).unwrap();
        let bars = resample(&minute_bars(start, 10), Interval::M1, Interval::M5).unwrap();
        // windows 09:30 (3 bars: :32-:34), 09:35 (5 bars), 09:40 (2 bars)
        assert_eq!(bars.len(), 3);
        assert_eq!(bars[0].ts, Utc.with_ymd_and_hms(2024, 3, 1, 9, 30, 0).unwrap());
        assert_eq!((bars[0].open, bars[0].high, bars[0].low, bars[0].close), (100.0, 102.5, 99.5, 102.25));
        assert_eq!(bars[0].volume, 3.0);
        assert_eq!(bars[1].open, 103.0);
        assert_eq!(bars[1].close, 107.25);
        assert_eq!(bars[1].amount, 103.0 + 104.0 + 105.0 + 106.0 + 107.0);
        assert_eq!(bars[2].volume, 2.0);
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2024-03-06 is a Wednesday
        let start = Utc.with_ymd_and_hms(2024, 3, 6, 0, 0, 0).unwrap();
        let days: Vec<Candle> =
            (0..10).map(|i| Candle { ts: start + Duration::days(i), ..minute_bars(start, 1)[0] }).collect();
        let weeks = resample(&days, Interval::D1, Interval::W1).unwrap();
        assert_eq!(weeks.len(), 2);
        assert_eq!(weeks[0].ts, Utc.with_ymd_and_hms(2024, 3, 4, 0, 0, 0).unwrap());
        assert_eq!(weeks[0].volume, 5.0); // Wed..Sun
        assert_eq!(weeks[1].ts, Utc.with_ymd_and_hms(2024, 3, 11, 0, 0, 0).unwrap());
    }

    #[test]
    fn refuses_finer_or_uneven_targets() {
        assert!(resample(&[], Interval::H1, Interval::M5).is_err());
        assert!(resample(&[], Interval::M15, Interval::M5).is_err());
        assert!(can_resample(Interval::M15, Interval::H1));
        assert!(can_resample(Interval::H4, Interval::D1));
        assert!(!can_resample(Interval::D1, Interval::D1));
    }
}
