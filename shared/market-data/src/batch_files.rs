//! The files of bulk batches (polars): long-format uploads read and checked per
//! series, chunk files of checked series, result rows and error rows written as
//! Parquet, and results turned into CSV.
//!
//! Long format: one row per series and bar, columns `series_id`, `ts` (or another
//! time column name the importer knows), `open`, `high`, `low`, `close`, and optional
//! `volume` and `amount`; rows of a series in any order.

use std::{collections::HashMap, io::Read};

use chrono::{DateTime, TimeZone, Utc};
use polars::prelude::*;

use crate::{
    error::{Error, Result},
    import::{floats, timestamps},
};
use kronos_types::{
    batches::{check_series_id, SeriesError},
    Candle, Interval,
};

/// A series that passed every check: its id and its latest bars, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSeries {
    /// The client's id.
    pub id: String,
    /// Bars, oldest first.
    pub candles: Vec<Candle>,
}

/// What reading an upload gave.
#[derive(Debug, Default)]
pub struct ReadBatch {
    /// Good series, in the order of their first row.
    pub series: Vec<BatchSeries>,
    /// Bad series (and rows without a series id), each with the row at fault.
    pub errors: Vec<SeriesError>,
    /// Data rows read.
    pub rows: usize,
}

/// How the series of an upload are checked.
#[derive(Debug, Clone, Copy)]
pub struct SeriesRules {
    /// Every bar's interval (times must be on its grid).
    pub interval: Interval,
    /// Fewest bars a series needs.
    pub min_history: usize,
    /// Most bars kept per series (the latest).
    pub context: usize,
}

/// Upload formats of the long-format reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongFormat {
    /// Comma-separated with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// Decompresses gzip (by its magic bytes; concatenated members allowed).
pub fn gunzip_if_needed(raw: Vec<u8>) -> Result<Vec<u8>> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| Error::invalid("file", format!("the gzip stream is broken: {e}")))?;
    Ok(out)
}

/// The format of an upload's (decompressed) bytes: Parquet by its magic, else CSV.
pub fn sniff(bytes: &[u8]) -> LongFormat {
    if bytes.starts_with(b"PAR1") {
        LongFormat::Parquet
    } else {
        LongFormat::Csv
    }
}

/// Reads a long-format upload and checks every series against `rules`.
pub fn read_long(bytes: Vec<u8>, format: LongFormat, rules: SeriesRules) -> Result<ReadBatch> {
    let frame = match format {
        LongFormat::Parquet => ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .map_err(|e| Error::invalid("file", format!("not a readable Parquet file: {e}")))?,
        LongFormat::Csv => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .into_reader_with_file_handle(std::io::Cursor::new(bytes))
            .finish()
            .map_err(|e| Error::invalid("file", format!("not a readable CSV file: {e}")))?,
    };
    read_frame(&frame, rules)
}

const ID_NAMES: [&str; 3] = ["series_id", "series", "id"];
const TIME_NAMES: [&str; 6] = ["ts", "timestamp", "time", "date", "datetime", "timestamps"];

