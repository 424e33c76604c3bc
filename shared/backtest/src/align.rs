//! Puts a portfolio's series on common bar times with polars: an inner join on the bar
//! time, so the portfolio trades only bars where every asset has one (a stock and a
//! coin meet on the stock's trading days). Forecasts travel with their bars.

use polars::prelude::*;

use super::{walk_forward::ModelForecasts, Bars, Series};
use crate::error::{Error, Result};

const FIELDS: [&str; 6] = ["open", "high", "low", "close", "prob_up", "expected_return"];

/// The series restricted to the bar times they all share, oldest first.
pub fn align(series: Vec<Series>) -> Result<Vec<Series>> {
    if series.len() < 2 {
        return Ok(series);
    }
    let mut joined: Option<LazyFrame> = None;
    for (i, s) in series.iter().enumerate() {
        let frame = frame_of(i, s)?.lazy();
        joined = Some(match joined {
            None => frame,
            Some(left) => left.join(frame, [col("time")], [col("time")], JoinArgs::new(JoinType::Inner)),
        });
    }
    let Some(joined) = joined else { return Ok(series) };
    let df = joined.sort(["time"], SortMultipleOptions::default()).collect()?;
    if df.height() == 0 {
        return Err(Error::invalid("symbols", "the assets share no bar times in this range"));
    }
    let time: Vec<i64> = df.column("time")?.i64()?.into_no_null_iter().collect();
    series
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let get = |field: &str| -> Result<Vec<f64>> {
                Ok(df.column(&format!("{field}_{i}"))?.f64()?.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
            };
            let forecasts = match s.forecasts {
                Some(_) => Some(ModelForecasts { prob_up: get("prob_up")?, expected_return: get("expected_return")? }),
                None => None,
            };
            let bars = Bars {
                time: time.clone(),
                open: get("open")?,
                high: get("high")?,
                low: get("low")?,
                close: get("close")?,
            };
            Ok(Series { symbol: s.symbol, bars, forecasts })
        })
        .collect()
}

fn frame_of(i: usize, s: &Series) -> Result<DataFrame> {
    let b = &s.bars;
    let nan = vec![f64::NAN; b.len()];
    let (prob_up, expected) = match &s.forecasts {
        Some(f) => (&f.prob_up, &f.expected_return),
        None => (&nan, &nan),
    };
    let mut columns = vec![Column::new("time".into(), &b.time)];
    for (field, values) in FIELDS.iter().zip([&b.open, &b.high, &b.low, &b.close, prob_up, expected]) {
        columns.push(Column::new(format!("{field}_{i}").into(), values));
    }
    Ok(DataFrame::new(columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(symbol: &str, times: &[i64]) -> Series {
        let v: Vec<f64> = times.iter().map(|t| *t as f64).collect();
        Series {
            symbol: symbol.into(),
            bars: Bars { time: times.to_vec(), open: v.clone(), high: v.clone(), low: v.clone(), close: v },
            forecasts: None,
        }
    }

    #[test]
    fn keeps_the_shared_bar_times_in_order() {
        let mut a = series("A", &[1, 2, 3, 5, 6]);
        a.forecasts = Some(ModelForecasts { prob_up: vec![0.1, 0.2, 0.3, 0.5, 0.6], expected_return: vec![0.0; 5] });
        let b = series("B", &[2, 3, 4, 6]);
        let out = align(vec![a, b]).unwrap();
        assert_eq!(out[0].bars.time, vec![2, 3, 6]);
        assert_eq!(out[1].bars.close, vec![2.0, 3.0, 6.0]);
        assert_eq!(out[0].forecasts.as_ref().unwrap().prob_up, vec![0.2, 0.3, 0.6]);
        assert!(out[1].forecasts.is_none());
        assert!(align(vec![series("A", &[1]), series("B", &[2])]).is_err());
    }
}
