//! Job lifecycle: guarded transitions, retries, leases, cancellation, metering, reconciliation.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use kronos_db::{jobs, jobs::NewJob};
use kronos_observability::metrics::Metrics;
use kronos_queue::{
    dispatcher::Dispatcher, enqueue::DispatchSignal, reconciler::Reconciler, transport::QueueTransport,
};
use kronos_tests::TestEnv;
use kronos_types::jobs::{JobKind, JobStatus};
use uuid::Uuid;

fn new_job(max_attempts: i32) -> NewJob {
    NewJob::new(kronos_types::jobs::JobKind::Prediction, serde_json::json!({"test": true}), max_attempts)
}

async fn setup() -> (TestEnv, kronos_db::DbPool) {
    let env = TestEnv::new().await;
    let pool = kronos_db::pool(&env.config.database_url, 4).unwrap();
    (env, pool)
}

async fn status(pool: &kronos_db::DbPool, id: Uuid) -> jobs::Job {
    let mut conn = pool.get().await.unwrap();
    jobs::find(&mut conn, id).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_is_guarded_and_completion_needs_the_current_attempt() {
    let (_env, pool) = setup().await;
    let mut conn = pool.get().await.unwrap();
    let job = new_job(3);
    jobs::insert_many(&mut conn, std::slice::from_ref(&job)).await.unwrap();
    let claimed = jobs::claim(&mut conn, job.id, "w1", "cpu").await.unwrap().expect("first claim");
    assert_eq!(claimed.attempts, 1);
    assert!(
        jobs::claim(&mut conn, job.id, "w2", "cpu").await.unwrap().is_none(),
        "running jobs cannot be claimed again"
    );
    assert!(!jobs::mark_succeeded(&mut conn, job.id, 2).await.unwrap(), "a stale attempt cannot complete");
    assert!(jobs::mark_succeeded(&mut conn, job.id, 1).await.unwrap());
    let j = status(&pool, job.id).await;
    assert_eq!((j.status.as_str(), j.progress), ("succeeded", 1.0));
    assert!(j.finished_at.is_some() && j.started_at.is_some());
    assert!(jobs::claim(&mut conn, job.id, "w2", "cpu").await.unwrap().is_none(), "finished jobs are never claimed");
    assert!(!jobs::mark_succeeded(&mut conn, job.id, 1).await.unwrap(), "no double completion");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_failures_back_off_until_attempts_run_out() {
    let (_env, pool) = setup().await;
    let mut conn = pool.get().await.unwrap();
    let job = new_job(2);
    jobs::insert_many(&mut conn, std::slice::from_ref(&job)).await.unwrap();
    jobs::claim(&mut conn, job.id, "w", "cpu").await.unwrap().unwrap();
    let s = jobs::mark_failed(&mut conn, job.id, 1, "exchange timeout", true, 60_000).await.unwrap();
    assert_eq!(s, Some(JobStatus::Retrying));
    let j = status(&pool, job.id).await;
    assert!(j.run_after > chrono::Utc::now() + chrono::Duration::seconds(50), "backoff honoured");
    assert_eq!(j.error.as_deref(), Some("exchange timeout"));
    assert!(j.finished_at.is_none());
    assert!(jobs::take_for_dispatch(&mut conn, JobKind::Prediction, 10).await.unwrap().is_empty(), "not due yet");
    diesel::sql_query("UPDATE jobs SET run_after = now()").execute(&mut conn).await.unwrap();
    assert_eq!(jobs::take_for_dispatch(&mut conn, JobKind::Prediction, 10).await.unwrap().len(), 1, "due again");
    let second = jobs::claim(&mut conn, job.id, "w", "cpu").await.unwrap().unwrap();
    assert_eq!(second.attempts, 2);
    let s = jobs::mark_failed(&mut conn, job.id, 2, "exchange timeout again", true, 10).await.unwrap();
    assert_eq!(s, Some(JobStatus::Failed), "max_attempts = 2 reached");
    assert!(status(&pool, job.id).await.finished_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_fail_at_once() {
    let (_env, pool) = setup().await;
    let mut conn = pool.get().await.unwrap();
    let job = new_job(5);
    jobs::insert_many(&mut conn, std::slice::from_ref(&job)).await.unwrap();
    jobs::claim(&mut conn, job.id, "w", "cpu").await.unwrap().unwrap();
    let s = jobs::mark_failed(&mut conn, job.id, 1, "need at least 7 candles", false, 10).await.unwrap();
    assert_eq!(s, Some(JobStatus::Failed));
    assert_eq!(status(&pool, job.id).await.attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_leases_return_jobs_and_count_as_attempts() {
    let (_env, pool) = setup().await;
    let mut conn = pool.get().await.unwrap();
    let (a, b) = (new_job(3), new_job(1));
    jobs::insert_many(&mut conn, &[a.clone(), b.clone()]).await.unwrap();
    jobs::claim(&mut conn, a.id, "dead-worker", "cpu").await.unwrap().unwrap();
    jobs::claim(&mut conn, b.id, "dead-worker", "cpu").await.unwrap().unwrap();
    assert!(jobs::expire_leases(&mut conn, 60_000).await.unwrap().is_empty(), "fresh leases stay");
    diesel::sql_query("UPDATE jobs SET heartbeat_at = now() - interval '2 minutes'").execute(&mut conn).await.unwrap();
    let expired = jobs::expire_leases(&mut conn, 60_000).await.unwrap();
    assert_eq!(expired.len(), 2);
    let (ja, jb) = (status(&pool, a.id).await, status(&pool, b.id).await);
    assert_eq!(ja.status, JobStatus::Retrying);
    assert!(ja.error.as_deref().unwrap().contains("dead-worker"));
    assert_eq!(jb.status, JobStatus::Failed, "its only attempt was spent");
    assert_eq!(jobs::claim(&mut conn, a.id, "w2", "cpu").await.unwrap().unwrap().attempts, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_leases_alive() {
    let (_env, pool) = setup().await;
    let mut conn = pool.get().await.unwrap();
    let job = new_job(3);
    jobs::insert_many(&mut conn, std::slice::from_ref(&job)).await.unwrap();
    jobs::claim(&mut conn, job.id, "alive", "cpu").await.unwrap().unwrap();
    diesel::sql_query("UPDATE jobs SET heartbeat_at = now() - interval '2 minutes'").execute(&mut conn).await.unwrap();
    assert_eq!(jobs::heartbeat(&mut conn, "alive").await.unwrap(), 1);
    assert!(jobs::expire_leases(&mut conn, 60_000).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_running_job_stops_its_completion() {
    let (_env, pool) = setup().await;
    let mut conn = pool.get().await.unwrap();
    let job = new_job(3);
    jobs::insert_many(&mut conn, std::slice::from_ref(&job)).await.unwrap();
    jobs::claim(&mut conn, job.id, "w", "cpu").await.unwrap().unwrap();
    let j = jobs::request_cancel(&mut conn, job.id).await.unwrap().unwrap();
    assert_eq!(j.status, JobStatus::Running, "running jobs stop at their next step");
    assert!(j.cancel_requested);
    assert!(jobs::cancel_requested(&mut conn, job.id).await.unwrap());
    assert!(!jobs::mark_succeeded(&mut conn, job.id, 1).await.unwrap());
    assert!(jobs::mark_cancelled(&mut conn, job.id, 1).await.unwrap());
    assert_eq!(status(&pool, job.id).await.status, JobStatus::Cancelled);
    assert!(jobs::request_cancel(&mut conn, job.id).await.unwrap().is_none());
}

async fn transport(env: &TestEnv) -> QueueTransport {
    QueueTransport::connect(&env.config.redis_url, &env.config.queue.prefix).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatcher_keeps_the_redis_backlog_bounded() {
    let (mut env, pool) = setup().await;
    env.config.queue.backlog_max = 20;
    let t = transport(&env).await;
    let d = Dispatcher::new(pool.clone(), t.clone(), env.config.queue.clone(), DispatchSignal::new(), Metrics::new());
    let mut conn = pool.get().await.unwrap();
    let batch: Vec<NewJob> = (0..50).map(|_| new_job(3)).collect();
    jobs::insert_many(&mut conn, &batch).await.unwrap();
    assert_eq!(d.dispatch_all().await, 20);
    assert_eq!(d.dispatch_all().await, 0, "backlog full");
    assert_eq!(t.depth(JobKind::Prediction).await.unwrap(), 20);
    assert_eq!(jobs::queued_in_transport(&mut conn, JobKind::Prediction).await.unwrap(), 20);
    // a worker fetches five: they leave the waiting set
    let mut rc = t.connection();
    let scheduled = t.apalis_config(JobKind::Prediction).scheduled_jobs_set();
    let _: Vec<String> = redis::cmd("ZPOPMIN").arg(&scheduled).arg(5).query_async(&mut rc).await.unwrap();
    assert_eq!(t.depth(JobKind::Prediction).await.unwrap(), 15);
    assert_eq!(d.dispatch_all().await, 5, "refilled to the bound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_dispatcher_finds_the_kinds_with_jobs_waiting() {
    let (env, pool) = setup().await;
    let mut conn = pool.get().await.unwrap();
    assert_eq!(jobs::kinds_due(&mut conn, &JobKind::ALL).await.unwrap(), vec![]);
    let later = NewJob::new(JobKind::Training, serde_json::json!({"test": true}), 3);
    let cancelled = NewJob::new(JobKind::Backtest, serde_json::json!({"test": true}), 3);
    let due = new_job(3);
    jobs::insert_many(&mut conn, &[later.clone(), cancelled.clone(), due]).await.unwrap();
    diesel::sql_query("UPDATE jobs SET run_after = now() + interval '1 hour' WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(later.id)
        .execute(&mut conn)
        .await
        .unwrap();
    jobs::request_cancel(&mut conn, cancelled.id).await.unwrap();
    assert_eq!(jobs::kinds_due(&mut conn, &JobKind::ALL).await.unwrap(), vec![JobKind::Prediction]);
    let t = transport(&env).await;
    let d = Dispatcher::new(pool.clone(), t, env.config.queue.clone(), DispatchSignal::new(), Metrics::new());
    assert_eq!(d.dispatch_all().await, 1);
    assert_eq!(jobs::kinds_due(&mut conn, &JobKind::ALL).await.unwrap(), vec![], "dispatched jobs are not due");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciler_redispatches_jobs_lost_from_redis_and_vacuums() {
    let (mut env, pool) = setup().await;
    env.config.queue.redispatch_check = Duration::ZERO;
    let t = transport(&env).await;
    let signal = DispatchSignal::new();
    let d = Dispatcher::new(pool.clone(), t.clone(), env.config.queue.clone(), signal.clone(), Metrics::new());
    let r = Reconciler::new(pool.clone(), t.clone(), env.config.queue.clone(), signal, Metrics::new());
    let mut conn = pool.get().await.unwrap();
    jobs::insert_many(&mut conn, &(0..10).map(|_| new_job(3)).collect::<Vec<_>>()).await.unwrap();
    assert_eq!(d.dispatch_all().await, 10);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(r.run_once().await.unwrap().lost, 0, "all present in Redis");
    // lose this test's Redis keys, as a FLUSHALL or restart would
    let mut rc = t.connection();
    let keys: Vec<String> =
        redis::cmd("KEYS").arg(format!("{}:*", env.config.queue.prefix)).query_async(&mut rc).await.unwrap();
    let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut rc).await.unwrap();
    assert_eq!(t.depth(JobKind::Prediction).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(r.run_once().await.unwrap().lost, 10);
    assert_eq!(d.dispatch_all().await, 10);
    assert_eq!(t.depth(JobKind::Prediction).await.unwrap(), 10);
}

/// Records when each task's handler started.
async fn record_start(
    job: kronos_types::jobs::JobRef,
    started: apalis::prelude::Data<tokio::sync::mpsc::UnboundedSender<(Uuid, std::time::Instant)>>,
) -> Result<(), apalis::prelude::BoxDynError> {
    let _ = started.send((job.id, std::time::Instant::now()));
    Ok(())
}

/// apalis's own interval timer could leave an idle worker parked until its next
/// heartbeat; the worker backend must pick up every task within a few poll intervals,
/// however the pushes fall against its polls (the heartbeat here is 30 s). A 1 ms poll
/// makes the lost-timer race likely: with apalis's `IntervalStrategy` in the backend
/// this test saw a task wait 29.8 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_workers_pick_up_tasks_without_waiting_for_their_heartbeat() {
    use apalis::prelude::{ParallelizeExt, WorkerBuilder, WorkerBuilderExt};
    let (env, _pool) = setup().await;
    let t = transport(&env).await;
    let heartbeat = Duration::from_secs(30);
    let backend = t.worker_backend(JobKind::Prediction, 4, heartbeat, heartbeat * 3, Duration::from_millis(1));
    let (tx, mut started) = tokio::sync::mpsc::unbounded_channel::<(Uuid, std::time::Instant)>();
    let worker = WorkerBuilder::new(format!("pickup-{}", Uuid::now_v7()))
        .backend(backend)
        .concurrency(4)
        .parallelize(tokio::spawn)
        .data(tx)
        .build(record_start);
    let running = tokio::spawn(worker.run());
    let mut waits = Vec::new();
    for i in 0..60u64 {
        // idle through a varying number of polls before each push
        tokio::time::sleep(Duration::from_millis(i * 37 % 150)).await;
        let id = Uuid::now_v7();
        let pushed = std::time::Instant::now();
        t.push(JobKind::Prediction, &[jobs::Dispatch { id, dispatch_count: 1 }]).await.unwrap();
        let (got, at) = tokio::time::timeout(Duration::from_secs(90), started.recv())
            .await
            .expect("the task was picked up")
            .expect("the worker is running");
        assert_eq!(got, id);
        waits.push(at.duration_since(pushed));
    }
    running.abort();
    waits.sort();
    let (p50, max) = (waits[waits.len() / 2], waits[waits.len() - 1]);
    eprintln!("pickup after push: p50 {p50:?}, max {max:?} (poll 1 ms, heartbeat 30 s)");
    assert!(max < Duration::from_secs(10), "a task waited {max:?}: the worker slept until its heartbeat");
}
