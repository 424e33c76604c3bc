//! The cron table with real scheduler processes: two schedulers enqueue each slot once,
//! and a restarted scheduler catches up the slots missed while none ran.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::{
    sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid},
    QueryableByName,
};
use diesel_async::RunQueryDsl;
use kronos_tests::{process::Proc, TestEnv};

#[derive(QueryableByName, Debug)]
struct Run {
    #[diesel(sql_type = Timestamptz)]
    slot: DateTime<Utc>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    job_id: Option<uuid::Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    key: Option<String>,
    /// Verification jobs, counted in the same statement (one snapshot) as the runs.
    #[diesel(sql_type = BigInt)]
    jobs: i64,
}

async fn runs(env: &TestEnv) -> (Vec<Run>, i64) {
    let pool = kronos_db::pool(&env.config.database_url, 1).unwrap();
    let mut conn = pool.get().await.unwrap();
    let runs: Vec<Run> = diesel::sql_query(
        "SELECT r.slot, r.job_id, j.idempotency_key AS key,
                (SELECT count(*) FROM jobs WHERE kind = 'verification') AS jobs
         FROM schedule_runs r LEFT JOIN jobs j ON j.id = r.job_id
         WHERE r.task = 'verify' ORDER BY r.slot",
    )
    .load(&mut conn)
    .await
    .unwrap();
    // a running scheduler commits slots between two statements: one statement, one snapshot
    let jobs = <[Run]>::first(&runs).map_or(0, |r| r.jobs);
    (runs, jobs)
}

