//! Candle import from CSV or Parquet files (gzip allowed), with polars.
//!
//! Accepts the spellings of the bundled demo files: a time column named
//! `date`/`datetime`/`timestamp(s)`/`time` in any case, or unnamed first column;
//! `open/high/low/close` in any case; optional `volume` and `amount`; an optional
//! `ticker`/`symbol` column for long files holding several series. Rows that fail
//! validation are reported with their row numbers and not returned.

use std::{collections::BTreeMap, io::Read, path::Path};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use polars::prelude::*;

use crate::error::{Error, Result};
use kronos_types::{catalogue::valid_symbol, rfc3339, Candle, Interval, RejectedRow};

/// The result of parsing a file.
#[derive(Debug, Default)]
pub struct ParsedCandles {
    /// Valid candles by symbol, sorted by time, duplicates of a time resolved to the last row.
    pub series: BTreeMap<String, Vec<Candle>>,
    /// Rows that failed validation.
    pub rejected: Vec<RejectedRow>,
    /// Data rows read.
    pub rows_read: usize,
}

const TIME_NAMES: [&str; 6] = ["date", "datetime", "timestamp", "timestamps", "time", "open_time"];
const TICKER_NAMES: [&str; 2] = ["ticker", "symbol"];

/// Parses a CSV or Parquet file (by extension; `.gz` is decompressed).
/// `symbol` names the series of a file without a ticker column; with `interval`, rows
/// whose time is not a bar start of it are refused (as refresh jobs refuse them).
pub fn parse_file(path: &Path, symbol: Option<&str>, interval: Option<Interval>) -> Result<ParsedCandles> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_lowercase();
    let raw = std::fs::read(path).map_err(|e| Error::Data(format!("cannot read {}: {e}", path.display())))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| Error::Data(format!("cannot decompress {}: {e}", path.display())))?;
        out
    } else {
        raw
    };
    let frame = if name.trim_end_matches(".gz").ends_with(".parquet") {
        ParquetReader::new(std::io::Cursor::new(bytes)).finish()?
    } else {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .into_reader_with_file_handle(std::io::Cursor::new(bytes))
            .finish()?
    };
    parse_frame(frame, symbol, interval)
}