fn read_frame(frame: &DataFrame, rules: SeriesRules) -> Result<ReadBatch> {
    let columns: Vec<String> = frame.get_column_names().iter().map(|c| c.to_string()).collect();
    let find =
        |names: &[&str]| columns.iter().find(|c| names.contains(&c.trim().to_ascii_lowercase().as_str())).cloned();
    let missing = |what: &str| Error::invalid("file", format!("missing column {what}; columns: {columns:?}"));
    let id_col = find(&ID_NAMES).ok_or_else(|| missing("series_id"))?;
    let time_col = find(&TIME_NAMES).ok_or_else(|| missing("ts"))?;
    let required = |name: &str| -> Result<Vec<Option<f64>>> {
        floats(frame.column(&find(&[name]).ok_or_else(|| missing(name))?)?)
    };
    let optional = |name: &str| -> Result<Option<Vec<Option<f64>>>> {
        find(&[name]).map(|c| floats(frame.column(&c)?)).transpose()
    };
    let (open, high, low, close) = (required("open")?, required("high")?, required("low")?, required("close")?);
    let (volume, amount) = (optional("volume")?, optional("amount")?);
    let times = timestamps(frame.column(&time_col)?)?;
    let ids: Vec<Option<String>> =
        frame.column(&id_col)?.cast(&DataType::String)?.str()?.into_iter().map(|s| s.map(str::to_owned)).collect();

    let mut out = ReadBatch { rows: frame.height(), ..Default::default() };
    // rows per series in first-seen order; a series with a bad row is reported once
    let mut order: Vec<String> = Vec::new();
    let mut rows_of: HashMap<String, Vec<(u64, Candle)>> = HashMap::new();
    let mut bad: HashMap<String, SeriesError> = HashMap::new();
    for i in 0..frame.height() {
        let row = i as u64 + 1;
        let id = match ids[i].as_deref().map(check_series_id_owned) {
            Some(Ok(id)) => id,
            Some(Err(reason)) => {
                out.errors.push(SeriesError { series_id: shown_id(ids[i].as_deref()), row: Some(row), reason });
                continue;
            }
            None => {
                out.errors.push(SeriesError {
                    series_id: String::new(),
                    row: Some(row),
                    reason: "series_id is missing".into(),
                });
                continue;
            }
        };
        if !rows_of.contains_key(&id) && !bad.contains_key(&id) {
            order.push(id.clone());
            rows_of.insert(id.clone(), Vec::new());
        }
        if bad.contains_key(&id) {
            continue;
        }
        let candle = match &times[i] {
            Err(reason) => Err(reason.clone()),
            Ok(ts) => {
                let candle = Candle {
                    ts: *ts,
                    open: open[i].unwrap_or(f64::NAN),
                    high: high[i].unwrap_or(f64::NAN),
                    low: low[i].unwrap_or(f64::NAN),
                    close: close[i].unwrap_or(f64::NAN),
                    volume: volume.as_ref().map_or(0.0, |v| v[i].unwrap_or(f64::NAN)),
                    amount: amount.as_ref().map_or(0.0, |v| v[i].unwrap_or(f64::NAN)),
                };
                candle.validation_error_for(rules.interval).map_or(Ok(candle), Err)
            }
        };
        match candle {
            Ok(candle) => rows_of.entry(id).or_default().push((row, candle)),
            Err(reason) => {
                rows_of.remove(&id);
                bad.insert(id.clone(), SeriesError { series_id: id, row: Some(row), reason });
            }
        }
    }
    for id in order {
        if let Some(error) = bad.remove(&id) {
            out.errors.push(error);
            continue;
        }
        let Some(mut rows) = rows_of.remove(&id) else { continue };
        rows.sort_by_key(|(_, c)| c.ts);
        if let Some(pair) = rows.windows(2).find(|w| w[0].1.ts == w[1].1.ts) {
            let row = pair[0].0.max(pair[1].0);
            let reason = format!(
                "time {} appears twice (rows {} and {})",
                kronos_types::rfc3339(pair[1].1.ts),
                pair[0].0,
                pair[1].0
            );
            out.errors.push(SeriesError { series_id: id, row: Some(row), reason });
            continue;
        }
        if rows.len() < rules.min_history {
            let reason = format!("{} bars; this forecast needs at least {}", rows.len(), rules.min_history);
            out.errors.push(SeriesError { series_id: id, row: None, reason });
            continue;
        }
        let keep = rows.len().saturating_sub(rules.context);
        out.series.push(BatchSeries { id, candles: rows.into_iter().skip(keep).map(|(_, c)| c).collect() });
    }
    Ok(out)
}

fn check_series_id_owned(id: &str) -> std::result::Result<String, String> {
    let id = id.trim();
    check_series_id(id).map(|()| id.to_owned())
}

/// A bad id as it can be shown: at most 128 characters, control characters replaced.
fn shown_id(id: Option<&str>) -> String {
    id.unwrap_or_default().chars().take(128).map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect()
}

