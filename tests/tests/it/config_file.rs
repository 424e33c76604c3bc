//! One source of configuration: the CLI and the services read the same env file (as
//! `ops/up` writes it), so a model the CLI registers from any directory is one the
//! worker can load; a model whose weights are missing is refused with a clear error
//! at submission and in the worker; models, assets and groups created by mistake can
//! be deleted (and their names used again).

use std::time::{Duration, Instant};

use kronos_config::StorageConfig;
use kronos_db::{jobs, jobs::NewJob, models};
use kronos_storage::Storage;
use kronos_tests::{
    http::TestApi,
    process::{command_with_env_file, Proc},
    sample, TestEnv,
};
use kronos_types::{
    jobs::payload::KronosSettings, jobs::payload::PredictionPayload, jobs::payload::SeriesSource, jobs::JobKind,
    Calendar,
};
use serde_json::{json, Value};

/// Writes the env file ops/up would write for this environment, with local objects
/// under `objects`.
fn env_file(env: &TestEnv, objects: &std::path::Path) -> std::path::PathBuf {
    let c = &env.config;
    let text = format!(
        "# as ops/up writes it\nDATABASE_URL={}\nREDIS_URL={}\nKRONOS_QUEUE_PREFIX={}\nKRONOS_STORAGE=local\nKRONOS_STORAGE_PATH={}\nKRONOS_MODEL_CACHE={}\nKRONOS_POLL_INTERVAL_MS=20\n",
        c.database_url,
        c.redis_url,
        c.queue.prefix,
        objects.display(),
        env.scratch.join("cache-from-file").display()
    );
    let path = env.scratch.join("kronos.env");
    std::fs::write(&path, text).unwrap();
    path
}

fn cli(file: &std::path::Path, cwd: &std::path::Path, args: &[&str]) -> std::process::Output {
    command_with_env_file("kronos", file, cwd, args).output().unwrap()
}