/// Parses an already-loaded frame (see [`parse_file`]).
pub fn parse_frame(frame: DataFrame, symbol: Option<&str>, interval: Option<Interval>) -> Result<ParsedCandles> {
    if let Some(s) = symbol.filter(|s| !valid_symbol(&s.to_ascii_uppercase())) {
        return Err(Error::invalid(
            "symbol",
            format!("{s:?} is not a symbol (1 to 32 letters, digits or . - _ / ^ =)"),
        ));
    }
    let columns: Vec<String> = frame.get_column_names().iter().map(|c| c.to_string()).collect();
    let find =
        |names: &[&str]| columns.iter().find(|c| names.contains(&c.trim().to_ascii_lowercase().as_str())).cloned();
    let time_col = find(&TIME_NAMES)
        .or_else(|| {
            columns
                .first()
                .filter(|c| c.trim().is_empty() || c.starts_with("column_") || c.as_str() == "__index_level_0__")
                .cloned()
        })
        .ok_or_else(|| {
            Error::invalid("file", format!("no time column (expected one of {TIME_NAMES:?}); columns: {columns:?}"))
        })?;
    let price = |name: &str| -> Result<Option<Vec<Option<f64>>>> {
        match find(&[name]) {
            None => Ok(None),
            Some(col) => Ok(Some(floats(frame.column(&col)?)?)),
        }
    };
    let required = |name: &str| -> Result<Vec<Option<f64>>> {
        price(name)?.ok_or_else(|| Error::invalid("file", format!("missing column {name:?}; columns: {columns:?}")))
    };
    let open = required("open")?;
    let high = required("high")?;
    let low = required("low")?;
    let close = required("close")?;
    let volume = price("volume")?;
    let amount = price("amount")?;
    let times = timestamps(frame.column(&time_col)?)?;
    let tickers: Option<Vec<Option<String>>> = match find(&TICKER_NAMES) {
        Some(col) => Some(
            frame
                .column(&col)?
                .cast(&DataType::String)?
                .str()?
                .into_iter()
                .map(|s| s.map(|s| s.trim().to_ascii_uppercase()))
                .collect(),
        ),
        None => None,
    };
    if tickers.is_none() && symbol.is_none() {
        return Err(Error::invalid("symbol", "the file has no ticker column: give --symbol"));
    }

    let mut parsed = ParsedCandles { rows_read: frame.height(), ..Default::default() };
    let mut by_symbol: BTreeMap<String, Vec<(usize, Candle)>> = BTreeMap::new();
    let raw = |i: usize| -> serde_json::Value {
        let fields = frame.get_columns().iter().map(|c| {
            let text = c.get(i).map(|v| v.to_string()).unwrap_or_default();
            // the raw text is kept for people to read; NUL cannot be stored in PostgreSQL
            let text = text.trim_matches('"').replace('\0', "\u{FFFD}");
            (c.name().to_string().replace('\0', "\u{FFFD}"), serde_json::Value::String(text))
        });
        serde_json::Value::Object(fields.collect())
    };
    for i in 0..frame.height() {
        let row = i + 1;
        let symbol_of = |i: usize| match (&tickers, symbol) {
            (Some(t), _) => t[i].clone().filter(|s| valid_symbol(s)),
            (None, s) => s.map(str::to_ascii_uppercase),
        };
        let ts_of = |i: usize| times[i].as_ref().ok().copied();
        let reject = |reason: String| RejectedRow { row, reason, symbol: symbol_of(i), ts: ts_of(i), raw: raw(i) };
        let series = match (&tickers, symbol) {
            (Some(t), _) => match &t[i] {
                Some(s) if valid_symbol(s) => s.clone(),
                Some(s) if !s.is_empty() => {
                    let shown: String =
                        s.chars().take(40).map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect();
                    parsed.rejected.push(reject(format!(
                        "ticker {shown:?} is not a symbol (1 to 32 letters, digits or . - _ / ^ =)"
                    )));
                    continue;
                }
                _ => {
                    parsed.rejected.push(reject("ticker is missing".into()));
                    continue;
                }
            },
            (None, Some(s)) => s.to_ascii_uppercase(),
            (None, None) => unreachable!("checked above"),
        };
        let ts = match &times[i] {
            Ok(ts) => *ts,
            Err(e) => {
                parsed.rejected.push(reject(e.clone()));
                continue;
            }
        };
        let (Some(o), Some(h), Some(l), Some(c)) = (open[i], high[i], low[i], close[i]) else {
            parsed.rejected.push(reject("a price (open/high/low/close) is missing or not a number".into()));
            continue;
        };
        let v = volume.as_ref().map_or(Some(0.0), |v| v[i]);
        let a = amount.as_ref().map_or(Some(0.0), |a| a[i]);
        let (Some(v), Some(a)) = (v, a) else {
            parsed.rejected.push(reject("volume or amount is not a number".into()));
            continue;
        };
        let candle = Candle { ts, open: o, high: h, low: l, close: c, volume: v, amount: a };
        let reason = match interval {
            Some(interval) => candle.validation_error_for(interval),
            None => candle.validation_error(),
        };
        if let Some(reason) = reason {
            parsed.rejected.push(reject(reason));
            continue;
        }
        by_symbol.entry(series).or_default().push((row, candle));
    }
    for (series, mut rows) in by_symbol {
        // by time, then row: of several rows with one timestamp the last one wins, and
        // the earlier ones are reported, not dropped silently
        if !rows.windows(2).all(|w| w[0].1.ts < w[1].1.ts) {
            rows.sort_by_key(|(row, c)| (c.ts, *row));
        }
        let mut kept: Vec<Candle> = Vec::with_capacity(rows.len());
        for k in 0..rows.len() {
            let (row, candle) = rows[k];
            match rows.get(k + 1) {
                Some((later, next)) if next.ts == candle.ts => parsed.rejected.push(RejectedRow {
                    row,
                    reason: format!("duplicate timestamp {} (row {later} kept)", rfc3339(candle.ts)),
                    symbol: Some(series.clone()),
                    ts: Some(candle.ts),
                    raw: raw(row - 1),
                }),
                _ => kept.push(candle),
            }
        }
        parsed.series.insert(series, kept);
    }
    parsed.rejected.sort_by_key(|r| r.row);
    Ok(parsed)
}

