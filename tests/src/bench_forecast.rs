//! The interactive forecast benchmark (`kronos-bench forecast`): one stored series,
//! requests sent one after another through the API as a person's browser would, each
//! timed from submission to `succeeded` (the client's view, polling every 10 ms) and by
//! the job's own span (created → finished, the server's clock).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// How often the client reads the job while it waits.
const POLL: Duration = Duration::from_millis(10);

/// One benchmark run's settings.
#[derive(Debug, Clone)]
pub struct Run {
    /// Base URL of the API.
    pub api: String,
    /// The stored series.
    pub symbol: String,
    /// Its interval.
    pub interval: String,
    /// Registered model name.
    pub model: String,
    /// Steps ahead.
    pub horizon: usize,
    /// Sample paths.
    pub samples: usize,
    /// History bars the model reads.
    pub context: usize,
    /// Timed requests (after one untimed warm-up that loads the model).
    pub requests: usize,
}

/// Runs the requests and prints p50/p90/max of both timings.
pub async fn run(client: &reqwest::Client, run: Run) -> anyhow::Result<()> {
    let mut client_s = Vec::with_capacity(run.requests);
    let mut span_s = Vec::with_capacity(run.requests);
    for i in 0..=run.requests {
        let (client_time, span) = one(client, &run, i as u64).await?;
        if i > 0 {
            client_s.push(client_time);
            span_s.push(span);
        }
    }
    let label = format!(
        "model={} context={} horizon={} samples={} requests={}",
        run.model, run.context, run.horizon, run.samples, run.requests
    );
    let (c50, c90, cmax) = percentiles(&mut client_s);
    let (s50, s90, smax) = percentiles(&mut span_s);
    println!(
        "forecast {label} client_p50_s={c50:.3} client_p90_s={c90:.3} client_max_s={cmax:.3} \
         job_p50_s={s50:.3} job_p90_s={s90:.3} job_max_s={smax:.3}"
    );
    Ok(())
}

/// Submits one forecast and waits for it: (client seconds, job span seconds).
async fn one(client: &reqwest::Client, run: &Run, seed: u64) -> anyhow::Result<(f64, f64)> {
    let body = serde_json::json!({
        "symbol": run.symbol, "interval": run.interval, "model": run.model, "horizon": run.horizon,
        "samples": run.samples, "context": run.context, "seed": seed,
    });
    let started = Instant::now();
    let response = client.post(format!("{}/v1/predictions", run.api)).json(&body).send().await?;
    if response.status() != 202 {
        bail!("prediction refused: {} {}", response.status(), response.text().await?);
    }
    let created: serde_json::Value = response.json().await?;
    let id = created["job"]["id"].as_str().context("job id")?.to_owned();
    let job = loop {
        let job: serde_json::Value = client.get(format!("{}/v1/jobs/{id}", run.api)).send().await?.json().await?;
        match job["status"].as_str() {
            Some("succeeded") => break job,
            Some("failed" | "cancelled") => bail!("forecast ended {job}"),
            _ => tokio::time::sleep(POLL).await,
        }
    };
    let client_time = started.elapsed().as_secs_f64();
    let at = |field: &str| -> anyhow::Result<chrono::DateTime<chrono::FixedOffset>> {
        let text = job[field].as_str().with_context(|| format!("job {field}"))?;
        Ok(chrono::DateTime::parse_from_rfc3339(text)?)
    };
    let span = (at("finished_at")? - at("created_at")?).num_microseconds().unwrap_or(0) as f64 / 1e6;
    Ok((client_time, span))
}

/// Median, 90th percentile and maximum (nearest rank).
fn percentiles(values: &mut [f64]) -> (f64, f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    values.sort_by(f64::total_cmp);
    let rank = |q: f64| values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
    (rank(0.5), rank(0.9), values[values.len() - 1])
}