async fn terminal(api: &TestApi, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let (_, job) = api.get(&format!("/v1/jobs/{id}")).await;
        if ["succeeded", "failed", "cancelled"].contains(&job["status"].as_str().unwrap_or("")) {
            return job;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "job did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_the_services_share_one_configuration() {
    let mut env = TestEnv::new().await;
    let objects = env.scratch.join("objects-from-file");
    env.config.storage = StorageConfig::Local { root: objects.clone() };
    let file = env_file(&env, &objects);
    // the CLI, run from an unrelated directory, stores the weights where the file says
    let elsewhere = env.scratch.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = cli(&file, &elsewhere, &["models", "init", "--preset", "mini", "--seed", "1", "--name", "m1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!elsewhere.join("var").exists(), "nothing is written under the working directory");
    assert!(std::fs::read_dir(objects.join("models")).unwrap().count() > 0);

    // the worker reads the same file: it loads the model and forecasts with it
    let api = TestApi::start(&env, true).await;
    let mut worker = command_with_env_file("kronos-worker", &file, &elsewhere, &["--devices", "cpu"]);
    let log = std::fs::File::create(env.scratch.join("worker-from-file.log")).unwrap();
    let _worker = Proc {
        child: worker.stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap(),
        name: "kronos-worker".into(),
    };
    let body = json!({"candles": sample::candles(80), "interval": "1d", "horizon": 3, "model": "m1", "samples": 2});
    let (status, created) = api.post_json("/v1/predictions", &body).await;
    assert_eq!(status, 202, "{created}");
    let job = terminal(&api, created["job"]["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");

    // a model registered under another storage configuration (the old trap: the CLI
    // without ops/up's settings) is refused at once, saying why and what to do
    let other = env.scratch.join("other-objects");
    let stray = format!(
        "DATABASE_URL={}\nKRONOS_STORAGE=local\nKRONOS_STORAGE_PATH={}\n",
        env.config.database_url,
        other.display()
    );
    let stray_file = env.scratch.join("stray.env");
    std::fs::write(&stray_file, stray).unwrap();
    let out = cli(&stray_file, &elsewhere, &["models", "init", "--preset", "mini", "--seed", "2", "--name", "m2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let body = json!({"candles": sample::candles(80), "interval": "1d", "horizon": 3, "model": "m2"});
    let (status, refused) = api.post_json("/v1/predictions", &body).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["field"], "model");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("missing from the object store") && message.contains("DELETE /v1/models/m2"), "{message}");
    // a job that reaches the worker anyway fails at once with the same explanation
    let m2 = {
        let mut conn = api.state.pool.get().await.unwrap();
        models::find_by_name(&mut conn, "m2").await.unwrap().unwrap().id
    };
    let payload = PredictionPayload {
        model: "m2".into(),
        interval: kronos_types::Interval::D1,
        horizon: 3,
        series: SeriesSource::Inline { candles: sample::candles(80) },
        kronos: Some(KronosSettings {
            model_id: m2,
            samples: 1,
            temperature: 1.0,
            top_k: 0,
            top_p: 0.9,
            seed: 0,
            max_context: 512,
        }),
        calendar: Calendar::AlwaysOpen,
    };
    let stray_job = NewJob::new(JobKind::Prediction, serde_json::to_value(payload).unwrap(), 3);
    {
        let mut conn = api.state.pool.get().await.unwrap();
        jobs::insert_many(&mut conn, std::slice::from_ref(&stray_job)).await.unwrap();
    }
    let failed = terminal(&api, &stray_job.id.to_string()).await;
    assert_eq!((failed["status"].as_str(), failed["attempts"].as_i64()), (Some("failed"), Some(1)), "{failed}");
    assert!(failed["error"].as_str().unwrap().contains("missing from the object store"), "{failed}");

    // deleting it frees its name; registered again where the platform looks, it serves
    let (status, deleted) = api.send("DELETE", "/v1/models/m2", None).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(api.get("/v1/models/m2").await.0, 404);
    let out = cli(&file, &elsewhere, &["models", "init", "--preset", "mini", "--seed", "2", "--name", "m2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (status, created) = api.post_json("/v1/predictions", &body).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(terminal(&api, created["job"]["id"].as_str().unwrap()).await["status"], "succeeded");
    // the CLI deletes too, and its weights go with it
    let storage = Storage::open(&env.config.storage).unwrap();
    let prefix = {
        let mut conn = api.state.pool.get().await.unwrap();
        models::find_by_name(&mut conn, "m1").await.unwrap().unwrap().storage_prefix
    };
    let out = cli(&file, &elsewhere, &["models", "delete", "m1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        storage.list_prefix(&kronos_storage::StoragePrefix::Model { prefix: prefix.clone() }).await.unwrap().is_empty(),
        "the weights are deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_and_groups_created_by_mistake_can_be_deleted() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    let (status, _) = api.post_json("/v1/assets", &json!({"symbol": "OOPS", "class": "stock"})).await;
    assert_eq!(status, 201);
    {
        let mut conn = api.state.pool.get().await.unwrap();
        let asset = kronos_db::assets::find_by_symbol(&mut conn, "OOPS").await.unwrap().unwrap();
        kronos_db::candles::upsert(&mut conn, asset.id, kronos_types::Interval::D1, &sample::candles(10), "test")
            .await
            .unwrap();
    }
    let (status, put) =
        api.send("PUT", "/v1/asset-groups/mistakes", Some(&json!({"name": "Mistakes", "members": ["OOPS"]}))).await;
    assert_eq!(status, 200, "{put}");
    // candles are not thrown away by accident
    let (status, refused) = api.send("DELETE", "/v1/assets/OOPS", None).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("in_use")), "{refused}");
    let (status, deleted) = api.send("DELETE", "/v1/assets/OOPS?with_candles=true", None).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["candles"], 10);
    assert_eq!(api.get("/v1/assets/OOPS").await.0, 404);
    let (_, group) = api.get("/v1/asset-groups/mistakes").await;
    assert_eq!(group["members"], json!([]), "its membership went with it");
    let (status, _) = api.send("DELETE", "/v1/asset-groups/mistakes", None).await;
    assert_eq!(status, 200);
    assert_eq!(api.get("/v1/asset-groups/mistakes").await.0, 404);
    for path in ["/v1/assets/NOPE", "/v1/asset-groups/nope", "/v1/models/nope"] {
        let (status, body) = api.send("DELETE", path, None).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    // an asset that forecasts refer to stays (deactivate it instead)
    let (status, _) = api.post_json("/v1/assets", &json!({"symbol": "KEPT", "class": "stock"})).await;
    assert_eq!(status, 201);
    {
        let mut conn = api.state.pool.get().await.unwrap();
        let asset = kronos_db::assets::find_by_symbol(&mut conn, "KEPT").await.unwrap().unwrap();
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query(
                "INSERT INTO jobs (id, kind, status, payload) VALUES (gen_random_uuid(), 'prediction', 'succeeded', '{}');
                 ",
            ),
            &mut conn,
        )
        .await
        .unwrap();
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query(
                "INSERT INTO predictions (job_id, asset_id, interval, model, horizon, last_ts, last_close, forecast, prob_up, artifact_key, expires_at)
                 SELECT id, $1, '1d', 'naive', 1, now(), 1, '[]', 0.5, 'x', now() FROM jobs LIMIT 1",
            )
            .bind::<diesel::sql_types::BigInt, _>(asset.id),
            &mut conn,
        )
        .await
        .unwrap();
    }
    let (status, refused) = api.send("DELETE", "/v1/assets/KEPT?with_candles=true", None).await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("deactivate"));
}
