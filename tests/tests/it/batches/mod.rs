//! Bulk batches through a real worker process: a 10,000-series Parquet upload with bad
//! series mixed in (reported by id, row and reason; every good series exactly
//! `horizon` rows, equal to single predictions), Kronos batches equal to single
//! predictions with the same seed, gzip CSV multipart uploads and CSV results, who may
//! send batches and see them, cancellation, a worker killed mid-batch, signed callbacks
//! retried after a failure, and SSRF targets refused.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kronos_batches_equal_single_predictions_and_uploads_take_gzip_csv() {
    let env = TestEnv::new().await;
    kronos_tests::fixtures::import_kronos_tiny(&env, "tiny");
    let api = TestApi::start(&env, true).await;
    let cache = env.scratch.join("model-cache");
    let _worker = worker(&env, &[("KRONOS_MODEL_CACHE", cache.display().to_string())]);
    let owner = enterprise(&env, "kronos").await;
    let client = owner.client();

    let rows = fixture_candles(160);
    let mut inline: Vec<Value> = [90usize, 120, 160, 100]
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"id": format!("k{i}"), "candles": rows[..*n]}))
        .collect();
    let mut broken = rows[..50].to_vec();
    broken[10].low = broken[10].high * 2.0;
    inline.push(json!({"id": "broken", "candles": broken}));
    let settings = json!({"model": "tiny", "interval": "5m", "horizon": 4, "samples": 3, "seed": 11,
                          "calendar": "always_open"});
    let mut body = settings.clone();
    body["series"] = json!(inline);
    let response = client.post(api.url("/v1/batches")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let batch = wait_batch(&client, &api, &id, Duration::from_secs(120), ended).await;
    assert_eq!(batch["status"], "succeeded", "{batch}");
    assert_eq!(batch["input_format"], "json");
    let (rows_out, errors) = results(&client, &api, &id).await;
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].series_id.as_str(), errors[0].row), ("broken", Some(11)));
    let grouped = by_series(&rows_out);
    for (i, n) in [(0usize, 90usize), (2, 160)] {
        let mut single = settings.clone();
        single["candles"] = json!(rows[..n]);
        let response = client.post(api.url("/v1/predictions")).json(&single).send().await.unwrap();
        assert_eq!(response.status(), 202);
        let job: Value = response.json().await.unwrap();
        let job_id = job["job"]["id"].as_str().unwrap().to_owned();
        let started = Instant::now();
        let prediction = loop {
            let (status, p) = get(&client, &api, &format!("/v1/predictions/{job_id}")).await;
            if status == 200 {
                break p;
            }
            assert!(started.elapsed() < Duration::from_secs(60));
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_equal_to_single(&grouped[format!("k{i}").as_str()], &prediction);
    }

    // a gzip CSV as a multipart upload, results as CSV
    let mut csv = "series_id,ts,open,high,low,close,volume\n".to_owned();
    for s in [series("a", 20, 1), series("b", 25, 2), series("c", 3, 3)] {
        for c in &s.candles {
            csv.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                s.id,
                kronos_types::rfc3339(c.ts),
                c.open,
                c.high,
                c.low,
                c.close,
                c.volume
            ));
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, csv.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let form = reqwest::multipart::Form::new()
        .text("settings", json!({"model": "naive", "interval": "1d", "horizon": 3}).to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(gz).file_name("series.csv.gz").mime_str("application/gzip").unwrap(),
        );
    let response = client.post(api.url("/v1/batches")).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let batch = wait_batch(&client, &api, &id, Duration::from_secs(60), ended).await;
    assert_eq!(batch["status"], "succeeded", "{batch}");
    assert_eq!((batch["series"]["total"].as_i64(), batch["series"]["invalid"].as_i64()), (Some(2), Some(1)));
    let (status, text) = download(&client, &api, &id, "?format=csv&table=errors").await;
    assert_eq!(status, 200);
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with("series_id,row,reason\nc,,3 bars;"), "{text}");

    // malformed uploads are refused, and a file that is no Parquet fails its batch
    let form = reqwest::multipart::Form::new().text("settings", "{\"model\": 3}");
    let response = client.post(api.url("/v1/batches")).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let response =
        client.post(api.url("/v1/batches")).header("content-type", "image/png").body("x").send().await.unwrap();
    assert_eq!(response.status(), 415);
    let (status, created) =
        upload_parquet(&client, &api, "model=naive&interval=1d&horizon=3", b"not parquet".to_vec()).await;
    assert_eq!(status, 202);
    let failed = wait_batch(&client, &api, created["id"].as_str().unwrap(), Duration::from_secs(60), ended).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("Parquet"), "{failed}");
    let (status, _) = download(&client, &api, created["id"].as_str().unwrap(), "").await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_batch_keeps_what_finished_and_a_killed_worker_loses_nothing() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, true).await;
    let one_per_chunk = [("KRONOS_BATCH_CHUNK_SERIES", "1".to_owned())];
    let mut first = worker(&env, &one_per_chunk);
    let owner = enterprise(&env, "cancel").await;
    let client = owner.client();
    let all: Vec<BatchSeries> = (0..600u64).map(|i| series(&format!("c{i}"), 20, i)).collect();
    let (status, created) =
        upload_parquet(&client, &api, "model=drift&interval=1d&horizon=5", batch_files::write_chunk(&all).unwrap())
            .await;
    assert_eq!(status, 202);
    let id = created["id"].as_str().unwrap().to_owned();
    wait_batch(&client, &api, &id, Duration::from_secs(60), |b| b["series"]["done"].as_i64() >= Some(1)).await;
    let response = client.post(api.url(&format!("/v1/batches/{id}/cancel"))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let batch = wait_batch(&client, &api, &id, Duration::from_secs(60), ended).await;
    assert_eq!(batch["status"], "cancelled", "{batch}");
    let done = batch["series"]["done"].as_i64().unwrap();
    assert!((1..600).contains(&done), "{batch}");
    let (rows, errors) = results(&client, &api, &id).await;
    let grouped = by_series(&rows);
    assert_eq!(grouped.len() as i64, done);
    assert!(grouped.values().all(|r| r.len() == 5));
    assert_eq!(errors.len() as i64, 600 - done);
    assert!(errors.iter().all(|e| e.reason.contains("cancelled") && !grouped.contains_key(e.series_id.as_str())));

    // a worker killed mid-batch: its chunks go to the next worker, every series once
    let all: Vec<BatchSeries> = (0..400u64).map(|i| series(&format!("k{i}"), 20, i)).collect();
    let (status, created) =
        upload_parquet(&client, &api, "model=drift&interval=1d&horizon=5", batch_files::write_chunk(&all).unwrap())
            .await;
    assert_eq!(status, 202);
    let id = created["id"].as_str().unwrap().to_owned();
    wait_batch(&client, &api, &id, Duration::from_secs(60), |b| b["series"]["done"].as_i64() >= Some(20)).await;
    first.kill9();
    let mid = wait_batch(&client, &api, &id, Duration::from_secs(5), |_| true).await;
    assert!(mid["series"]["done"].as_i64() < Some(400), "the batch ended before the kill: {mid}");
    let _second = worker(&env, &one_per_chunk);
    let batch = wait_batch(&client, &api, &id, Duration::from_secs(120), ended).await;
    assert_eq!(batch["status"], "succeeded", "{batch}");
    let (rows, errors) = results(&client, &api, &id).await;
    assert!(errors.is_empty(), "{errors:?}");
    let grouped = by_series(&rows);
    assert_eq!(grouped.len(), 400);
    assert!(grouped.values().all(|r| r.len() == 5), "every series exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callbacks_are_signed_retried_and_refused_for_internal_addresses() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, true).await;
    let _worker = worker(&env, &[]);
    let owner = enterprise(&env, "hooks").await;
    let client = owner.client();
    let secret: String = {
        let mut conn = api.state.pool.get().await.unwrap();
        let key: i64 = {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            kronos_db::schema::api_keys::table
                .filter(kronos_db::schema::api_keys::user_id.eq(owner.id))
                .select(kronos_db::schema::api_keys::id)
                .first(&mut conn)
                .await
                .unwrap()
        };
        kronos_db::callbacks::signing_secret(&mut conn, owner.id, Some(key)).await.unwrap()
    };
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");

    // SSRF: internal addresses are refused where they enter
    for url in
        ["http://169.254.169.254/latest/meta-data", "http://10.0.0.8/hook", "http://[fd00::1]/x", "ftp://example.com/"]
    {
        let body = json!({"model": "naive", "interval": "1d", "horizon": 3, "callback_url": url,
                          "series": [{"id": "a", "candles": series("a", 10, 1).candles}]});
        let response = client.post(api.url("/v1/batches")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 422, "{url}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], "callback_url", "{error}");
        let mut single = kronos_tests::sample::inline_request(30, 2, "naive");
        single["callback_url"] = json!(url);
        let response = client.post(api.url("/v1/predictions")).json(&single).send().await.unwrap();
        assert_eq!(response.status(), 422, "{url}");
    }

    // a receiver that fails once, then takes it
    let receiver = Receiver::start(&[500]).await;
    let body = json!({"model": "naive", "interval": "1d", "horizon": 3, "callback_url": receiver.url,
                      "series": [{"id": "a", "candles": series("a", 10, 1).candles},
                                 {"id": "b", "candles": series("b", 12, 2).candles}]});
    let response = client.post(api.url("/v1/batches")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let batch =
        wait_batch(&client, &api, &id, Duration::from_secs(60), |b| b["callback"]["status"] == "delivered").await;
    let attempts = batch["callback"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{batch}");
    assert_eq!((attempts[0]["status_code"].as_i64(), attempts[1]["status_code"].as_i64()), (Some(500), Some(200)));
    assert!(attempts[0]["error"].as_str().unwrap().contains("500"));
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].headers["kronos-event-id"], received[1].headers["kronos-event-id"]);
    for delivery in &received {
        let header = delivery.headers["kronos-signature"].to_str().unwrap();
        let now = Utc::now().timestamp();
        kronos_auth::signature::verify(header, &delivery.body, &[&secret], now, 300).expect("a valid signature");
        assert!(kronos_auth::signature::verify(header, &delivery.body, &["whsec_other"], now, 300).is_err());
    }
    let posted: Value = serde_json::from_slice(&received[1].body).unwrap();
    assert_eq!(posted["type"], "batch.finished");
    assert_eq!(posted["data"]["id"], id.as_str());
    assert_eq!(posted["data"]["status"], "succeeded");
    assert_eq!(posted["data"]["series_forecast"], 2);

    // a job's own callback
    let job_receiver = Receiver::start(&[]).await;
    let mut single = kronos_tests::sample::inline_request(30, 2, "naive");
    single["callback_url"] = json!(job_receiver.url);
    let response = client.post(api.url("/v1/predictions")).json(&single).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let job: Value = response.json().await.unwrap();
    let started = Instant::now();
    while job_receiver.received().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(30), "no job callback");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivery = &job_receiver.received()[0];
    let header = delivery.headers["kronos-signature"].to_str().unwrap();
    kronos_auth::signature::verify(header, &delivery.body, &[&secret], Utc::now().timestamp(), 300).unwrap();
    let posted: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!((posted["type"].as_str(), posted["data"]["status"].as_str()), (Some("job.finished"), Some("succeeded")));
    assert_eq!(posted["data"]["id"], job["job"]["id"]);
    let job_id = job["job"]["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let (_, view) = get(&client, &api, &format!("/v1/jobs/{job_id}")).await;
        if view["callback"]["status"] == "delivered" {
            assert_eq!(view["callback"]["attempts"][0]["status_code"], 200, "{view}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{view}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_on_s3_are_streamed_or_presigned() {
    let env = TestEnv::with_store(kronos_tests::StoreKind::S3).await;
    let api = TestApi::start(&env, true).await;
    let _worker = worker(&env, &[]);
    let owner = enterprise(&env, "s3").await;
    let client = owner.client();
    let body = json!({"model": "drift", "interval": "1d", "horizon": 4,
                      "series": [{"id": "a", "candles": series("a", 30, 1).candles},
                                 {"id": "b", "candles": series("b", 30, 2).candles}]});
    let response = client.post(api.url("/v1/batches")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let batch = wait_batch(&client, &api, &id, Duration::from_secs(60), ended).await;
    assert_eq!(batch["status"], "succeeded", "{batch}");
    let (status, streamed) = download(&client, &api, &id, "").await;
    assert_eq!(status, 200);
    assert_eq!(batch_files::read_results(streamed.clone()).unwrap().len(), 8);
    let (status, presigned) = get(&client, &api, &format!("/v1/batches/{id}/results?presign=true")).await;
    assert_eq!(status, 200, "{presigned}");
    let url = presigned["url"].as_str().unwrap();
    // no credentials of ours: the URL carries its own signature
    let fetched = reqwest::get(url).await.unwrap();
    assert_eq!(fetched.status(), 200, "{url}");
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), streamed);
    let (status, error) = get(&client, &api, &format!("/v1/batches/{id}/results?presign=maybe")).await;
    assert_eq!((status, error["error"]["field"].as_str()), (422, Some("presign")));
}
