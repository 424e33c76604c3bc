//! Training jobs through the API and a worker process on the demo data: validation
//! loss falls, versions are registered and promoted, a killed worker's job resumes from
//! its checkpoint, and bad requests are refused naming the field.

use std::time::{Duration, Instant};

use kronos_tests::{
    demo,
    http::TestApi,
    process::{run_to_end, Proc},
    TestEnv,
};
use serde_json::{json, Value};

/// A small Kronos (the mini preset) on short windows, so a few hundred steps take
/// seconds on a CPU.
fn request(lineage: &str, steps: u64) -> Value {
    json!({
        "preset": "mini",
        "lineage": lineage,
        "symbols": ["GOOGL"],
        "interval": "1d",
        "steps": steps,
        "tokenizer_steps": 50,
        "lookback": 32,
        "horizon": 4,
        "batch_size": 8,
        "eval_every": 25,
        "checkpoint_every": 25,
        "seed": 7
    })
}

fn worker(env: &TestEnv) -> Proc {
    let cache = env.scratch.join("model-cache");
    // one libtorch thread: tests run beside each other on few cores
    Proc::start(
        "kronos-worker",
        env,
        &["--devices", "cpu", "--torch-threads", "1"],
        &[("KRONOS_MODEL_CACHE", cache.display().to_string())],
    )
}

