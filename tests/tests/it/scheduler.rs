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
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn runs(env: &TestEnv) -> (Vec<Run>, i64) {
    let pool = kronos_shared::db::pool(&env.config.database_url, 1).unwrap();
    let mut conn = pool.get().await.unwrap();
    let runs: Vec<Run> = diesel::sql_query(
        "SELECT r.slot, r.job_id, j.idempotency_key AS key FROM schedule_runs r LEFT JOIN jobs j ON j.id = r.job_id
         WHERE r.task = 'verify' ORDER BY r.slot",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let jobs: Count = diesel::sql_query("SELECT count(*) AS n FROM jobs WHERE kind = 'verification'")
        .get_result(&mut conn)
        .await
        .unwrap();
    (runs, jobs.n)
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
