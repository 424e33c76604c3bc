//! Bulk batches through a real worker process: a 10,000-series Parquet upload with bad
//! series mixed in (reported by id, row and reason; every good series exactly
//! `horizon` rows, equal to single predictions) and who may send batches and see them.
//! Kronos batches, gzip CSV uploads and CSV results are in `kronos`; cancellation and a
//! killed worker in `recovery`; signed callbacks in `callbacks`; fairness across
//! tenants and people in `fairness`. The helpers here serve them all.

mod callbacks;
mod fairness;
mod kronos;
mod recovery;

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use chrono::{TimeZone, Utc};
use kronos_market_data::batch_files::{self, BatchSeries, ResultRow};
use kronos_tests::{
    accounts::{create_user, TestUser},
    callback_receiver::Receiver,
    http::TestApi,
    process::Proc,
    TestEnv,
};
use kronos_types::{
    accounts::{Role, Tier},
    batches::SeriesError,
    Candle,
};
use serde_json::{json, Value};

fn unique(name: &str) -> String {
    format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

async fn enterprise(env: &TestEnv, name: &str) -> TestUser {
    create_user(env, &unique(name), Role::User, Tier::Enterprise, true).await
}

/// `n` daily bars of a walk seeded by `seed`.
fn series(id: &str, n: usize, seed: u64) -> BatchSeries {
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let mut close = 50.0 + (seed % 97) as f64;
    let candles = (0..n)
        .map(|i| {
            let open = close;
            let step = (((i as u64 + 1) * 7919 + seed * 104_729) % 17) as f64 / 17.0 - 0.47;
            close = (open * (1.0 + step * 0.03)).max(1.0);
            Candle {
                ts: start + chrono::Duration::days(i as i64),
                open,
                high: open.max(close) * 1.01,
                low: open.min(close) * 0.99,
                close,
                volume: 1000.0 + i as f64,
                amount: 0.0,
            }
        })
        .collect();
    BatchSeries { id: id.to_owned(), candles }
}

fn worker(env: &TestEnv, extra: &[(&str, String)]) -> Proc {
    Proc::start("kronos-worker", env, &["--devices", "cpu", "--concurrency", "8", "--max-wait-ms", "20"], extra)
}

async fn upload_parquet(client: &reqwest::Client, api: &TestApi, query: &str, body: Vec<u8>) -> (u16, Value) {
    let response = client
        .post(api.url(&format!("/v1/batches?{query}")))
        .header("content-type", "application/vnd.apache.parquet")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(client: &reqwest::Client, api: &TestApi, path: &str) -> (u16, Value) {
    let response = client.get(api.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Polls the batch until `done` says so.
async fn wait_batch(
    client: &reqwest::Client,
    api: &TestApi,
    id: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let (status, batch) = get(client, api, &format!("/v1/batches/{id}")).await;
        assert_eq!(status, 200, "{batch}");
        if done(&batch) {
            return batch;
        }
        assert!(started.elapsed() < limit, "batch not there in {limit:?}: {batch}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ended(batch: &Value) -> bool {
    matches!(batch["status"].as_str(), Some("succeeded" | "failed" | "cancelled"))
}

async fn download(client: &reqwest::Client, api: &TestApi, id: &str, query: &str) -> (u16, Vec<u8>) {
    let response = client.get(api.url(&format!("/v1/batches/{id}/results{query}"))).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

async fn results(client: &reqwest::Client, api: &TestApi, id: &str) -> (Vec<ResultRow>, Vec<SeriesError>) {
    let (status, bytes) = download(client, api, id, "").await;
    assert_eq!(status, 200);
    let rows = batch_files::read_results(bytes).unwrap();
    let (status, bytes) = download(client, api, id, "?table=errors").await;
    assert_eq!(status, 200);
    (rows, batch_files::read_errors(bytes).unwrap())
}

fn by_series(rows: &[ResultRow]) -> HashMap<&str, Vec<&ResultRow>> {
    let mut out: HashMap<&str, Vec<&ResultRow>> = HashMap::new();
    for row in rows {
        out.entry(row.series_id.as_str()).or_default().push(row);
    }
    out
}

fn close_to(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// The single prediction of `candles` with `extra` settings, as its job stored it.
async fn single_prediction(client: &reqwest::Client, api: &TestApi, candles: &[Candle], extra: Value) -> Value {
    let mut body = json!({"candles": candles, "interval": "1d", "horizon": 5, "model": "drift"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let response = client.post(api.url("/v1/predictions")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let created: Value = response.json().await.unwrap();
    let id = created["job"]["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let (status, prediction) = get(client, api, &format!("/v1/predictions/{id}")).await;
        if status == 200 {
            return prediction;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "prediction {id} not done");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_equal_to_single(rows: &[&ResultRow], single: &Value) {
    let forecast = single["forecast"].as_array().unwrap();
    assert_eq!(rows.len(), forecast.len());
    for (row, step) in rows.iter().zip(forecast) {
        assert_eq!(
            Some(row.ts.timestamp()),
            chrono::DateTime::parse_from_rfc3339(step["ts"].as_str().unwrap()).ok().map(|t| t.timestamp())
        );
        for (value, field) in [(row.forecast, "close"), (row.p10, "p10"), (row.p50, "p50"), (row.p90, "p90")] {
            assert!(close_to(value, step[field].as_f64().unwrap()), "{field}: {value} vs {}", step[field]);
        }
        assert!(close_to(row.prob_up, single["prob_up"].as_f64().unwrap()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_parquet_batch_of_ten_thousand_series_reports_its_bad_ones_and_equals_single_predictions() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, true).await;
    let _worker = worker(&env, &[]);
    let owner = enterprise(&env, "ent").await;
    let client = owner.client();

    let mut all: Vec<BatchSeries> = Vec::new();
    let mut bad: HashMap<String, &'static str> = HashMap::new();
    let mut bad_rows: HashMap<String, u64> = HashMap::new();
    let mut row = 0u64;
    for i in 0..10_000u64 {
        let id = format!("S{i:05}");
        let mut s = series(&id, 30, i);
        if i % 270 == 5 && bad.len() < 37 {
            match bad.len() % 4 {
                0 => {
                    let c = &mut s.candles[7];
                    c.high = c.low * 0.5;
                    bad.insert(id.clone(), "high");
                    bad_rows.insert(id.clone(), row + 8);
                }
                1 => {
                    s.candles[12].close = -3.0;
                    bad.insert(id.clone(), "close");
                    bad_rows.insert(id.clone(), row + 13);
                }
                2 => {
                    s.candles.truncate(2);
                    bad.insert(id.clone(), "needs at least");
                }
                _ => {
                    s.candles[20].ts = s.candles[19].ts;
                    bad.insert(id.clone(), "twice");
                }
            }
        }
        row += s.candles.len() as u64;
        all.push(s);
    }
    assert_eq!(bad.len(), 37);
    let parquet = batch_files::write_chunk(&all).unwrap();

    // who may: a free user has no batches; bad settings name their field
    let free = create_user(&env, &unique("free"), Role::User, Tier::Free, true).await;
    let (status, refused) =
        upload_parquet(&free.client(), &api, "model=drift&interval=1d&horizon=5", parquet.clone()).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "tier_required");
    for (query, field) in [
        ("model=drift&interval=2d&horizon=5", "interval"),
        ("model=drift&interval=1d&horizon=0", "horizon"),
        ("model=nope&interval=1d&horizon=5", "model"),
        ("model=drift&interval=1d&horizon=5&samples=4", "samples"),
        ("model=drift&interval=1d&horizon=5&format=xlsx", "format"),
        ("interval=1d&horizon=5", "model"),
    ] {
        let (status, error) = upload_parquet(&client, &api, query, parquet.clone()).await;
        assert_eq!(status, 422, "{query}: {error}");
        assert_eq!(error["error"]["field"], field, "{query}: {error}");
    }
    // refused before its body was read: the answer closes the connection, so the client
    // does not send its next request into a socket the server is dropping
    let response = client
        .post(api.url("/v1/batches?interval=1d&horizon=5"))
        .header("content-type", "application/vnd.apache.parquet")
        .body(parquet.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(response.headers().get("connection").map(|v| v.as_bytes()), Some(&b"close"[..]));
    // a body that was read keeps the connection open
    let response = client.post(api.url("/v1/batches")).json(&json!({"model": "nope"})).send().await.unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(response.headers().get("connection"), None);

    let started = Instant::now();
    let (status, created) = upload_parquet(&client, &api, "model=drift&interval=1d&horizon=5", parquet).await;
    assert_eq!(status, 202, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["input_format"], "parquet");
    // another user sees nothing of it
    let stranger = enterprise(&env, "stranger").await.client();
    for path in [format!("/v1/batches/{id}"), format!("/v1/batches/{id}/results")] {
        assert_eq!(get(&stranger, &api, &path).await.0, 404, "{path}");
    }
    let cancel = stranger.post(api.url(&format!("/v1/batches/{id}/cancel"))).send().await.unwrap();
    assert_eq!(cancel.status(), 404);
    let (_, listed) = get(&stranger, &api, "/v1/batches").await;
    assert_eq!(listed["batches"].as_array().unwrap().len(), 0);

    let batch = wait_batch(&client, &api, &id, Duration::from_secs(240), ended).await;
    let took = started.elapsed();
    assert_eq!(batch["status"], "succeeded", "{batch}");
    assert_eq!(batch["series"]["total"], 10_000 - 37);
    assert_eq!(batch["series"]["invalid"], 37);
    assert_eq!(batch["series"]["done"], 10_000 - 37);
    assert_eq!(batch["series"]["failed"], 0);
    assert_eq!(batch["progress"], 1.0);
    eprintln!("10,000-series drift batch: {took:?} from upload to results");

    let (rows, errors) = results(&client, &api, &id).await;
    let grouped = by_series(&rows);
    assert_eq!(grouped.len(), 10_000 - 37);
    assert!(grouped.values().all(|r| r.len() == 5 && r.iter().enumerate().all(|(i, row)| row.step == i as u32 + 1)));
    assert_eq!(errors.len(), 37, "{errors:?}");
    for error in &errors {
        let expected = bad.get(&error.series_id).unwrap_or_else(|| panic!("unexpected error {error:?}"));
        assert!(error.reason.contains(expected), "{error:?} should mention {expected}");
        if let Some(row) = bad_rows.get(&error.series_id) {
            assert_eq!(error.row, Some(*row), "{error:?}");
        }
        assert!(!grouped.contains_key(error.series_id.as_str()));
    }

    // every good series equals its single prediction
    for i in [0u64, 4_321, 9_999] {
        let s = &all[i as usize];
        let single = single_prediction(&client, &api, &s.candles, json!({})).await;
        assert_equal_to_single(&grouped[s.id.as_str()], &single);
    }

    // CSV on request; listing; nothing to cancel any more
    let (status, csv) = download(&client, &api, &id, "?format=csv").await;
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("series_id,step,ts,forecast,p10,p50,p90,prob_up\n"), "{}", &csv[..80]);
    assert_eq!(csv.lines().count(), 1 + (10_000 - 37) * 5);
    let (_, listed) = get(&client, &api, "/v1/batches").await;
    assert_eq!(listed["batches"][0]["id"], id.as_str());
    let again = client.post(api.url(&format!("/v1/batches/{id}/cancel"))).send().await.unwrap();
    assert_eq!(again.status(), 409);
}

fn fixture_candles(n: usize) -> Vec<Candle> {
    let text = std::fs::read_to_string(kronos_tests::fixtures::kronos_tiny_dir().join("input.csv")).unwrap();
    text.lines()
        .skip(1)
        .take(n)
        .map(|line| {
            let v: Vec<&str> = line.split(',').collect();
            let ts = chrono::NaiveDateTime::parse_from_str(v[0], "%Y-%m-%d %H:%M:%S").unwrap().and_utc();
            let f = |i: usize| v[i].parse::<f64>().unwrap();
            Candle { ts, open: f(1), high: f(2), low: f(3), close: f(4), volume: f(5), amount: f(6) }
        })
        .collect()
}