/// Polls a job until `done` says so; returns the job.
async fn wait_for(api: &TestApi, id: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let (_, job) = api.get(&format!("/v1/jobs/{id}")).await;
        if done(&job) {
            return job;
        }
        assert!(!matches!(job["status"].as_str(), Some("failed" | "cancelled")), "job ended badly: {job}");
        assert!(started.elapsed() < limit, "job did not get there in {limit:?}: {job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn training_through_the_api_lowers_validation_loss_and_registers_versions() {
    let env = TestEnv::new().await;
    demo::import_googl(&env, "GOOGL");
    let api = TestApi::start(&env, true).await;
    let _worker = worker(&env);

    let (status, created) = api.post_json("/v1/trainings", &request("googl-kronos", 200)).await;
    assert_eq!(status, 202, "{created}");
    let id = created["job"]["id"].as_str().unwrap().to_owned();
    // progress shows while it runs
    let running =
        wait_for(&api, &id, Duration::from_secs(300), |j| j["result"]["progress"]["step"].as_u64() > Some(10)).await;
    let progress = &running["result"]["progress"];
    for field in ["stage", "total_steps", "loss", "eta_seconds", "tokens_per_second"] {
        assert!(!progress[field].is_null(), "progress lacks {field}: {progress}");
    }
    assert_eq!(progress["total_steps"], 250);
    let job = wait_for(&api, &id, Duration::from_secs(300), |j| j["status"] == "succeeded").await;
    let result = &job["result"];
    let val = floats(&result["val_loss"]);
    assert_eq!(val.len(), 8, "{result}");
    assert!(val.last() < val.first(), "validation loss did not fall: {val:?}");
    assert!(floats(&result["tokenizer_val_loss"]).len() == 2);
    assert_eq!(result["model"], "googl-kronos");
    assert_eq!(result["version"], 1);
    // even a lineage's first version must beat naive on its validation windows
    let (status, model) = api.get("/v1/models/googl-kronos").await;
    assert_eq!(status, 200, "{model}");
    let validation = &model["metrics"]["validation"];
    let beats_naive = validation["model"]["mae"].as_f64() < validation["naive"]["mae"].as_f64()
        && validation["model"]["rmse"].as_f64() < validation["naive"]["rmse"].as_f64();
    assert_eq!(result["beats_naive"], beats_naive, "{result}");
    assert_eq!(model["beats_naive"], beats_naive);
    assert_eq!(result["status"], if beats_naive { "production" } else { "candidate" }, "{result}");
    assert_eq!(result["promoted"], beats_naive);
    let promotion = result["promotion"].as_str().unwrap();
    assert!(promotion.contains("naive"), "{promotion}");
    // the training's result is also at links.result
    assert_eq!(job["links"]["result"], format!("/v1/trainings/{id}"));
    let (status, shown) = api.get(&format!("/v1/trainings/{id}")).await;
    assert_eq!((status, &shown["model"]), (200, &json!("googl-kronos")));
    if !beats_naive {
        // a person may still promote it, and is told plainly what it is
        let (status, promoted) = api.post_json("/v1/models/googl-kronos/promote", &json!({})).await;
        assert_eq!(status, 200, "{promoted}");
        assert!(promoted["warning"].as_str().unwrap().contains("does not beat the naive baseline"), "{promoted}");
    }
    assert_eq!(validation["windows"], 64);
    for side in ["model", "naive"] {
        for metric in ["mae", "rmse", "mape", "direction_accuracy"] {
            assert!(validation[side][metric].as_f64().unwrap().is_finite(), "{side}.{metric}: {validation}");
        }
    }
    assert_eq!(model["trained_on"]["symbols"], json!(["GOOGL"]));
    assert_eq!(model["family"], "kronos");
    // the finished job's checkpoints are deleted
    let storage = kronos_storage::Storage::open(&env.config.storage).unwrap();
    let left =
        storage.list_prefix(&kronos_storage::StoragePrefix::Checkpoints { job_id: id.parse().unwrap() }).await.unwrap();
    assert!(left.is_empty(), "checkpoints left behind: {left:?}");

    // a fine-tuned second version is compared with production on the same windows
    let mut again = request("googl-kronos", 50);
    again.as_object_mut().unwrap().remove("preset");
    again["from_model"] = json!("googl-kronos");
    again["tokenizer_steps"] = json!(0);
    let (status, created) = api.post_json("/v1/trainings", &again).await;
    assert_eq!(status, 202, "{created}");
    let id2 = created["job"]["id"].as_str().unwrap().to_owned();
    let job2 = wait_for(&api, &id2, Duration::from_secs(300), |j| j["status"] == "succeeded").await;
    assert_eq!(job2["result"]["version"], 2);
    let (_, v2) = api.get("/v1/models/googl-kronos@2").await;
    assert_eq!(v2["parent_id"], model["id"]);
    let beats = v2["metrics"]["beats_production"].as_bool().unwrap();
    let production = &v2["metrics"]["production"]["validation"];
    assert_eq!(production["windows"], 64, "production measured on the same windows: {v2}");
    let better = v2["metrics"]["validation"]["model"]["mae"].as_f64() < production["model"]["mae"].as_f64()
        && v2["metrics"]["validation"]["model"]["rmse"].as_f64() < production["model"]["rmse"].as_f64();
    assert_eq!(beats, better);
    let v2_beats_naive = v2["beats_naive"].as_bool().unwrap();
    assert_eq!(v2["status"], if beats && v2_beats_naive { "production" } else { "candidate" });

    // promotion by hand archives the other version; rolling back works the same way
    let (status, promoted) = api.post_json("/v1/models/googl-kronos@2/promote", &json!({})).await;
    assert_eq!(status, 200, "{promoted}");
    assert_eq!(promoted["model"]["status"], "production");
    let (_, listed) = api.get("/v1/models?lineage=googl-kronos").await;
    let statuses: Vec<(i64, String)> = listed["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["version"].as_i64().unwrap(), m["status"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(statuses, vec![(2, "production".into()), (1, "archived".into())]);
    // predictions naming the lineage use its production version
    let body = json!({"symbol": "GOOGL", "interval": "1d", "horizon": 4, "model": "googl-kronos", "context": 64});
    let (status, created) = api.post_json("/v1/predictions", &body).await;
    assert_eq!(status, 202, "{created}");
    let pid = created["job"]["id"].as_str().unwrap().to_owned();
    let done = wait_for(&api, &pid, Duration::from_secs(120), |j| j["status"] == "succeeded").await;
    assert_eq!(done["status"], "succeeded");
    let (_, prediction) = api.get(&format!("/v1/predictions/{pid}")).await;
    assert_eq!(prediction["model"], "googl-kronos.v2", "served by the production version: {prediction}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_resumes_training_from_its_checkpoint() {
    let env = TestEnv::new().await;
    demo::import_googl(&env, "GOOGL");
    let api = TestApi::start(&env, true).await;
    let mut first = worker(&env);
    let (status, created) = api.post_json("/v1/trainings", &request("resume-test", 200)).await;
    assert_eq!(status, 202, "{created}");
    let id = created["job"]["id"].as_str().unwrap().to_owned();
    // past the first checkpoints (every 25 steps), then kill -9
    wait_for(&api, &id, Duration::from_secs(300), |j| j["result"]["progress"]["step"].as_u64() >= Some(90)).await;
    first.kill9();
    let latest = env.scratch.join("objects/checkpoints").join(id.replace('-', "")).join("latest");
    assert!(latest.is_file(), "no checkpoint pointer at {}", latest.display());
    let _second = worker(&env);
    let job = wait_for(&api, &id, Duration::from_secs(400), |j| j["status"] == "succeeded").await;
    assert_eq!(job["attempts"], 2, "{job}");
    let resumed_from = job["result"]["resumed_from"].as_u64().unwrap();
    assert!(resumed_from >= 75 && resumed_from % 25 == 0, "resumed from step {resumed_from}: {job}");
    assert_eq!(job["result"]["steps"], 250);
    // the loss history survived the crash: every evaluation point is there once
    let steps: Vec<u64> = job["result"]["eval_steps"].as_array().unwrap().iter().map(|s| s.as_u64().unwrap()).collect();
    assert_eq!(steps, (75..=250).step_by(25).collect::<Vec<u64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_training_and_registry_requests_name_the_field() {
    let env = TestEnv::new().await;
    demo::import_googl(&env, "GOOGL");
    let api = TestApi::start(&env, false).await;
    let base = request("bad", 10);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"symbols": ["NOPE"]}), "symbols[0]"),
        (json!({"symbols": []}), "symbols"),
        (json!({"preset": "huge"}), "preset"),
        (json!({"steps": 0}), "steps"),
        (json!({"batch_size": 0}), "batch_size"),
        (json!({"interval": "7m"}), "interval"),
        (json!({"learning_rate": 5.0}), "learning_rate"),
        (json!({"lineage": "Bad Name"}), "lineage"),
        (json!({"from": "2018-01-01T00:00:00Z", "to": "2017-01-01T00:00:00Z"}), "from"),
        (json!({"family": "arima"}), "family"),
        (json!({"colour": "red"}), "colour"),
        (json!({"preset": null, "from_model": "missing-model"}), "from_model"),
    ];
    for (patch, field) in cases {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        let (status, answer) = api.post_json("/v1/trainings", &body).await;
        assert_eq!(status, 422, "{patch} → {answer}");
        assert_eq!(answer["error"]["field"], field, "{patch} → {answer}");
    }
    let (status, answer) = api.get("/v1/models?status=retired").await;
    assert_eq!((status, answer["error"]["field"].as_str()), (422, Some("status")), "{answer}");
    assert_eq!(api.get("/v1/models/no-such-model").await.0, 404);
    assert_eq!(api.post_json("/v1/models/no-such-model/promote", &json!({})).await.0, 404);
    assert_eq!(api.get("/v1/models/x@notanumber").await.0, 404);
    // nothing was enqueued
    let (_, jobs) = api.get("/v1/jobs?kind=training").await;
    assert_eq!(jobs["jobs"].as_array().map(Vec::len), Some(0), "{jobs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_training_can_be_cancelled() {
    let env = TestEnv::new().await;
    demo::import_googl(&env, "GOOGL");
    let api = TestApi::start(&env, true).await;
    let _worker = worker(&env);
    let (status, created) = api.post_json("/v1/trainings", &request("cancel-test", 100_000)).await;
    assert_eq!(status, 202, "{created}");
    let id = created["job"]["id"].as_str().unwrap().to_owned();
    wait_for(&api, &id, Duration::from_secs(300), |j| j["result"]["progress"]["step"].as_u64() >= Some(3)).await;
    let (status, answer) = api.post_json(&format!("/v1/jobs/{id}/cancel"), &json!({})).await;
    assert!((200..300).contains(&status), "{answer}");
    let job = wait_for(&api, &id, Duration::from_secs(60), |j| j["status"] == "cancelled").await;
    assert_eq!(job["status"], "cancelled");
    let (status, models) = api.get("/v1/models?lineage=cancel-test").await;
    assert_eq!(status, 404, "a cancelled run registers nothing: {models}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_trains_a_baseline_and_prints_json() {
    let env = TestEnv::new().await;
    demo::import_googl(&env, "GOOGL");
    let args = [
        "train",
        "--family",
        "gru",
        "--symbols",
        "GOOGL",
        "--interval",
        "1d",
        "--steps",
        "60",
        "--lookback",
        "32",
        "--horizon",
        "4",
        "--eval-every",
        "20",
        "--json",
    ];
    let out = run_to_end("kronos", &env, &args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["model"], "gru-1d");
    assert_eq!(doc["version"].as_i64(), Some(1));
    assert_eq!(floats(&doc["train_loss"]).len(), 3);
    assert_eq!(floats(&doc["val_loss"]).len(), 3);
    for side in ["model", "naive"] {
        assert!(doc["metrics"]["validation"][side]["mae"].as_f64().unwrap() > 0.0, "{doc}");
    }
    // the progress bar went to stderr, the JSON alone to stdout
    assert!(String::from_utf8_lossy(&out.stderr).contains("regressor loss"));
    let beats_naive = doc["beats_naive"].as_bool().unwrap();
    assert_eq!(doc["status"], if beats_naive { "production" } else { "candidate" }, "{doc}");

    // two steps from random weights cannot beat naive: registered, never promoted
    let worse = |lineage: &'static str, json: bool| {
        let mut a: Vec<&str> = args.iter().copied().filter(|a| *a != "--json").collect();
        let at = |a: &Vec<&str>, flag: &str| a.iter().position(|x| *x == flag).unwrap() + 1;
        let (steps, every) = (at(&a, "--steps"), at(&a, "--eval-every"));
        a[steps] = "2";
        a[every] = "1";
        a.extend(["--lineage", lineage]);
        if json {
            a.push("--json");
        }
        run_to_end("kronos", &env, &a)
    };
    let out = worse("worse-gru", true);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (doc["status"].as_str(), doc["promoted"].as_bool(), doc["beats_naive"].as_bool()),
        (Some("candidate"), Some(false), Some(false)),
        "{doc}"
    );
    assert!(
        doc["promotion"].as_str().unwrap().starts_with("not promoted: it does not beat the naive baseline"),
        "{doc}"
    );
    // an operator may promote it by hand, and is told it does not beat naive
    let name = doc["model"].as_str().unwrap().to_owned();
    let promoted = run_to_end("kronos", &env, &["models", "promote", &name]);
    let said = String::from_utf8_lossy(&promoted.stdout);
    assert!(promoted.status.success(), "{}", String::from_utf8_lossy(&promoted.stderr));
    assert!(said.contains(&format!("{name} is the production version of worse-gru")), "{said}");
    assert!(said.contains("warning:") && said.contains("does not beat the naive baseline"), "{said}");
    let unknown = run_to_end("kronos", &env, &["models", "promote", "no-such-model"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no registered model"));
    // and the table says so too
    let table = worse("worse-gru-2", false);
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("not promoted"),
        "{}",
        String::from_utf8_lossy(&table.stdout)
    );

    for (bad, needle) in [
        (vec!["train", "--preset", "huge", "--symbols", "GOOGL", "--steps", "5"], "--preset"),
        (vec!["train", "--preset", "mini", "--symbols", "NOPE", "--steps", "5"], "NOPE"),
        (vec!["train", "--preset", "mini", "--symbols", "GOOGL", "--steps", "0"], "--steps"),
        (vec!["train", "--preset", "mini", "--symbols", "GOOGL", "--steps", "5", "--interval", "9x"], "--interval"),
        (vec!["train", "--preset", "mini", "--symbols", "GOOGL", "--steps", "5", "--device", "tpu"], "--device"),
    ] {
        let out = run_to_end("kronos", &env, &bad);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(needle), "{bad:?}: {err}");
    }
}
