//! `kronos-bench batch`: a bulk batch end to end (upload → results file) against the
//! raw model time of the same forecasts on this machine, so the platform's own share —
//! queue, storage, database — is measured side by side with the model's.
//!
//! The raw run makes exactly the requests the chunk jobs make (the same history, time
//! features, sampling and groups of `--group` series) on one thread, as the worker's
//! bulk lane does with two compute threads.

use std::{path::Path, time::Instant};

use anyhow::{bail, Context};
use chrono::{TimeZone, Utc};
use kronos_market_data::batch_files::{self, BatchSeries};
use kronos_models::{
    baselines::Baseline,
    kronos::{fill_missing_amount, time_features, GenerateOptions, KronosModel, Preset, SamplingParams, SeriesRequest},
    Bar,
};
use kronos_types::{Calendar, Candle, Interval};

/// The benchmark's series: `n` walks of `bars` daily bars each.
pub fn series(n: usize, bars: usize) -> Vec<BatchSeries> {
    let start = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).single().unwrap_or_default();
    (0..n)
        .map(|s| {
            let mut close = 20.0 + (s % 200) as f64;
            let candles = (0..bars)
                .map(|i| {
                    let open = close;
                    let step = (((i + 1) * 7919 + s * 104_729) % 23) as f64 / 23.0 - 0.49;
                    close = (open * (1.0 + step * 0.02)).max(0.5);
                    Candle {
                        ts: start + chrono::Duration::days(i as i64),
                        open,
                        high: open.max(close) * 1.005,
                        low: open.min(close) * 0.995,
                        close,
                        volume: 1_000.0 + i as f64,
                        amount: 0.0,
                    }
                })
                .collect();
            BatchSeries { id: format!("s{s:06}"), candles }
        })
        .collect()
}

/// Settings of a run.
pub struct Run {
    /// API base.
    pub api: String,
    /// Series.
    pub series: usize,
    /// Bars per series.
    pub bars: usize,
    /// Model name as the API knows it.
    pub model: String,
    /// Steps.
    pub horizon: usize,
    /// Kronos sample paths.
    pub samples: usize,
    /// Kronos weights on disk (`tokenizer/`, `predictor/`) for the raw run.
    pub model_dir: Option<String>,
    /// Series per model call in the raw run (the chunk size).
    pub group: usize,
}

