//! `kronos-bench`: load benchmarks against a running platform (see `ops/bench`).
//!
//! - `throughput`: submits trivial prediction jobs over HTTP and times until every one
//!   is `succeeded` in PostgreSQL (end to end: HTTP → PostgreSQL → Redis → worker →
//!   PostgreSQL).
//! - `status`: hammers `GET /v1/jobs/{id}` with concurrent clients and reports
//!   requests/s and latency percentiles.
//! - `gen-candles`: writes a CSV of 1-minute candles (a random walk) for import timing.
//! - `candles`: the same load as `status` on `GET /v1/assets/{symbol}/candles`.
//! - `batch`: a bulk batch end to end against the raw model time
//!   (`kronos_tests::bench_batch`).
//! - `init-mini`: random Kronos-mini weights written to a directory (for `batch`).
//! - `job-ends`: how long a job's end takes to reach the API's live job status, woken
//!   by the database's notification against reading every 250 ms
//!   (`kronos_tests::bench_job_ends`; a database of its own, no running platform).

use kronos_tests::bench_batch as batch;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::{stream, StreamExt};

/// A client for the benchmarks: it sends `KRONOS_BENCH_TOKEN` (an access token or an
/// API key) as a bearer token when it is set.
fn bench_client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = std::env::var("KRONOS_BENCH_TOKEN").ok().filter(|t| !t.is_empty()) {
        headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
    }
    Ok(reqwest::Client::builder().pool_max_idle_per_host(concurrency).default_headers(headers).build()?)
}

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone()).unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let api = arg(&args, "--api", "http://127.0.0.1:8080");
    let concurrency: usize = arg(&args, "--concurrency", "64").parse()?;
    match args.get(1).map(String::as_str) {
        Some("throughput") => {
            let jobs: usize = arg(&args, "--jobs", "10000").parse()?;
            let db = arg(&args, "--database-url", "postgres://postgres@127.0.0.1:5432/kronos_bench");
            throughput(&api, &db, jobs, concurrency).await
        }
        Some("status") => {
            let seconds: u64 = arg(&args, "--seconds", "10").parse()?;
            status(&api, Duration::from_secs(seconds), concurrency).await
        }
        Some("login") => {
            let seconds: u64 = arg(&args, "--seconds", "10").parse()?;
            let email = arg(&args, "--email", "bench@kronos.localhost");
            let password = std::env::var("KRONOS_BENCH_PASSWORD").context("KRONOS_BENCH_PASSWORD")?;
            login(&api, &email, &password, Duration::from_secs(seconds), concurrency).await
        }
        Some("gen-candles") => {
            let rows: usize = arg(&args, "--rows", "1000000").parse()?;
            gen_candles(rows, &arg(&args, "--out", "candles.csv"))
        }
        Some("candles") => {
            let seconds: u64 = arg(&args, "--seconds", "10").parse()?;
            let path = format!(
                "/v1/assets/{}/candles?interval={}&limit={}",
                arg(&args, "--symbol", "BENCH"),
                arg(&args, "--interval", "1m"),
                arg(&args, "--limit", "5000")
            );
            let urls = Arc::new(vec![format!("{api}{path}")]);
            let label = format!("candles limit={}", arg(&args, "--limit", "5000"));
            hammer(&label, urls, Duration::from_secs(seconds), concurrency).await
        }
        Some("job-ends") => {
            let db = arg(&args, "--database-url", "postgres://postgres@127.0.0.1:5432/kronos_bench_job_ends");
            kronos_tests::bench_job_ends::run(&db, arg(&args, "--jobs", "40").parse()?).await
        }
        Some("batch") => {
            let run = batch::Run {
                api: api.clone(),
                series: arg(&args, "--series", "10000").parse()?,
                bars: arg(&args, "--bars", "64").parse()?,
                model: arg(&args, "--model", "naive"),
                horizon: arg(&args, "--horizon", "8").parse()?,
                samples: arg(&args, "--samples", "1").parse()?,
                model_dir: args.windows(2).find(|w| w[0] == "--model-dir").map(|w| w[1].clone()),
                group: arg(&args, "--group", "64").parse()?,
            };
            batch::run(&bench_client(8)?, run).await
        }
        Some("forecast") => {
            let run = kronos_tests::bench_forecast::Run {
                api: api.clone(),
                symbol: arg(&args, "--symbol", "BENCH"),
                interval: arg(&args, "--interval", "1m"),
                model: arg(&args, "--model", "bench-mini"),
                horizon: arg(&args, "--horizon", "16").parse()?,
                samples: arg(&args, "--samples", "16").parse()?,
                context: arg(&args, "--context", "512").parse()?,
                requests: arg(&args, "--requests", "20").parse()?,
            };
            kronos_tests::bench_forecast::run(&bench_client(2)?, run).await
        }
        Some("init-mini") => {
            let preset = match arg(&args, "--preset", "mini").as_str() {
                "mini" => kronos_models::kronos::Preset::Mini,
                "small" => kronos_models::kronos::Preset::Small,
                other => bail!("--preset {other:?}: expected mini or small"),
            };
            let out = arg(&args, "--out", "mini");
            batch::init_model(std::path::Path::new(&out), preset, arg(&args, "--seed", "7").parse()?)
        }
        _ => bail!("usage: kronos-bench throughput|status|login|gen-candles|candles|batch|forecast|init-mini|job-ends [--api URL] [--concurrency N] [--jobs N] [--seconds N] [--database-url URL] [--rows N --out FILE] [--symbol S --interval I --limit N]"),
    }
}