/// Checks inline series (a JSON batch) with the rules of uploads; `row` is the bar's
/// 1-based position in its series.
pub fn check_inline(series: Vec<(String, Vec<Candle>)>, rules: SeriesRules) -> ReadBatch {
    let mut out = ReadBatch::default();
    for (id, candles) in series {
        out.rows += candles.len();
        let fault = candles.iter().enumerate().find_map(|(i, c)| {
            let reason = c.validation_error_for(rules.interval).or_else(|| {
                (i > 0 && c.ts <= candles[i - 1].ts).then(|| "times must be strictly increasing".to_owned())
            });
            reason.map(|r| (i as u64 + 1, r))
        });
        if let Some((row, reason)) = fault {
            out.errors.push(SeriesError { series_id: id, row: Some(row), reason });
        } else if candles.len() < rules.min_history {
            let reason = format!("{} bars; this forecast needs at least {}", candles.len(), rules.min_history);
            out.errors.push(SeriesError { series_id: id, row: None, reason });
        } else {
            let keep = candles.len().saturating_sub(rules.context);
            out.series.push(BatchSeries { id, candles: candles.into_iter().skip(keep).collect() });
        }
    }
    out
}

fn parquet_bytes(frame: &mut DataFrame) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    ParquetWriter::new(&mut out).with_compression(ParquetCompression::Zstd(None)).finish(frame)?;
    Ok(out)
}

fn micros(ts: DateTime<Utc>) -> i64 {
    ts.timestamp_micros()
}

fn from_micros(v: i64) -> Result<DateTime<Utc>> {
    Utc.timestamp_micros(v).single().ok_or_else(|| Error::Data(format!("time {v} is out of range")))
}

fn time_column(name: &str, values: Vec<i64>) -> Result<Column> {
    Ok(Column::new(name.into(), values)
        .cast(&DataType::Datetime(TimeUnit::Microseconds, Some(polars::prelude::TimeZone::UTC)))?)
}

/// A chunk file: the checked series of one chunk job, long format, Parquet.
pub fn write_chunk(series: &[BatchSeries]) -> Result<Vec<u8>> {
    let rows: usize = series.iter().map(|s| s.candles.len()).sum();
    let mut ids = Vec::with_capacity(rows);
    let mut ts = Vec::with_capacity(rows);
    let mut cols: [Vec<f64>; 6] = Default::default();
    for s in series {
        for c in &s.candles {
            ids.push(s.id.as_str());
            ts.push(micros(c.ts));
            for (col, v) in cols.iter_mut().zip([c.open, c.high, c.low, c.close, c.volume, c.amount]) {
                col.push(v);
            }
        }
    }
    let [open, high, low, close, volume, amount] = cols;
    let mut frame = DataFrame::new(vec![
        Column::new("series_id".into(), ids),
        time_column("ts", ts)?,
        Column::new("open".into(), open),
        Column::new("high".into(), high),
        Column::new("low".into(), low),
        Column::new("close".into(), close),
        Column::new("volume".into(), volume),
        Column::new("amount".into(), amount),
    ])?;
    parquet_bytes(&mut frame)
}

/// Reads a chunk file back (series in the order written).
pub fn read_chunk(bytes: Vec<u8>) -> Result<Vec<BatchSeries>> {
    let frame = ParquetReader::new(std::io::Cursor::new(bytes)).finish()?;
    let ids = frame.column("series_id")?.str()?.clone();
    let ts = frame.column("ts")?.cast(&DataType::Int64)?;
    let ts = ts.i64()?;
    let get = |name: &str| -> Result<Vec<f64>> {
        Ok(frame.column(name)?.f64()?.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    };
    let (open, high, low, close, volume, amount) =
        (get("open")?, get("high")?, get("low")?, get("close")?, get("volume")?, get("amount")?);
    let mut out: Vec<BatchSeries> = Vec::new();
    for i in 0..frame.height() {
        let id = ids.get(i).unwrap_or_default();
        let candle = Candle {
            ts: from_micros(ts.get(i).unwrap_or_default())?,
            open: open[i],
            high: high[i],
            low: low[i],
            close: close[i],
            volume: volume[i],
            amount: amount[i],
        };
        match out.last_mut() {
            Some(last) if last.id == id => last.candles.push(candle),
            _ => out.push(BatchSeries { id: id.to_owned(), candles: vec![candle] }),
        }
    }
    Ok(out)
}

/// One forecast step of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    /// The series.
    pub series_id: String,
    /// 1-based step.
    pub step: u32,
    /// The bar's time.
    pub ts: DateTime<Utc>,
    /// Mean-path close.
    pub forecast: f64,
    /// Close quantiles across sample paths.
    pub p10: f64,
    /// Median close.
    pub p50: f64,
    /// 90th percentile close.
    pub p90: f64,
    /// Probability the final close ends above the last observed close (one per series).
    pub prob_up: f64,
}

