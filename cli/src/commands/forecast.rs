//! `kronos forecast`: run Kronos on a CSV from local weight directories.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::NaiveDateTime;
use clap::Args;
use kronos_market_data::import::parse_file;
use kronos_models::{
    kronos::{
        continue_times, fill_missing_amount, time_features, typical_step, GenerateOptions, KronosModel, SamplingParams,
        SeriesForecast, SeriesRequest,
    },
    Bar, ComputeDevice,
};
use kronos_types::{jobs::payload::direction_of, jobs::payload::ForecastRow, jobs::payload::RawBar, rfc3339};
use serde_json::json;

/// Arguments of `kronos forecast`.
#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// Tokenizer directory (config.json + model.safetensors).
    #[arg(long)]
    tokenizer: PathBuf,
    /// Predictor directory (config.json + model.safetensors).
    #[arg(long)]
    predictor: PathBuf,
    /// CSV with timestamps,open,high,low,close,volume[,amount] (gzip allowed).
    #[arg(long)]
    csv: PathBuf,
    /// Use the first N rows as context (default: all).
    #[arg(long)]
    context: Option<usize>,
    /// Steps to forecast.
    #[arg(long, default_value_t = 32)]
    pred_len: usize,
    /// Longest window the predictor sees.
    #[arg(long, default_value_t = 512)]
    max_context: usize,
    /// Softmax temperature.
    #[arg(long, default_value_t = kronos_types::jobs::payload::KronosSettings::DEFAULT_TEMPERATURE)]
    temperature: f64,
    /// Keep the k most likely tokens (0 = off, 1 = greedy); disables top-p.
    #[arg(long, default_value_t = kronos_types::jobs::payload::KronosSettings::DEFAULT_TOP_K)]
    top_k: usize,
    /// Nucleus threshold.
    #[arg(long, default_value_t = kronos_types::jobs::payload::KronosSettings::DEFAULT_TOP_P)]
    top_p: f64,
    /// Sample paths (the platform's one default).
    #[arg(long, default_value_t = kronos_types::jobs::payload::KronosSettings::DEFAULT_SAMPLES)]
    samples: usize,
    /// Seed of the sample paths.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cpu or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// libtorch CPU threads (default: one per core).
    #[arg(long)]
    threads: Option<i32>,
    /// Recompute the whole window at every step (as the reference does).
    #[arg(long)]
    no_cache: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Loads the model and the CSV, forecasts, prints.
pub fn run(args: ForecastArgs) -> anyhow::Result<()> {
    let device: ComputeDevice = args.device.parse().map_err(|e: String| anyhow::anyhow!("--device: {e}"))?;
    if !device.is_available() {
        bail!("--device {device}: not available on this machine");
    }
    if let Some(n) = args.threads {
        if n < 1 {
            bail!("--threads must be at least 1");
        }
        tch::set_num_threads(n);
    }
    if args.pred_len == 0 {
        bail!("--pred-len must be at least 1");
    }
    if args.max_context < args.pred_len {
        bail!("--max-context ({}) must be at least --pred-len ({})", args.max_context, args.pred_len);
    }
    let sampling = SamplingParams {
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        samples: args.samples,
        seed: args.seed,
    };
    sampling.validate().map_err(|e| anyhow::anyhow!("--{}", e.to_string().replace('_', "-")))?;
    let (times, mut bars) = read_csv(&args.csv)?;
    let context = args.context.unwrap_or(bars.len());
    if context == 0 || context > bars.len() {
        bail!("--context {context}: the CSV has {} valid rows", bars.len());
    }
    let last = (times[context - 1], bars[context - 1][3]);
    let future = future_times(&times, context, args.pred_len)?;
    bars.truncate(context);
    fill_missing_amount(&mut bars);
    let request = SeriesRequest {
        stamps: times[..context].iter().map(|t| time_features(*t)).collect(),
        future_stamps: future.iter().map(|t| time_features(*t)).collect(),
        history: bars,
        sampling,
        watch: None,
    };
    let model = KronosModel::load(&args.tokenizer, &args.predictor, device.to_tch()).context("loading the model")?;
    for key in &model.unexpected_keys {
        eprintln!("warning: ignored unexpected weight {key}");
    }
    let options = GenerateOptions {
        pred_len: args.pred_len,
        max_context: args.max_context,
        use_cache: !args.no_cache,
        share_prefix: true,
    };
    let forecast = model.forecast(std::slice::from_ref(&request), &options)?.remove(0);
    if args.json {
        println!("{}", serde_json::to_string(&to_json(last, &future, &forecast))?);
    } else {
        print_table(&future, &forecast);
    }
    Ok(())
}