/// How often the batch's status is read.
const POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs the batch through the API, then the same forecasts raw; prints both.
pub async fn run(client: &reqwest::Client, run: Run) -> anyhow::Result<()> {
    let all = series(run.series, run.bars);
    let parquet = batch_files::write_chunk(&all)?;
    let kronos = run.model_dir.is_some();
    let mut query = format!("model={}&interval=1d&horizon={}&calendar=always_open", run.model, run.horizon);
    if kronos {
        query.push_str(&format!("&samples={}&seed=1", run.samples));
    }
    let bytes = parquet.len();
    let started = Instant::now();
    let response = client
        .post(format!("{}/v1/batches?{query}", run.api))
        .header("content-type", "application/vnd.apache.parquet")
        .body(parquet)
        .send()
        .await?;
    if response.status() != 202 {
        bail!("upload refused: {} {}", response.status(), response.text().await?);
    }
    let uploaded = started.elapsed();
    let created: serde_json::Value = response.json().await?;
    let id = created["id"].as_str().context("batch id")?.to_owned();
    let batch = loop {
        let batch: serde_json::Value = client.get(format!("{}/v1/batches/{id}", run.api)).send().await?.json().await?;
        match batch["status"].as_str() {
            Some("succeeded") => break batch,
            Some("failed" | "cancelled") => bail!("batch ended {batch}"),
            // as a client would: a status read costs the API and the database work
            // that competes with the forecasts on a small machine
            _ => tokio::time::sleep(POLL).await,
        }
    };
    let download = Instant::now();
    let results = client.get(format!("{}/v1/batches/{id}/results", run.api)).send().await?.bytes().await?;
    let download = download.elapsed();
    let rows = batch_files::read_results(results.to_vec())?.len();
    if rows != run.series * run.horizon {
        bail!("{rows} result rows, expected {}", run.series * run.horizon);
    }
    let times = |a: &str, b: &str| -> Option<f64> {
        let a = chrono::DateTime::parse_from_rfc3339(batch[a].as_str()?).ok()?;
        let b = chrono::DateTime::parse_from_rfc3339(batch[b].as_str()?).ok()?;
        Some((b - a).num_milliseconds() as f64 / 1000.0)
    };
    let label = format!(
        "model={} series={} bars={} horizon={} samples={}",
        run.model,
        run.series,
        run.bars,
        run.horizon,
        if kronos { run.samples } else { 0 }
    );
    // end to end without the polling's resolution: the upload, the batch's own span
    // (created → finished, the server's clock) and the download
    let span = times("created_at", "finished_at").context("batch times")?;
    let e2e = uploaded.as_secs_f64() + span + download.as_secs_f64();
    let raw = tokio::task::spawn_blocking(move || raw(&all, &run)).await??;
    println!(
        "batch {label} upload_bytes={bytes} upload_s={:.3} validate_s={:.3} forecast_s={:.3} \
         end_to_end_s={e2e:.3} raw_model_s={raw:.3} overhead_s={:.3} overhead_pct_of_model={:.1}",
        uploaded.as_secs_f64(),
        times("created_at", "started_at").unwrap_or(f64::NAN),
        times("started_at", "finished_at").unwrap_or(f64::NAN),
        e2e - raw,
        (e2e - raw) / raw * 100.0,
    );
    Ok(())
}

/// The same forecasts without the platform: seconds.
fn raw(all: &[BatchSeries], run: &Run) -> anyhow::Result<f64> {
    let history = |s: &BatchSeries| -> Vec<Bar> {
        s.candles.iter().map(|c| [c.open, c.high, c.low, c.close, c.volume, c.amount]).collect()
    };
    let Some(dir) = &run.model_dir else {
        let baseline = Baseline::from_name(&run.model)?;
        let started = Instant::now();
        for s in all {
            std::hint::black_box(baseline.forecast(&history(s), run.horizon)?);
        }
        return Ok(started.elapsed().as_secs_f64());
    };
    let dir = Path::new(dir);
    let model =
        KronosModel::load(&dir.join("tokenizer"), &dir.join("predictor"), kronos_models::ComputeDevice::Cpu.to_tch())?;
    let requests: Vec<SeriesRequest> = all
        .iter()
        .map(|s| {
            let mut bars = history(s);
            fill_missing_amount(&mut bars);
            let last = s.candles.last().map(|c| c.ts).unwrap_or_default();
            let future = Calendar::AlwaysOpen.next_bars(Interval::D1, last, run.horizon);
            SeriesRequest {
                history: bars,
                stamps: s.candles.iter().map(|c| time_features(c.ts.naive_utc())).collect(),
                future_stamps: future.iter().map(|t| time_features(t.naive_utc())).collect(),
                sampling: SamplingParams { temperature: 1.0, top_k: 0, top_p: 0.9, samples: run.samples, seed: 1 },
                watch: None,
            }
        })
        .collect();
    let options = GenerateOptions::new(run.horizon, 2048);
    let started = Instant::now();
    for group in requests.chunks(run.group.max(1)) {
        for result in model.forecast_each(group, &options) {
            std::hint::black_box(result?);
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Writes random weights of `preset` (`seed`) to `out/tokenizer` and `out/predictor`.
pub fn init_model(out: &Path, preset: Preset, seed: u64) -> anyhow::Result<()> {
    let model = KronosModel::init(preset, seed, kronos_models::ComputeDevice::Cpu.to_tch())?;
    model.save(&out.join("tokenizer"), &out.join("predictor"))?;
    Ok(())
}
