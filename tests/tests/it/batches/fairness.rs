//! Fairness: interactive predictions keep their pace beside a large batch, and a second
//! tenant's batch progresses while the first runs.

use super::*;

/// p99 of a sample (its largest value below 100 observations).
fn p99(mut latencies: Vec<Duration>) -> Duration {
    latencies.sort();
    let index = ((latencies.len() as f64) * 0.99).ceil() as usize;
    latencies[index.saturating_sub(1).min(latencies.len() - 1)]
}

/// Runs `n` interactive predictions one after another; per prediction, the time from
/// submission to `succeeded` as the client saw it, and the job's own run (started →
/// finished, the server's clock).
async fn interactive(
    client: &reqwest::Client,
    api: &TestApi,
    candles: &[Candle],
    n: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut runs = Vec::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let body = json!({"candles": candles, "interval": "5m", "horizon": 4, "model": "tiny", "samples": 2,
                          "seed": i, "calendar": "always_open"});
        let started = Instant::now();
        let response = client.post(api.url("/v1/predictions")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 202);
        let job: Value = response.json().await.unwrap();
        let id = job["job"]["id"].as_str().unwrap().to_owned();
        loop {
            let (_, job) = get(client, api, &format!("/v1/jobs/{id}")).await;
            match job["status"].as_str() {
                Some("succeeded") => {
                    let at = |field: &str| chrono::DateTime::parse_from_rfc3339(job[field].as_str().unwrap()).unwrap();
                    runs.push((at("finished_at") - at("started_at")).to_std().unwrap_or_default());
                    break;
                }
                Some("failed" | "cancelled") => panic!("{job}"),
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{job}");
        }
        out.push(started.elapsed());
    }
    (out, runs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tenants_take_turns_and_interactive_predictions_keep_their_pace() {
    let env = TestEnv::new().await;
    kronos_tests::fixtures::import_kronos_tiny(&env, "tiny");
    let api = TestApi::start(&env, true).await;
    let cache = env.scratch.join("model-cache");
    let _worker = worker(&env, &[("KRONOS_MODEL_CACHE", cache.display().to_string())]);
    let (big, small, person) =
        (enterprise(&env, "big").await, enterprise(&env, "small").await, enterprise(&env, "person").await);
    let rows = fixture_candles(96);
    let person_client = person.client();
    interactive(&person_client, &api, &rows, 2).await; // loads the model
    let (idle, idle_runs) = interactive(&person_client, &api, &rows, 12).await;

    // tenant A: a large Kronos batch; tenant B: a small one sent after it
    let upload = |n: usize, prefix: &str| {
        let series: Vec<BatchSeries> = (0..n)
            .map(|i| BatchSeries { id: format!("{prefix}{i}"), candles: rows[i % 16..i % 16 + 64].to_vec() })
            .collect();
        batch_files::write_chunk(&series).unwrap()
    };
    let query = "model=tiny&interval=5m&horizon=4&samples=2&calendar=always_open";
    let (status, a) = upload_parquet(&big.client(), &api, query, upload(4_000, "a")).await;
    assert_eq!(status, 202, "{a}");
    let a_id = a["id"].as_str().unwrap().to_owned();
    wait_batch(&big.client(), &api, &a_id, Duration::from_secs(120), |b| b["series"]["done"].as_i64() >= Some(64))
        .await;
    let (status, b) = upload_parquet(&small.client(), &api, query, upload(256, "b")).await;
    assert_eq!(status, 202, "{b}");
    let b_id = b["id"].as_str().unwrap().to_owned();
    let (loaded, loaded_runs) = interactive(&person_client, &api, &rows, 12).await;
    let b_done = wait_batch(&small.client(), &api, &b_id, Duration::from_secs(300), ended).await;
    assert_eq!(b_done["status"], "succeeded", "{b_done}");
    let (_, a_now) = get(&big.client(), &api, &format!("/v1/batches/{a_id}")).await;
    assert_eq!(a_now["status"], "running", "the small tenant's batch should finish while the big one runs: {a_now}");
    let millis = |times: &[Duration]| times.iter().map(|t| t.as_millis()).collect::<Vec<_>>();
    eprintln!("interactive Kronos latencies (ms): idle {:?}, loaded {:?}", millis(&idle), millis(&loaded));
    eprintln!("their runs, started → finished (ms): idle {:?}, loaded {:?}", millis(&idle_runs), millis(&loaded_runs));
    let (idle_p99, loaded_p99) = (p99(idle), p99(loaded));
    eprintln!(
        "interactive Kronos p99: idle {idle_p99:?}, beside a 4,000-series batch {loaded_p99:?}; tenant B's 256 series \
         done while tenant A had {} of 4,000",
        a_now["series"]["done"]
    );
    // asserted loosely (a shared machine) on the jobs' runs: within 2× of idle, plus
    // scheduling noise. The client's times also hold the wait before a worker fetches
    // the job, which apalis 1.0 sometimes stretches to its 2 s heartbeat, idle or not
    // (printed above; not what a batch changes)
    let (idle_run_p99, loaded_run_p99) = (p99(idle_runs), p99(loaded_runs));
    assert!(
        loaded_run_p99 <= idle_run_p99 * 2 + Duration::from_millis(500),
        "runs: idle {idle_run_p99:?}, loaded {loaded_run_p99:?}"
    );
    let response = big.client().post(api.url(&format!("/v1/batches/{a_id}/cancel"))).send().await.unwrap();
    assert_eq!(response.status(), 200);
}