pub(crate) fn floats(column: &Column) -> Result<Vec<Option<f64>>> {
    let cast = match column.dtype() {
        DataType::String => column.str()?.into_iter().map(|s| s.and_then(parse_number)).collect(),
        _ => column.cast(&DataType::Float64)?.f64()?.into_iter().collect(),
    };
    Ok(cast)
}

/// A decimal, allowing thousands separators (`1,234.5`).
fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.contains(',') {
        s.replace(',', "").parse().ok()
    } else {
        s.parse().ok()
    }
}

pub(crate) fn timestamps(column: &Column) -> Result<Vec<std::result::Result<DateTime<Utc>, String>>> {
    let missing = || Err("time is missing".to_owned());
    Ok(match column.dtype() {
        DataType::String => {
            column.str()?.into_iter().map(|s| s.map_or_else(missing, |s| parse_time(s.trim()))).collect()
        }
        DataType::Datetime(unit, _) => {
            let per_second = match unit {
                TimeUnit::Milliseconds => 1_000,
                TimeUnit::Microseconds => 1_000_000,
                TimeUnit::Nanoseconds => 1_000_000_000,
            };
            column
                .cast(&DataType::Int64)?
                .i64()?
                .into_iter()
                .map(|v| v.map_or_else(missing, |v| from_epoch(v, per_second)))
                .collect()
        }
        DataType::Date => column
            .cast(&DataType::Int32)?
            .i32()?
            .into_iter()
            .map(|v| v.map_or_else(missing, |d| from_epoch(i64::from(d) * 86_400, 1)))
            .collect(),
        _ => {
            column.cast(&DataType::Int64)?.i64()?.into_iter().map(|v| v.map_or_else(missing, epoch_any_unit)).collect()
        }
    })
}

fn from_epoch(value: i64, per_second: i64) -> std::result::Result<DateTime<Utc>, String> {
    let secs = value.div_euclid(per_second);
    let nanos = value.rem_euclid(per_second) * (1_000_000_000 / per_second);
    Utc.timestamp_opt(secs, nanos as u32).single().ok_or_else(|| format!("time {value} is out of range"))
}

/// Epoch numbers in seconds, milliseconds or microseconds, told apart by magnitude.
fn epoch_any_unit(v: i64) -> std::result::Result<DateTime<Utc>, String> {
    match v.abs() {
        0..=99_999_999_999 => from_epoch(v, 1),
        100_000_000_000..=99_999_999_999_999 => from_epoch(v, 1_000),
        _ => from_epoch(v, 1_000_000),
    }
}

