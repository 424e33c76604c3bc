//! Kronos served by prediction jobs: models registered through the CLI, jobs submitted
//! concurrently through the API (so the worker batches them), and every forecast equal
//! to what `kronos forecast` prints for the same inputs, seed and parameters.

use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use kronos_db::models;
use kronos_tests::{
    http::TestApi,
    process::{run_to_end, Proc},
    TestEnv,
};
use serde_json::{json, Value};

/// The fixture's candles as CSV lines (without header) and their times.
fn fixture_rows() -> Vec<(NaiveDateTime, String)> {
    let text = std::fs::read_to_string(kronos_tests::fixtures::kronos_tiny_dir().join("input.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let ts = NaiveDateTime::parse_from_str(line.split(',').next().unwrap(), "%Y-%m-%d %H:%M:%S").unwrap();
            (ts, line.to_owned())
        })
        .collect()
}

fn cli_ok(env: &TestEnv, args: &[&str]) -> String {
    let out = run_to_end("kronos", env, args);
    assert!(out.status.success(), "kronos {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// One prediction: the request's extra fields and the matching CLI flags.
struct Case {
    model: &'static str,
    rows: usize,
    horizon: usize,
    extra: Value,
    flags: Vec<String>,
}

fn case(model: &'static str, rows: usize, horizon: usize, extra: Value) -> Case {
    let mut flags = vec!["--pred-len".to_owned(), horizon.to_string()];
    for (field, flag) in [
        ("samples", "--samples"),
        ("seed", "--seed"),
        ("top_k", "--top-k"),
        ("top_p", "--top-p"),
        ("temperature", "--temperature"),
        ("max_context", "--max-context"),
    ] {
        if let Some(v) = extra.get(field) {
            flags.push(flag.to_owned());
            flags.push(v.to_string());
        }
    }
    Case { model, rows, horizon, extra, flags }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-4 * b.abs() + 1e-6
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kronos_jobs_equal_the_cli() {
    jobs_equal_the_cli("dynamic").await;
}

/// The same jobs through a worker that decodes continuously (the default on GPUs):
/// requests join the running decode, and the one whose window slides is batched
/// dynamically.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kronos_jobs_decoded_continuously_equal_the_cli() {
    jobs_equal_the_cli("continuous").await;
}

/// Prediction jobs through the API and a worker batching with `decode` give what the
/// CLI gives for the same series.
async fn jobs_equal_the_cli(decode: &str) {
    let env = TestEnv::new().await;
    let fixtures = kronos_tests::fixtures::kronos_tiny_dir();
    let (tok, pred) = (fixtures.join("tokenizer"), fixtures.join("predictor"));
    let (tok, pred) = (tok.to_str().unwrap(), pred.to_str().unwrap());
    cli_ok(&env, &["models", "import", "--name", "tiny", "--tokenizer", tok, "--predictor", pred]);
    let again =
        run_to_end("kronos", &env, &["models", "import", "--name", "tiny", "--tokenizer", tok, "--predictor", pred]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad =
        run_to_end("kronos", &env, &["models", "import", "--name", "broken", "--tokenizer", pred, "--predictor", pred]);
    assert!(!bad.status.success(), "a predictor is not a tokenizer");
    cli_ok(&env, &["models", "init", "--preset", "mini", "--seed", "3", "--name", "mini-random"]);
    assert!(cli_ok(&env, &["models", "list"]).contains("mini-random"));

    let api = TestApi::start(&env, true).await;
    let cache = env.scratch.join("model-cache");
    let _worker = Proc::start(
        "kronos-worker",
        &env,
        &["--devices", "cpu", "--concurrency", "8", "--max-wait-ms", "200", "--decode", decode],
        &[("KRONOS_MODEL_CACHE", cache.display().to_string())],
    );

    let cases = [
        case("tiny", 120, 8, json!({"samples": 4, "seed": 11})),
        case("tiny", 200, 8, json!({"samples": 2, "seed": 5, "top_k": 5, "temperature": 0.8})),
        case("tiny", 90, 8, json!({"top_k": 1, "max_context": 64})),
        case("mini-random", 100, 4, json!({"samples": 3, "seed": 1, "top_p": 0.5})),
    ];
    let rows = fixture_rows();
    let mut ids = Vec::new();
    for c in &cases {
        let candles: Vec<Value> = rows[..c.rows]
            .iter()
            .map(|(ts, line)| {
                let v: Vec<f64> = line.split(',').skip(1).map(|x| x.parse().unwrap()).collect();
                json!({"ts": ts.and_utc().to_rfc3339(), "open": v[0], "high": v[1], "low": v[2], "close": v[3], "volume": v[4], "amount": v[5]})
            })
            .collect();
        // the CLI continues the CSV's own spacing: an always-open calendar
        let mut body = json!({"candles": candles, "interval": "5m", "horizon": c.horizon, "model": c.model,
                              "calendar": "always_open"});
        for (k, v) in c.extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, created) = api.post_json("/v1/predictions", &body).await;
        assert_eq!(status, 202, "{created}");
        ids.push(created["job"]["id"].as_str().unwrap().to_owned());
    }

    let started = Instant::now();
    for id in &ids {
        loop {
            let (_, job) = api.get(&format!("/v1/jobs/{id}")).await;
            match job["status"].as_str().unwrap_or_default() {
                "succeeded" => break,
                "failed" | "cancelled" => panic!("job failed: {job}"),
                _ => {}
            }
            assert!(started.elapsed() < Duration::from_secs(120), "jobs did not finish: {job}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    let mini_id = {
        let mut conn = api.state.pool.get().await.unwrap();
        models::find_by_name(&mut conn, "mini-random").await.unwrap().unwrap().id
    };
    for (c, id) in cases.iter().zip(&ids) {
        let csv = env.scratch.join(format!("{id}.csv"));
        let mut text = "timestamps,open,high,low,close,volume,amount\n".to_owned();
        for (_, line) in &rows[..c.rows] {
            text.push_str(line);
            text.push('\n');
        }
        std::fs::write(&csv, text).unwrap();
        let dirs = if c.model == "tiny" {
            (tok.to_owned(), pred.to_owned())
        } else {
            let root = cache.join(mini_id.to_string());
            (root.join("tokenizer").display().to_string(), root.join("predictor").display().to_string())
        };
        let mut args =
            vec!["forecast", "--tokenizer", &dirs.0, "--predictor", &dirs.1, "--csv", csv.to_str().unwrap(), "--json"];
        args.extend(c.flags.iter().map(String::as_str));
        let cli: Value = serde_json::from_str(&cli_ok(&env, &args)).unwrap();

        let (status, p) = api.get(&format!("/v1/predictions/{id}")).await;
        assert_eq!(status, 200, "{p}");
        assert_eq!(p["model"], c.model);
        let api_rows = p["forecast"].as_array().unwrap();
        assert_eq!(api_rows.len(), c.horizon);
        let (_, with_raw) = api.get(&format!("/v1/predictions/{id}?include=raw")).await;
        // the CLI prints the API's fields: the same rows, raw path, direction and risk
        for (table, api_table) in [("forecast", &p["forecast"]), ("raw_forecast", &with_raw["raw_forecast"])] {
            for (i, row) in api_table.as_array().unwrap().iter().enumerate() {
                let want = &cli[table][i];
                for field in ["open", "high", "low", "close", "volume", "amount"] {
                    let (got, want) = (row[field].as_f64().unwrap(), want[field].as_f64().unwrap());
                    assert!(close(got, want), "{} {table} row {i} {field}: api {got}, cli {want}", c.model);
                }
                assert_eq!(row["ts"], want["ts"], "{table} row {i}");
            }
        }
        for (i, row) in api_rows.iter().enumerate() {
            for q in ["p10", "p50", "p90"] {
                let (got, want) = (row[q].as_f64().unwrap(), cli["forecast"][i][q].as_f64().unwrap());
                assert!(close(got, want), "row {i} {q}: api {got}, cli {want}");
            }
        }
        for field in ["direction", "last_ts", "last_close"] {
            assert_eq!(p[field], cli[field], "{field}");
        }
        for field in ["expected_return", "volatility", "value_at_risk_5"] {
            assert!(close(p[field].as_f64().unwrap(), cli[field].as_f64().unwrap()), "{field}");
        }
        assert_eq!(p["prob_up"].as_f64(), cli["prob_up"].as_f64(), "prob_up");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kronos_requests_are_validated() {
    let env = TestEnv::new().await;
    kronos_tests::fixtures::import_kronos_tiny(&env, "tiny");
    let api = TestApi::start(&env, false).await;
    let candles: Vec<Value> = fixture_rows()[..20]
        .iter()
        .map(|(ts, _)| json!({"ts": ts.and_utc().to_rfc3339(), "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0}))
        .collect();
    let base = json!({"candles": candles, "interval": "5m", "horizon": 4, "model": "tiny"});
    for (field, value) in [
        ("samples", json!(0)),
        ("samples", json!(1000)),
        ("temperature", json!(0)),
        ("top_p", json!(1.5)),
        ("top_k", json!(-1)),
        ("max_context", json!(2)),
    ] {
        let mut body = base.clone();
        body[field] = value.clone();
        let (status, err) = api.post_json("/v1/predictions", &body).await;
        assert_eq!(status, 422, "{field}={value}: {err}");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    let mut naive = base.clone();
    naive["model"] = json!("naive");
    naive["samples"] = json!(4);
    let (status, err) = api.post_json("/v1/predictions", &naive).await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["field"], "samples");
    let mut unknown = base.clone();
    unknown["model"] = json!("nope");
    let (status, err) = api.post_json("/v1/predictions", &unknown).await;
    assert_eq!(status, 422);
    assert_eq!(err["error"]["field"], "model");
    let (status, ok) = api.post_json("/v1/predictions", &base).await;
    assert_eq!(status, 202, "{ok}");
    let (_, listed) = api.get("/v1/models").await;
    let names: Vec<&str> = listed["models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["naive", "drift", "tiny"]);
}