async fn throughput(api: &str, db: &str, jobs: usize, concurrency: usize) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(db).await.context("connect to the bench database")?;
    let client = bench_client(concurrency)?;
    let body = Arc::new(serde_json::to_vec(&serde_json::json!({
        "candles": kronos_tests::sample::candles(32), "interval": "1d", "horizon": 1, "model": "naive"
    }))?);
    let url = format!("{api}/v1/predictions");
    let started = Instant::now();
    let ids: Vec<Option<uuid::Uuid>> = stream::iter(0..jobs)
        .map(|_| {
            let req = client.post(&url).header("content-type", "application/json").body((*body).clone());
            async move {
                let r = req.send().await.ok()?;
                if r.status() != 202 {
                    return None;
                }
                let v: serde_json::Value = r.json().await.ok()?;
                v["job"]["id"].as_str()?.parse().ok()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let submitted_in = started.elapsed();
    let mut pending: Vec<uuid::Uuid> = ids.iter().flatten().copied().collect();
    if pending.len() != jobs {
        bail!("{} submissions were not accepted", jobs - pending.len());
    }
    // poll only the jobs still pending, by primary key
    while !pending.is_empty() {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        let done: Vec<Id> = diesel::sql_query("SELECT id FROM jobs WHERE id = ANY($1) AND status = 'succeeded'")
            .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&pending)
            .load(&mut conn)
            .await?;
        let done: std::collections::HashSet<uuid::Uuid> = done.into_iter().map(|d| d.id).collect();
        pending.retain(|id| !done.contains(id));
        if started.elapsed() > Duration::from_secs(900) {
            bail!("{} of {jobs} jobs still pending after 15 minutes", pending.len());
        }
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let total = started.elapsed();
    println!(
        "throughput jobs={jobs} concurrency={concurrency} submit_s={:.3} submit_per_s={:.0} end_to_end_s={:.3} end_to_end_jobs_per_s={:.0}",
        submitted_in.as_secs_f64(),
        jobs as f64 / submitted_in.as_secs_f64(),
        total.as_secs_f64(),
        jobs as f64 / total.as_secs_f64()
    );
    Ok(())
}

async fn status(api: &str, duration: Duration, concurrency: usize) -> anyhow::Result<()> {
    let client = bench_client(concurrency)?;
    let page: serde_json::Value = client.get(format!("{api}/v1/jobs?limit=500")).send().await?.json().await?;
    let ids: Vec<String> = page["jobs"]
        .as_array()
        .context("job list")?
        .iter()
        .filter_map(|j| j["id"].as_str().map(str::to_owned))
        .collect();
    if ids.is_empty() {
        bail!("no jobs to query: run the throughput benchmark first");
    }
    let urls = Arc::new(ids.iter().map(|id| format!("{api}/v1/jobs/{id}")).collect::<Vec<_>>());
    hammer("status", urls, duration, concurrency).await?;
    Ok(())
}

/// `concurrency` clients GET `urls` (round robin) for `duration`; prints requests/s and
/// latency percentiles of the successful requests.
async fn hammer(label: &str, urls: Arc<Vec<String>>, duration: Duration, concurrency: usize) -> anyhow::Result<()> {
    let client = bench_client(concurrency)?;
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let urls = urls.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut i = worker;
            while Instant::now() < deadline {
                let url = &urls[i % urls.len()];
                i += 7;
                let t = Instant::now();
                match client.get(url).send().await {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed().as_micros() as u64);
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    report(label, tasks, duration, concurrency).await
}

/// Prints requests/s and latency percentiles of what `tasks` measured.
async fn report(
    label: &str,
    tasks: Vec<tokio::task::JoinHandle<(Vec<u64>, u64)>>,
    duration: Duration,
    concurrency: usize,
) -> anyhow::Result<()> {
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    if all.is_empty() {
        bail!("{label}: no successful request ({errors} errors)");
    }
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)] as f64 / 1000.0;
    println!(
        "{label} concurrency={concurrency} seconds={} requests={} errors={errors} requests_per_s={:.0} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        duration.as_secs(),
        all.len(),
        all.len() as f64 / duration.as_secs_f64(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}

/// `concurrency` clients log in as `email` for `duration` (argon2 verification is the
/// cost measured); prints logins/s and latency percentiles.
async fn login(api: &str, email: &str, password: &str, duration: Duration, concurrency: usize) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let body = Arc::new(serde_json::to_vec(&serde_json::json!({"email": email, "password": password}))?);
    let url = Arc::new(format!("{api}/v1/auth/login"));
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, body, url) = (client.clone(), Arc::clone(&body), Arc::clone(&url));
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let t = Instant::now();
                let sent = client
                    .post(url.as_str())
                    .header("content-type", "application/json")
                    .body((*body).clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        latencies.push(t.elapsed().as_micros() as u64);
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    report("login", tasks, duration, concurrency).await
}

/// A CSV of `rows` 1-minute candles from 2020-01-01 (a deterministic random walk).
fn gen_candles(rows: usize, out: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).with_context(|| out.to_owned())?);
    writeln!(file, "timestamps,open,high,low,close,volume,amount")?;
    let start = chrono::DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")?.timestamp();
    let mut state = 1u64;
    let mut close = 100.0f64;
    for i in 0..rows {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let open = close;
        close = open * (1.0 + ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.002);
        let (high, low) = (open.max(close) * 1.0005, open.min(close) * 0.9995);
        let volume = 10.0 + (state >> 54) as f64;
        let ts = chrono::DateTime::from_timestamp(start + 60 * i as i64, 0).context("time")?;
        writeln!(
            file,
            "{},{open:.6},{high:.6},{low:.6},{close:.6},{volume},{:.2}",
            ts.format("%Y-%m-%d %H:%M:%S"),
            volume * close
        )?;
    }
    file.flush()?;
    Ok(())
}