/// Parses the time spellings of the demo files and exchanges.
/// `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS`, optionally followed by `Z`: the
/// common layout read digit by digit (chrono's format parser took most of an import's
/// parse time). Anything else (fractions, offsets, other layouts) returns `None` and
/// goes through the general parsers.
fn plain_iso(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let b = match b.len() {
        19 => b,
        20 if b[19] == b'Z' => &b[..19],
        _ => return None,
    };
    if b[4] != b'-' || b[7] != b'-' || !(b[10] == b' ' || b[10] == b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    Some(date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?.and_utc())
}

pub fn parse_time(s: &str) -> std::result::Result<DateTime<Utc>, String> {
    if s.is_empty() {
        return Err("time is missing".into());
    }
    if let Some(t) = plain_iso(s) {
        return Ok(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    const DATETIME: [&str; 7] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%d.%m.%Y %H:%M:%S%.f",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
        "%Y/%m/%d %H:%M:%S",
    ];
    for f in DATETIME {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(t.and_utc());
        }
    }
    for f in ["%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).ok_or("bad date")?);
        }
    }
    if let Ok(n) = s.parse::<i64>() {
        return epoch_any_unit(n);
    }
    Err(format!("cannot read time {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str, symbol: Option<&str>) -> ParsedCandles {
        let dir = std::env::temp_dir().join(format!("kronos-import-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.csv");
        std::fs::write(&path, text).unwrap();
        parse_file(&path, symbol, None).unwrap()
    }

    #[test]
    fn reads_unnamed_time_column_and_any_case() {
        let p =
            csv(",Open,High,Low,Close,Volume\n2013-01-02,10,12,9,11,100\n2013-01-03,11,13,10,12,200\n", Some("goog"));
        let s = &p.series["GOOG"];
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].close, 12.0);
        assert_eq!(s[0].ts.to_rfc3339(), "2013-01-02T00:00:00+00:00");
        assert!(p.rejected.is_empty());
    }

    #[test]
    fn long_format_splits_by_ticker_and_reports_bad_rows() {
        let p = csv(
            "Ticker,Date,Open,High,Low,Close,Volume,Adj Close\n\
             AAPL,2000-03-01,10,12,9,11,100,1\n\
             IBM,2000-03-01,20,22,19,21,100,1\n\
             AAPL,2000-03-02,10,8,9,9,100,1\n\
             IBM,2000-03-02,,22,19,21,100,1\n\
             IBM,2000-03-03,-1,22,19,21,100,1\n",
            None,
        );
        assert_eq!(p.series["AAPL"].len(), 1);
        assert_eq!(p.series["IBM"].len(), 1);
        let rows: Vec<usize> = p.rejected.iter().map(|r| r.row).collect();
        assert_eq!(rows, vec![3, 4, 5]);
        assert!(p.rejected[0].reason.contains("below low"), "{:?}", p.rejected[0]);
        assert!(p.rejected[1].reason.contains("missing"), "{:?}", p.rejected[1]);
        assert!(p.rejected[2].reason.contains("positive"), "{:?}", p.rejected[2]);
    }

    #[test]
    fn time_formats_of_the_demo_files() {
        assert_eq!(parse_time("1/4/1999").unwrap().to_rfc3339(), "1999-01-04T00:00:00+00:00");
        assert_eq!(parse_time("02.01.2017 22:00:00.000").unwrap().to_rfc3339(), "2017-01-02T22:00:00+00:00");
        assert_eq!(parse_time("2017-04-19 09:00:00").unwrap().to_rfc3339(), "2017-04-19T09:00:00+00:00");
        assert_eq!(parse_time("1700000000000").unwrap().to_rfc3339(), "2023-11-14T22:13:20+00:00");
        assert!(parse_time("yesterday").is_err());
        // the digit-by-digit layout agrees with chrono and refuses impossible dates
        for s in ["2024-02-29 23:59:59", "2024-02-29T23:59:59", "2024-02-29T23:59:59Z", "1999-12-31 00:00:00"] {
            let want = NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%d %H:%M:%S")
                .or_else(|_| NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S"))
                .unwrap()
                .and_utc();
            assert_eq!(plain_iso(s), Some(want), "{s}");
        }
        for s in ["2023-02-29 00:00:00", "2024-13-01 00:00:00", "2024-01-01 24:00:00", "2024-01-01 0a:00:00"] {
            assert_eq!(plain_iso(s), None, "{s}");
            assert!(parse_time(s).is_err(), "{s}");
        }
        assert_eq!(parse_time("2024-01-01 10:00:00.500").unwrap().timestamp_subsec_millis(), 500);
    }

    #[test]
    fn missing_symbol_for_single_series_file_is_an_error() {
        let dir = std::env::temp_dir().join(format!("kronos-import-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.csv");
        std::fs::write(&path, "date,open,high,low,close\n2020-01-01,1,1,1,1\n").unwrap();
        let err = parse_file(&path, None, None).unwrap_err();
        assert!(err.to_string().contains("--symbol"), "{err}");
    }

    #[test]
    fn reads_parquet_with_datetime_column() {
        let ts = Series::new("timestamps".into(), [1_700_000_000_000i64, 1_700_000_060_000])
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .unwrap();
        let mut df = DataFrame::new(vec![
            ts.into(),
            Column::new("OPEN".into(), [1.0f64, 2.0]),
            Column::new("HIGH".into(), [1.5f64, 2.5]),
            Column::new("LOW".into(), [0.5f64, 1.5]),
            Column::new("CLOSE".into(), [1.2f64, 2.2]),
            Column::new("amount".into(), [10.0f64, 20.0]),
        ])
        .unwrap();
        let dir = std::env::temp_dir().join(format!("kronos-import-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("btc.parquet");
        ParquetWriter::new(std::fs::File::create(&path).unwrap()).finish(&mut df).unwrap();
        let p = parse_file(&path, Some("btcusdt"), None).unwrap();
        let s = &p.series["BTCUSDT"];
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].ts.to_rfc3339(), "2023-11-14T22:14:20+00:00");
        assert_eq!((s[1].close, s[1].volume, s[1].amount), (2.2, 0.0, 20.0));
    }
}