/// Valid rows of the CSV (sorted by time), with wall-clock times.
fn read_csv(path: &Path) -> anyhow::Result<(Vec<NaiveDateTime>, Vec<Bar>)> {
    if !path.is_file() {
        bail!("--csv {}: no such file", path.display());
    }
    let parsed = parse_file(path, Some("CSV"), None).with_context(|| format!("reading {}", path.display()))?;
    if let Some(bad) = parsed.rejected.first() {
        bail!("{}: {} invalid rows, first at row {}: {}", path.display(), parsed.rejected.len(), bad.row, bad.reason);
    }
    if parsed.series.len() != 1 {
        bail!("{}: expected one series, found {}", path.display(), parsed.series.len());
    }
    let candles = parsed.series.into_values().next().unwrap_or_default();
    let times = candles.iter().map(|c| c.ts.naive_utc()).collect();
    let bars = candles.iter().map(|c| [c.open, c.high, c.low, c.close, c.volume, c.amount]).collect();
    Ok((times, bars))
}

/// The rows after the context when the CSV has them, continued at the series' typical
/// spacing otherwise.
fn future_times(times: &[NaiveDateTime], context: usize, pred_len: usize) -> anyhow::Result<Vec<NaiveDateTime>> {
    let mut future: Vec<NaiveDateTime> = times[context..].iter().take(pred_len).copied().collect();
    if future.len() < pred_len {
        let Some(step) = typical_step(times) else {
            bail!("cannot infer the bar interval from fewer than two distinct timestamps");
        };
        let last = future.last().copied().unwrap_or(times[context - 1]);
        future.extend(continue_times(last, step, pred_len - future.len()));
    }
    Ok(future)
}

fn format_time(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The API's forecast shape (`GET /v1/predictions/{id}`): the mean path as consistent
/// candles with close quantiles, the raw mean path, direction and horizon risk; plus
/// every column's quantiles, which only the CLI prints.
fn to_json(last: (NaiveDateTime, f64), future: &[NaiveDateTime], f: &SeriesForecast) -> serde_json::Value {
    let ts = |t: &NaiveDateTime| t.and_utc();
    let rows: Vec<ForecastRow> = future
        .iter()
        .enumerate()
        .map(|(i, t)| ForecastRow::consistent(ts(t), f.mean[i], f.p10[i][3], f.p50[i][3], f.p90[i][3]))
        .collect();
    let raw: Vec<RawBar> = future.iter().zip(&f.mean).map(|(t, bar)| RawBar::new(ts(t), *bar)).collect();
    json!({
        "last_ts": rfc3339(ts(&last.0)),
        "last_close": last.1,
        "prob_up": f.prob_up,
        "direction": direction_of(f.prob_up),
        "expected_return": f.risk.expected_return,
        "volatility": f.risk.volatility,
        "value_at_risk_5": f.risk.value_at_risk_5,
        "forecast": rows,
        "raw_forecast": raw,
        "column_quantiles": { "p10": f.p10, "p50": f.p50, "p90": f.p90 },
    })
}

fn print_table(future: &[NaiveDateTime], f: &SeriesForecast) {
    println!(
        "{:<19} {:>12} {:>12} {:>12} {:>12} {:>14} {:>16} {:>12} {:>12}",
        "timestamp", "open", "high", "low", "close", "volume", "amount", "close p10", "close p90"
    );
    for (i, t) in future.iter().enumerate() {
        let [o, h, l, c, v, a] = f.mean[i];
        println!(
            "{:<19} {o:>12.4} {h:>12.4} {l:>12.4} {c:>12.4} {v:>14.2} {a:>16.2} {:>12.4} {:>12.4}",
            format_time(t),
            f.p10[i][3],
            f.p90[i][3]
        );
    }
    println!("probability the final close ends above the last close: {:.3}", f.prob_up);
}