/// Result rows as Parquet (`series_id, step, ts, forecast, p10, p50, p90, prob_up`).
pub fn write_results(rows: &[ResultRow]) -> Result<Vec<u8>> {
    let mut frame = results_frame(rows)?;
    parquet_bytes(&mut frame)
}

fn results_frame(rows: &[ResultRow]) -> Result<DataFrame> {
    let ts: Vec<i64> = rows.iter().map(|r| micros(r.ts)).collect();
    let f = |pick: fn(&ResultRow) -> f64| -> Vec<f64> { rows.iter().map(pick).collect() };
    Ok(DataFrame::new(vec![
        Column::new("series_id".into(), rows.iter().map(|r| r.series_id.as_str()).collect::<Vec<_>>()),
        Column::new("step".into(), rows.iter().map(|r| r.step).collect::<Vec<_>>()),
        time_column("ts", ts)?,
        Column::new("forecast".into(), f(|r| r.forecast)),
        Column::new("p10".into(), f(|r| r.p10)),
        Column::new("p50".into(), f(|r| r.p50)),
        Column::new("p90".into(), f(|r| r.p90)),
        Column::new("prob_up".into(), f(|r| r.prob_up)),
    ])?)
}

/// Reads result rows back.
pub fn read_results(bytes: Vec<u8>) -> Result<Vec<ResultRow>> {
    let frame = ParquetReader::new(std::io::Cursor::new(bytes)).finish()?;
    let ids = frame.column("series_id")?.str()?.clone();
    let steps = frame.column("step")?.cast(&DataType::UInt32)?;
    let steps = steps.u32()?;
    let ts = frame.column("ts")?.cast(&DataType::Int64)?;
    let ts = ts.i64()?;
    let get = |name: &str| -> Result<Vec<f64>> {
        Ok(frame.column(name)?.f64()?.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    };
    let (forecast, p10, p50, p90, prob_up) = (get("forecast")?, get("p10")?, get("p50")?, get("p90")?, get("prob_up")?);
    (0..frame.height())
        .map(|i| {
            Ok(ResultRow {
                series_id: ids.get(i).unwrap_or_default().to_owned(),
                step: steps.get(i).unwrap_or_default(),
                ts: from_micros(ts.get(i).unwrap_or_default())?,
                forecast: forecast[i],
                p10: p10[i],
                p50: p50[i],
                p90: p90[i],
                prob_up: prob_up[i],
            })
        })
        .collect()
}

fn errors_frame(errors: &[SeriesError]) -> Result<DataFrame> {
    Ok(DataFrame::new(vec![
        Column::new("series_id".into(), errors.iter().map(|e| e.series_id.as_str()).collect::<Vec<_>>()),
        Column::new("row".into(), errors.iter().map(|e| e.row).collect::<Vec<_>>()),
        Column::new("reason".into(), errors.iter().map(|e| e.reason.as_str()).collect::<Vec<_>>()),
    ])?)
}

/// Error rows as Parquet (`series_id, row, reason`).
pub fn write_errors(errors: &[SeriesError]) -> Result<Vec<u8>> {
    let mut frame = errors_frame(errors)?;
    parquet_bytes(&mut frame)
}

/// Reads error rows back.
pub fn read_errors(bytes: Vec<u8>) -> Result<Vec<SeriesError>> {
    let frame = ParquetReader::new(std::io::Cursor::new(bytes)).finish()?;
    let ids = frame.column("series_id")?.str()?.clone();
    let rows = frame.column("row")?.cast(&DataType::UInt64)?;
    let rows = rows.u64()?;
    let reasons = frame.column("reason")?.str()?.clone();
    Ok((0..frame.height())
        .map(|i| SeriesError {
            series_id: ids.get(i).unwrap_or_default().to_owned(),
            row: rows.get(i),
            reason: reasons.get(i).unwrap_or_default().to_owned(),
        })
        .collect())
}

/// A Parquet file of results or errors as CSV (times in RFC 3339).
pub fn parquet_to_csv(bytes: Vec<u8>) -> Result<Vec<u8>> {
    let mut frame = ParquetReader::new(std::io::Cursor::new(bytes)).finish()?;
    let mut out = Vec::new();
    CsvWriter::new(&mut out)
        .include_header(true)
        .with_datetime_format(Some("%Y-%m-%dT%H:%M:%SZ".into()))
        .finish(&mut frame)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> SeriesRules {
        SeriesRules { interval: Interval::D1, min_history: 3, context: 4 }
    }

    #[test]
    fn long_csv_is_read_per_series_with_bad_rows_reported() {
        let csv = "series_id,ts,open,high,low,close,volume\n\
                   a,2024-01-03,10,11,9,10.5,1\n\
                   a,2024-01-01,10,11,9,10.5,1\n\
                   b,2024-01-01,10,11,9,10.5,1\n\
                   a,2024-01-02,10,11,9,10.5,1\n\
                   b,2024-01-02,10,9,11,10.5,1\n\
                   ,2024-01-02,10,11,9,10.5,1\n\
                   c,2024-01-01,10,11,9,10.5,1\n\
                   c,2024-01-01,10,11,9,10.5,1\n\
                   c,2024-01-02,10,11,9,10.5,1\n\
                   d,2024-01-01,10,11,9,10.5,1\n";
        let read = read_long(csv.as_bytes().to_vec(), LongFormat::Csv, rules()).unwrap();
        assert_eq!(read.rows, 10);
        assert_eq!(read.series.len(), 1);
        assert_eq!(read.series[0].id, "a");
        let times: Vec<_> = read.series[0].candles.iter().map(|c| c.ts.format("%d").to_string()).collect();
        assert_eq!(times, ["01", "02", "03"]);
        let by_id: HashMap<_, _> = read.errors.iter().map(|e| (e.series_id.as_str(), e)).collect();
        assert_eq!(by_id["b"].row, Some(5));
        assert!(by_id["b"].reason.contains("high"), "{:?}", by_id["b"]);
        assert_eq!(by_id[""].row, Some(6));
        assert!(by_id["c"].reason.contains("twice"));
        assert_eq!(by_id["d"].row, None);
        assert_eq!(read.errors.len(), 4);
    }

    #[test]
    fn chunks_results_and_errors_round_trip_through_parquet() {
        let ts = |d: u32| Utc.with_ymd_and_hms(2024, 1, d, 0, 0, 0).unwrap();
        let candle = |d: u32, close: f64| Candle {
            ts: ts(d),
            open: close,
            high: close + 1.0,
            low: close - 1.0,
            close,
            volume: 1.0,
            amount: 0.1,
        };
        let series = vec![
            BatchSeries { id: "x".into(), candles: vec![candle(1, 10.0), candle(2, 10.1 + 1e-13)] },
            BatchSeries { id: "y é".into(), candles: vec![candle(1, 20.0)] },
        ];
        assert_eq!(read_chunk(write_chunk(&series).unwrap()).unwrap(), series);
        let rows = vec![ResultRow {
            series_id: "x".into(),
            step: 1,
            ts: ts(3),
            forecast: 0.1 + 0.2,
            p10: 1.0,
            p50: 2.0,
            p90: 3.0,
            prob_up: 0.625,
        }];
        let bytes = write_results(&rows).unwrap();
        assert_eq!(read_results(bytes.clone()).unwrap(), rows);
        let csv = String::from_utf8(parquet_to_csv(bytes).unwrap()).unwrap();
        assert!(csv.starts_with("series_id,step,ts,forecast,p10,p50,p90,prob_up\nx,1,2024-01-03T00:00:00Z,"), "{csv}");
        let errors = vec![
            SeriesError { series_id: "z".into(), row: Some(7), reason: "bad".into() },
            SeriesError { series_id: "w".into(), row: None, reason: "short".into() },
        ];
        assert_eq!(read_errors(write_errors(&errors).unwrap()).unwrap(), errors);
        let parquet = write_chunk(&series).unwrap();
        let read = read_long(
            parquet,
            LongFormat::Parquet,
            SeriesRules { interval: Interval::D1, min_history: 1, context: 10 },
        )
        .unwrap();
        assert_eq!(read.series, series);
    }
}
