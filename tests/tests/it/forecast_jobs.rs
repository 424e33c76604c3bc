//! Kronos prediction jobs on a real worker: one hostile series batched with ordinary
//! ones fails alone; a running forecast reports its decode progress and stops soon
//! after a cancel; results of failed and cancelled jobs say so.

use std::time::{Duration, Instant};

use chrono::{Duration as Step, TimeZone, Utc};
use kronos_db::{jobs, jobs::NewJob, models};
use kronos_tests::{fixtures::import_kronos_tiny, http::TestApi, process::Proc, TestEnv};
use kronos_types::{
    jobs::payload::KronosSettings, jobs::payload::PredictionPayload, jobs::payload::SeriesSource, jobs::JobKind,
    Calendar, Candle, Interval,
};
use serde_json::{json, Value};

/// `n` hourly candles around `level`.
fn candles(n: usize, level: f64) -> Vec<Candle> {
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    (0..n)
        .map(|i| {
            let c = level * (1.0 + 0.01 * (((i * 37) % 11) as f64 - 5.0) / 5.0);
            Candle {
                ts: start + Step::hours(i as i64),
                open: c,
                high: c * 1.01,
                low: c * 0.99,
                close: c,
                volume: level * 10.0,
                amount: 0.0,
            }
        })
        .collect()
}

async fn job(api: &TestApi, id: &str) -> Value {
    api.get(&format!("/v1/jobs/{id}")).await.1
}

async fn wait_terminal(api: &TestApi, id: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let j = job(api, id).await;
        if ["succeeded", "failed", "cancelled"].contains(&j["status"].as_str().unwrap_or("")) {
            return j;
        }
        assert!(started.elapsed() < limit, "job {id} did not finish in {limit:?}: {j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_series_fails_alone_in_its_batch() {
    let env = TestEnv::new().await;
    import_kronos_tiny(&env, "tiny");
    let api = TestApi::start(&env, true).await;
    // the API refuses values the model cannot forecast, naming the candle
    let mut hostile = candles(60, 100.0);
    for c in &mut hostile {
        (c.open, c.high, c.low, c.close, c.volume) = (1e308, 1e308, 1e308, 1e308, 1e308);
    }
    let body = json!({"candles": hostile, "interval": "1h", "horizon": 4, "model": "tiny"});
    let (status, refused) = api.post_json("/v1/predictions", &body).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["field"], "candles[0]");

    // the worker does not trust the API: a hostile payload written straight into the
    // queue shares a batch with six ordinary ones, and only it fails
    let model_id = {
        let mut conn = api.state.pool.get().await.unwrap();
        models::find_by_name(&mut conn, "tiny").await.unwrap().unwrap().id
    };
    let payload = |series: Vec<Candle>, seed: u64| PredictionPayload {
        model: "tiny".into(),
        interval: Interval::H1,
        horizon: 4,
        series: SeriesSource::Inline { candles: series },
        kronos: Some(KronosSettings {
            model_id,
            samples: 2,
            temperature: 1.0,
            top_k: 0,
            top_p: 0.9,
            seed,
            max_context: 128,
        }),
        calendar: Calendar::AlwaysOpen,
    };
    let mut new_jobs: Vec<NewJob> = (0..6)
        .map(|i| {
            let p = payload(candles(40 + 5 * i, 50.0 + i as f64), i as u64);
            NewJob::new(JobKind::Prediction, serde_json::to_value(p).unwrap(), 1)
        })
        .collect();
    new_jobs.insert(3, NewJob::new(JobKind::Prediction, serde_json::to_value(payload(hostile, 9)).unwrap(), 1));
    let hostile_id = new_jobs[3].id.to_string();
    let log_dir = env.scratch.clone();
    let _worker = Proc::start(
        "kronos-worker",
        &env,
        &["--devices", "cpu", "--concurrency", "16", "--max-wait-ms", "500"],
        &[("RUST_LOG", "warn,kronos_worker::batcher=debug".to_owned())],
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    {
        let mut conn = api.state.pool.get().await.unwrap();
        jobs::insert_many(&mut conn, &new_jobs).await.unwrap();
    }
    api.state.signal.wake();
    for j in &new_jobs {
        let id = j.id.to_string();
        let done = wait_terminal(&api, &id, Duration::from_secs(60)).await;
        if id == hostile_id {
            assert_eq!(done["status"], "failed", "{done}");
            assert!(done["error"].as_str().unwrap().contains("cannot be forecast"), "{done}");
            // its result says it failed, and why
            let (status, result) = api.get(&format!("/v1/predictions/{id}")).await;
            assert_eq!((status, result["error"]["code"].as_str()), (409, Some("failed")), "{result}");
            assert!(result["error"]["message"].as_str().unwrap().contains("cannot be forecast"));
        } else {
            assert_eq!(done["status"], "succeeded", "{done}");
            let (status, p) = api.get(&format!("/v1/predictions/{id}")).await;
            assert_eq!(status, 200, "{p}");
        }
    }
    // the seven went through one batched generation
    let logs: String = std::fs::read_dir(&log_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("kronos-worker"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    let logs = strip_ansi(&logs);
    assert!(logs.contains("series=7"), "the jobs were not batched together: {logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_forecast_reports_progress_and_stops_when_cancelled() {
    let env = TestEnv::new().await;
    import_kronos_tiny(&env, "tiny");
    let api = TestApi::start(&env, true).await;
    let _worker = Proc::start("kronos-worker", &env, &["--devices", "cpu", "--concurrency", "4"], &[]);
    // a long forecast: 64 paths of 400 steps (the window slides: every step recomputes)
    let body = json!({"candles": candles(900, 100.0), "interval": "1h", "horizon": 400, "model": "tiny",
                      "samples": 64, "max_context": 512});
    let (status, created) = api.post_json("/v1/predictions", &body).await;
    assert_eq!(status, 202, "{created}");
    let id = created["job"]["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let running = loop {
        let j = job(&api, &id).await;
        let progress = j["progress"].as_f64().unwrap_or(0.0);
        if j["status"] == "running" && progress > 0.0 {
            break j;
        }
        assert_ne!(j["status"], "succeeded", "the forecast finished before it could be watched");
        assert!(started.elapsed() < Duration::from_secs(60), "no progress reported: {j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(running["result"]["progress"]["stage"], "forecasting", "{running}");
    assert_eq!(running["result"]["progress"]["total"], 64 * 400);
    assert!(running["progress"].as_f64().unwrap() < 1.0);

    let (status, cancelled) = api.post_json(&format!("/v1/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!(status, 200, "{cancelled}");
    let asked = Instant::now();
    let done = wait_terminal(&api, &id, Duration::from_secs(60)).await;
    assert_eq!(done["status"], "cancelled", "{done}");
    // a progress tick (1 s) plus a decode step, not the rest of the forecast
    assert!(asked.elapsed() < Duration::from_secs(5), "cancelling took {:?}", asked.elapsed());
    let (status, result) = api.get(&format!("/v1/predictions/{id}")).await;
    assert_eq!((status, result["error"]["code"].as_str()), (409, Some("cancelled")), "{result}");
}

/// Text without terminal colour codes (`ESC [ … m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
