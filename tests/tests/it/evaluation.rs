//! Accuracy from the first day on the demo data: evaluation jobs run the drift baseline
//! and a small Kronos trained here walk-forward over a year of GOOG, every forecast is
//! verified at once, and `GET /v1/accuracy` shows each beside naive; a backdated
//! (`as_of`) prediction is verified by the next verification run; unknown filters are
//! 404s.

use std::time::{Duration, Instant};

use diesel::{
    sql_types::{Array, Double, Timestamptz},
    QueryableByName,
};
use diesel_async::RunQueryDsl;
use kronos_market_data::import;
use kronos_models::baselines::Baseline;
use kronos_tests::{
    demo,
    http::TestApi,
    process::{run_to_end, Proc},
    TestEnv,
};
use serde_json::{json, Value};

async fn finished(api: &TestApi, id: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let (_, job) = api.get(&format!("/v1/jobs/{id}")).await;
        match job["status"].as_str().unwrap_or_default() {
            "succeeded" => return job,
            "failed" | "cancelled" => panic!("job ended badly: {job}"),
            _ => {}
        }
        assert!(started.elapsed() < limit, "job did not finish in {limit:?}: {job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn submit(api: &TestApi, path: &str, body: &Value) -> String {
    let (status, created) = api.post_json(path, body).await;
    assert_eq!(status, 202, "{created}");
    created["job"]["id"].as_str().unwrap().to_owned()
}

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Timestamptz)]
    predicted_at: chrono::DateTime<chrono::Utc>,
    #[diesel(sql_type = Array<Double>)]
    forecast: Vec<f64>,
    #[diesel(sql_type = Array<Double>)]
    actual: Vec<f64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluations_fill_accuracy_from_the_first_day() {
    let env = TestEnv::new().await;
    demo::import_stocks(&env);
    // a small Kronos trained on GOOG before 2012
    let train = run_to_end(
        "kronos",
        &env,
        &[
            "train",
            "--preset",
            "mini",
            "--symbols",
            "GOOG",
            "--interval",
            "1d",
            "--to",
            "2011-12-31",
            "--steps",
            "12",
            "--tokenizer-steps",
            "4",
            "--lookback",
            "64",
            "--horizon",
            "5",
            "--batch-size",
            "8",
            "--eval-every",
            "6",
            "--lineage",
            "kronos-goog",
            "--json",
        ],
    );
    assert!(train.status.success(), "{}", String::from_utf8_lossy(&train.stderr));
    let api = TestApi::start(&env, true).await;
    let cache = env.scratch.join("model-cache");
    let _worker = Proc::start(
        "kronos-worker",
        &env,
        &["--devices", "cpu", "--max-wait-ms", "20"],
        &[("KRONOS_MODEL_CACHE", cache.display().to_string())],
    );

    let year = |model: Value| json!({"symbols": ["GOOG"], "interval": "1d", "from": "2012-01-01", "to": "2012-12-31", "model": model});
    let drift = submit(&api, "/v1/evaluations", &year(json!({"name": "drift", "context": 64, "horizon": 5}))).await;
    let kronos = submit(
        &api,
        "/v1/evaluations",
        &year(json!({"name": "kronos-goog", "context": 64, "horizon": 5, "samples": 1, "seed": 3})),
    )
    .await;
    for id in [&drift, &kronos] {
        let job = finished(&api, id, Duration::from_secs(300)).await;
        assert_eq!(job["links"]["result"], format!("/v1/evaluations/{id}"));
        let (status, result) = api.get(&format!("/v1/evaluations/{id}")).await;
        assert_eq!(status, 200, "{result}");
        // every trading day of 2012 with five bars after it (the demo file ends in 2013)
        assert_eq!(result["forecasts"], 250, "{result}");
        assert_eq!(result["failed_windows"], 0);
        assert_eq!(result["assets"][0]["first_forecast"], "2012-01-03T00:00:00Z");
        for side in ["model", "naive"] {
            assert!(result["accuracy"][side]["mae"].as_f64().unwrap() > 0.0, "{result}");
        }
    }

    // the drift forecasts are exactly the baseline on the 64 bars up to each day
    let bars = import::parse_file(&demo::file("stocks.csv.gz"), None, None).unwrap().series.remove("GOOG").unwrap();
    let mut conn = api.state.pool.get().await.unwrap();
    let stored: Vec<Stored> = diesel::sql_query(
        "SELECT predicted_at, forecast, actual FROM evaluation_results WHERE job_id = $1 ORDER BY predicted_at",
    )
    .bind::<diesel::sql_types::Uuid, _>(drift.parse::<uuid::Uuid>().unwrap())
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(stored.len(), 250);
    for row in [&stored[0], &stored[123], &stored[249]] {
        let t = bars.iter().position(|c| c.ts == row.predicted_at).unwrap();
        let history: Vec<[f64; 6]> =
            bars[t + 1 - 64..=t].iter().map(|c| [c.open, c.high, c.low, c.close, c.volume, c.amount]).collect();
        let want = Baseline::Drift.forecast(&history, 5).unwrap();
        for (k, got) in row.forecast.iter().enumerate() {
            assert!((got - want.mean[k][3]).abs() < 1e-9, "{}: step {k}", row.predicted_at);
        }
        let actual: Vec<f64> = bars[t + 1..=t + 5].iter().map(|c| c.close).collect();
        assert_eq!(row.actual, actual, "verified against the five bars after {}", row.predicted_at);
    }

    // accuracy shows both models beside naive, from evaluations
    let (status, accuracy) = api.get("/v1/accuracy?source=evaluation&asset=GOOG").await;
    assert_eq!(status, 200, "{accuracy}");
    let groups = accuracy["groups"].as_array().unwrap();
    let keys: Vec<&str> = groups.iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"drift") && keys.contains(&"kronos-goog"), "{accuracy}");
    for g in groups {
        assert_eq!(g["predictions"], 250);
        assert_eq!(g["steps"], 1250);
        for side in ["model", "naive"] {
            assert!(g[side]["mae"].as_f64().unwrap() > 0.0, "{g}");
        }
    }
    let (_, by_source) = api.get("/v1/accuracy?group_by=source").await;
    assert_eq!(by_source["groups"][0]["key"], "evaluation", "{by_source}");
    // filters naming nothing are 404s
    for path in ["/v1/accuracy?model=no-such-model", "/v1/accuracy?asset=NOPE", "/v1/accuracy?source=dreams"] {
        let (status, body) = api.get(path).await;
        assert!(status == 404 || status == 422, "{path}: {status} {body}");
        assert!(body["error"]["code"].is_string());
    }
    assert_eq!(api.get("/v1/accuracy?model=no-such-model").await.0, 404);

    // a backdated prediction sees the bars up to its as_of only, and is verified at once
    let body = json!({"symbol": "GOOG", "interval": "1d", "horizon": 3, "model": "drift", "context": 64,
                      "as_of": "2012-06-01"});
    let id = submit(&api, "/v1/predictions", &body).await;
    finished(&api, &id, Duration::from_secs(60)).await;
    let (_, prediction) = api.get(&format!("/v1/predictions/{id}")).await;
    assert_eq!(prediction["as_of"], "2012-06-01T00:00:00Z");
    assert_eq!(prediction["last_ts"], "2012-05-31T00:00:00Z", "the last bar that had closed by then");
    let verification = submit(&api, "/v1/verifications", &json!({})).await;
    let job = finished(&api, &verification, Duration::from_secs(60)).await;
    assert_eq!(job["result"]["verified"], 1, "{job}");
    let (_, live) = api.get("/v1/accuracy?source=live").await;
    assert_eq!(live["groups"][0]["key"], "drift");
    assert_eq!(live["groups"][0]["predictions"], 1);
}