/// Every slot 2 s after the previous, each with its own job keyed by the slot.
fn assert_one_job_per_consecutive_slot(runs: &[Run], jobs: i64) {
    assert_eq!(runs.len() as i64, jobs, "one verification job per recorded slot: {runs:?}");
    for pair in runs.windows(2) {
        assert_eq!((pair[1].slot - pair[0].slot).num_seconds(), 2, "a slot was skipped or repeated: {runs:?}");
    }
    for run in runs {
        assert!(run.job_id.is_some(), "{run:?}");
        assert_eq!(run.key.as_deref(), Some(format!("cron:verify:{}", run.slot.timestamp()).as_str()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_enqueue_each_slot_once_and_a_restart_catches_up() {
    let env = TestEnv::new().await;
    let settings = [("KRONOS_CRON", "verify=*/2 * * * * *".to_owned()), ("KRONOS_REFRESH_INTERVALS", String::new())];
    let mut first = Proc::start("kronos-scheduler", &env, &[], &settings);
    let mut second = Proc::start("kronos-scheduler", &env, &[], &settings);
    tokio::time::sleep(Duration::from_secs(9)).await;
    let (before, jobs) = runs(&env).await;
    assert!(before.len() >= 3, "expected a slot every 2 s: {before:?}");
    assert_one_job_per_consecutive_slot(&before, jobs);

    // no scheduler for a while: slots are missed
    first.kill9();
    second.kill9();
    let down_at = Utc::now();
    tokio::time::sleep(Duration::from_secs(7)).await;
    let (during, _) = runs(&env).await;
    assert!(during.iter().all(|r| r.slot <= down_at + chrono::Duration::seconds(1)), "nothing runs while down");

    let _restarted = Proc::start("kronos-scheduler", &env, &[], &settings);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (after, jobs) = runs(&env).await;
    assert_one_job_per_consecutive_slot(&after, jobs);
    let caught_up = after.iter().filter(|r| r.slot > down_at + chrono::Duration::seconds(1)).count();
    assert!(caught_up >= 5, "the missed slots (≥ 3) and the new ones were run: {after:?}");
    assert_eq!(
        after[..before.len()].iter().map(|r| r.slot).collect::<Vec<_>>(),
        before.iter().map(|r| r.slot).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retraining_slots_fine_tune_production_versions_once_and_cleanup_jobs_delete_old_documents() {
    use kronos_db::{models, models::NewVersion};
    use kronos_scheduler::{cron_tasks, cron_tasks::CronTask, cron_tasks::SlotOutcome};
    use kronos_storage::{Storage, StorageKey};
    use serde_json::json;

    let env = TestEnv::new().await;
    let ninety_days = chrono::Duration::days(90);
    let pool = kronos_db::pool(&env.config.database_url, 2).unwrap();
    let mut conn = pool.get().await.unwrap();
    let config = json!({"preset": "mini", "symbols": ["GOOGL"], "interval": "1d", "steps": 300, "lineage": "nightly"});
    let version = NewVersion {
        lineage: "nightly".into(),
        family: kronos_types::registry::ModelFamily::Kronos,
        storage_prefix: "models/nightly-x".into(),
        tokenizer_config: Some(json!({})),
        predictor_config: json!({}),
        max_context: 512,
        parameters: 1,
        weights_sha256: "00".into(),
        parent_id: None,
        trained_interval: "1d".into(),
        trained_symbols: vec!["GOOGL".into()],
        trained_from: None,
        trained_to: None,
        training_job_id: None,
        training_config: config,
        metrics: json!({}),
    };
    let v1 = models::insert_version(&mut conn, &version).await.unwrap();
    assert_eq!((v1.version, v1.status.as_str()), (1, "candidate"), "promotion is the caller's decision");
    let v1 = models::promote(&mut conn, v1.id).await.unwrap().0;
    assert_eq!(v1.status, kronos_types::registry::ModelStatus::Production);

    let slot = Utc::now();
    let SlotOutcome::Enqueued(ids) =
        cron_tasks::run_slot(&mut conn, CronTask::Retrain, slot, false, slot_settings(ninety_days)).await.unwrap()
    else {
        panic!("the slot was not run")
    };
    assert_eq!(ids.len(), 1);
    let job = kronos_db::jobs::find(&mut conn, ids[0]).await.unwrap().unwrap();
    assert_eq!(job.kind, kronos_types::jobs::JobKind::Training);
    let payload = kronos_db::jobs::payload(&mut conn, ids[0]).await.unwrap().unwrap();
    assert_eq!(payload["from_model"], "nightly@1", "fine-tunes the production version: {payload}");
    assert_eq!(payload["preset"], serde_json::Value::Null);
    assert_eq!(payload["auto_promote"], true);
    assert_eq!(payload["steps"], 300);
    // the same slot again (another scheduler) does nothing; a superseded slot is noted
    assert_eq!(
        cron_tasks::run_slot(&mut conn, CronTask::Retrain, slot, false, slot_settings(ninety_days)).await.unwrap(),
        SlotOutcome::Taken
    );
    let earlier = slot - chrono::Duration::days(1);
    assert!(matches!(
        cron_tasks::run_slot(&mut conn, CronTask::Retrain, earlier, true, slot_settings(ninety_days)).await.unwrap(),
        SlotOutcome::Skipped(_)
    ));
    assert_eq!(
        cron_tasks::last_slot(&mut conn, CronTask::Retrain).await.unwrap(),
        Some(slot).map(|s| { chrono::DateTime::from_timestamp_micros(s.timestamp_micros()).unwrap() })
    );

    // cleanup: an old forecast document goes, a recent one stays
    let storage = Storage::open(&env.config.storage).unwrap();
    let (old, new) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    for id in [old, new] {
        let stored = storage.put(&StorageKey::Forecast { job_id: id }, bytes::Bytes::from_static(b"{}")).await.unwrap();
        diesel::sql_query(
            "INSERT INTO artifacts (key, job_id, kind, content_type, size_bytes, sha256, created_at)
             VALUES ($1, NULL, 'forecast', 'application/json', 2, '', now() - ($2 || ' days')::interval)",
        )
        .bind::<Text, _>(&stored.key)
        .bind::<Text, _>(if id == old { "100" } else { "1" })
        .execute(&mut conn)
        .await
        .unwrap();
    }
    // the slot only enqueues a cleanup job; a worker deletes
    let now = Utc::now();
    let SlotOutcome::Enqueued(ids) =
        cron_tasks::run_slot(&mut conn, CronTask::Cleanup, now, false, slot_settings(ninety_days)).await.unwrap()
    else {
        panic!("the cleanup slot enqueued nothing")
    };
    assert_eq!(ids.len(), 1);
    assert!(storage.get(&StorageKey::Forecast { job_id: old }).await.is_ok(), "the scheduler deletes nothing itself");
    let api = kronos_tests::http::TestApi::start(&env, true).await;
    let _worker = Proc::start("kronos-worker", &env, &["--devices", "cpu"], &[]);
    let path = format!("/v1/jobs/{}/result", ids[0]);
    let started = std::time::Instant::now();
    let report = loop {
        let (status, body) = api.get(&path).await;
        if status == 200 {
            break body;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the cleanup job did not finish: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(report["forecast_documents"], 1, "{report}");
    assert!(storage.get(&StorageKey::Forecast { job_id: old }).await.is_err());
    assert!(storage.get(&StorageKey::Forecast { job_id: new }).await.is_ok());
}

/// The deployment's one dispatcher is the scheduler's: a job submitted to an API that
/// runs none is moved by the scheduler, woken across processes by the jobs trigger's
/// notification, and a worker runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedulers_dispatcher_moves_jobs_submitted_to_an_api_without_one() {
    let mut env = TestEnv::new().await;
    env.config.api.run_dispatcher = false;
    let quiet = [("KRONOS_CRON", String::new()), ("KRONOS_REFRESH_INTERVALS", String::new())];
    let _scheduler = Proc::start("kronos-scheduler", &env, &[], &quiet);
    let _worker = Proc::start("kronos-worker", &env, &["--devices", "cpu"], &[]);
    let api = kronos_tests::http::TestApi::start(&env, false).await;
    let (status, body) = api.post_json("/v1/predictions", &kronos_tests::sample::inline_request(40, 3, "naive")).await;
    assert_eq!(status, 202, "{body}");
    let path = format!("/v1/jobs/{}", body["job"]["id"].as_str().expect("id"));
    let started = std::time::Instant::now();
    loop {
        let (_, job) = api.get(&path).await;
        if job["status"] == "succeeded" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the job was never run: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Inserting jobs notifies `kronos_jobs` on commit, and the listener hears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserting_jobs_notifies_listening_dispatchers() {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };
    let env = TestEnv::new().await;
    let heard = Arc::new(AtomicUsize::new(0));
    let counter = heard.clone();
    let listener =
        tokio::spawn(kronos_db::notifications::listen_for_jobs(env.config.database_url.clone(), move || {
            AtomicUsize::fetch_add(&counter, 1, Ordering::SeqCst);
        }));
    // the listener wakes once when it starts listening
    let started = std::time::Instant::now();
    while AtomicUsize::load(&heard, Ordering::SeqCst) == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the listener never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = AtomicUsize::load(&heard, Ordering::SeqCst);
    let pool = kronos_db::pool(&env.config.database_url, 1).expect("pool");
    let mut conn = pool.get().await.expect("conn");
    let job =
        kronos_db::jobs::NewJob::new(kronos_types::jobs::JobKind::Verification, serde_json::json!({"limit": 10}), 1);
    kronos_db::jobs::insert_many(&mut conn, &[job]).await.expect("insert");
    let started = std::time::Instant::now();
    while AtomicUsize::load(&heard, Ordering::SeqCst) == before {
        assert!(started.elapsed() < Duration::from_secs(10), "no notification after an insert");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    listener.abort();
}

fn slot_settings(retention: chrono::Duration) -> kronos_scheduler::cron_tasks::SlotSettings<'static> {
    kronos_scheduler::cron_tasks::SlotSettings { retention, links: None }
}
