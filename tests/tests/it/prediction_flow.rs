//! The prediction flow through a real worker process, against the local filesystem
//! and the S3-compatible server.

use std::time::{Duration, Instant};

use kronos_db::{assets, candles};
use kronos_models::baselines::Baseline;
use kronos_storage::StorageKey;
use kronos_tests::{http::TestApi, process::Proc, sample, StoreKind, TestEnv};
use kronos_types::{jobs::payload::ForecastDocument, Interval};
use serde_json::json;

async fn wait_terminal(api: &TestApi, ids: &[String], limit: Duration) -> Vec<serde_json::Value> {
    let started = Instant::now();
    loop {
        let mut done = Vec::new();
        for id in ids {
            let (_, job) = api.get(&format!("/v1/jobs/{id}")).await;
            if ["succeeded", "failed", "cancelled"].contains(&job["status"].as_str().unwrap_or("")) {
                done.push(job);
            }
        }
        if done.len() == ids.len() {
            return done;
        }
        assert!(started.elapsed() < limit, "only {}/{} jobs finished in {limit:?}", done.len(), ids.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn flow(store: StoreKind) {
    let env = TestEnv::with_store(store).await;
    let api = TestApi::start(&env, true).await;
    let _worker = Proc::start("kronos-worker", &env, &["--devices", "cpu", "--concurrency", "8"], &[]);
    let series = sample::candles(60);
    {
        let mut conn = api.state.pool.get().await.unwrap();
        let id = assets::ensure(&mut conn, "DEMO", "stock").await.unwrap();
        candles::upsert(&mut conn, id, Interval::D1, &series, "test").await.unwrap();
    }
    let mut ids = Vec::new();
    for (i, model) in ["naive", "drift"].iter().enumerate() {
        let (s, b) = api
            .post_json(
                "/v1/predictions",
                &json!({"symbol": "DEMO", "interval": "1d", "horizon": 4 + i, "model": model, "context": 40}),
            )
            .await;
        assert_eq!(s, 202, "{b}");
        ids.push(b["job"]["id"].as_str().unwrap().to_owned());
    }
    let (s, b) = api.post_json("/v1/predictions", &sample::inline_request(30, 3, "drift")).await;
    assert_eq!(s, 202, "{b}");
    ids.push(b["job"]["id"].as_str().unwrap().to_owned());
    let jobs = wait_terminal(&api, &ids, Duration::from_secs(60)).await;
    for job in &jobs {
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(job["attempts"], 1);
        assert_eq!(job["device"], "cpu");
    }

    // stored-series naive forecast: check values against the baseline on the same 40 candles
    let (s, p) = api.get(&format!("/v1/predictions/{}", ids[0])).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["symbol"], "DEMO");
    assert_eq!(p["horizon"], 4);
    let context: Vec<[f64; 6]> =
        series[20..].iter().map(|c| [c.open, c.high, c.low, c.close, c.volume, c.amount]).collect();
    let expected = Baseline::Naive.forecast(&context, 4).unwrap();
    let rows = p["forecast"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for (i, row) in rows.iter().enumerate() {
        assert!((row["close"].as_f64().unwrap() - expected.mean[i][3]).abs() < 1e-9);
        assert!((row["p10"].as_f64().unwrap() - expected.p10[i]).abs() < 1e-9);
        assert!((row["p90"].as_f64().unwrap() - expected.p90[i]).abs() < 1e-9);
    }
    // DEMO is a stock (no exchange known): its bars follow the weekdays calendar, so a
    // forecast from Thursday 2024-02-29 steps over the weekend
    assert_eq!(p["calendar"], "weekdays");
    let days: Vec<&str> = rows.iter().map(|r| r["ts"].as_str().unwrap()).collect();
    assert_eq!(days, ["2024-03-01T00:00:00Z", "2024-03-04T00:00:00Z", "2024-03-05T00:00:00Z", "2024-03-06T00:00:00Z"]);
    assert_eq!(p["expires_at"], "2024-03-06T00:00:00Z");
    // direction and horizon risk, from the same empirical distribution as the band
    assert_eq!(
        p["direction"],
        if expected.prob_up > 0.5 {
            "up"
        } else if expected.prob_up < 0.5 {
            "down"
        } else {
            "flat"
        }
    );
    assert!((p["expected_return"].as_f64().unwrap() - expected.risk.expected_return).abs() < 1e-12);
    assert!((p["volatility"].as_f64().unwrap() - expected.risk.volatility).abs() < 1e-12);
    assert!((p["value_at_risk_5"].as_f64().unwrap() - expected.risk.value_at_risk_5).abs() < 1e-12);
    assert!(p["volatility"].as_f64().unwrap() > 0.0);
    assert!((p["prob_up"].as_f64().unwrap() - expected.prob_up).abs() < 1e-12);
    assert_eq!(p["last_close"].as_f64().unwrap(), series[59].close);

    // the artifact in the object store holds the same forecast
    let id: uuid::Uuid = ids[0].parse().unwrap();
    let bytes = api.state.storage.get(&StorageKey::Forecast { job_id: id }).await.unwrap();
    let doc: ForecastDocument = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(doc.rows.len(), 4);
    assert_eq!(serde_json::to_value(&doc.rows).unwrap(), p["forecast"]);
    assert_eq!(p["artifact_key"], StorageKey::Forecast { job_id: id }.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prediction_flow_on_local_filesystem() {
    flow(StoreKind::Local).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prediction_flow_on_s3() {
    flow(StoreKind::S3).await;
}
