//! End to end: kronos-api and kronos-worker as processes against real PostgreSQL, a
//! private Redis (so FLUSHALL touches no other test) and the S3-compatible server.

use std::{
    net::TcpListener,
    time::{Duration, Instant},
};

use diesel::{sql_types::BigInt, QueryableByName};
use diesel_async::RunQueryDsl;
use futures::{stream, StreamExt};
use kronos_tests::{process::Proc, redis_server::PrivateRedis, sample, StoreKind, TestEnv};

struct Platform {
    env: TestEnv,
    redis: PrivateRedis,
    base: String,
    client: reqwest::Client,
    pool: kronos_db::DbPool,
    _api: Proc,
    worker: Option<Proc>,
}

const WORKER_ARGS: [&str; 4] = ["--devices", "cpu", "--concurrency", "64"];

impl Platform {
    async fn start() -> Self {
        let redis = PrivateRedis::start();
        let mut env = TestEnv::with_store(StoreKind::S3).await;
        env.config.redis_url = redis.url();
        // Long enough that a loaded CI machine (these tests run beside the 20k burst)
        // does not expire healthy leases; short enough for kill -9 recovery.
        env.config.queue.lease = Duration::from_secs(10);
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let api = Proc::start("kronos-api", &env, &[], &[("KRONOS_API_ADDR", format!("127.0.0.1:{port}"))]);
        let worker = Proc::start("kronos-worker", &env, &WORKER_ARGS, &[]);
        let base = format!("http://127.0.0.1:{port}");
        // an enterprise admin: no quota stands between the tests and their thousands of jobs
        let admin = kronos_tests::accounts::create_user(
            &env,
            "admin",
            kronos_types::accounts::Role::Admin,
            kronos_types::accounts::Tier::Enterprise,
            true,
        )
        .await;
        let client = admin.client();
        let started = Instant::now();
        while client.get(format!("{base}/readyz")).send().await.map(|r| r.status() != 200).unwrap_or(true) {
            assert!(started.elapsed() < Duration::from_secs(30), "API did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let pool = kronos_db::pool(&env.config.database_url, 2).unwrap();
        Self { env, redis, base, client, pool, _api: api, worker: Some(worker) }
    }

    /// Submits `n` inline prediction jobs, 32 requests in flight.
    async fn submit(&self, n: usize) {
        let body = sample::inline_request(40, 3, "naive");
        let url = format!("{}/v1/predictions", self.base);
        let failures = stream::iter(0..n)
            .map(|_| {
                let req = self.client.post(&url).json(&body);
                async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
            })
            .buffer_unordered(32)
            .filter(|s| std::future::ready(*s != 202))
            .count()
            .await;
        assert_eq!(failures, 0, "every submission is accepted");
    }

    async fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut conn = self.pool.get().await.unwrap();
        diesel::sql_query(sql).get_result::<N>(&mut conn).await.unwrap().n
    }

    async fn succeeded(&self) -> i64 {
        self.count("SELECT count(*) AS n FROM jobs WHERE status = 'succeeded'").await
    }

    async fn wait_succeeded(&self, at_least: i64, limit: Duration) {
        let started = Instant::now();
        loop {
            let done = self.succeeded().await;
            if done >= at_least {
                return;
            }
            let failed = self.count("SELECT count(*) AS n FROM jobs WHERE status IN ('failed', 'cancelled')").await;
            assert_eq!(failed, 0, "no job may fail");
            assert!(started.elapsed() < limit, "{done}/{at_least} succeeded after {limit:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn assert_exactly_one_prediction_per_job(&self, n: i64) {
        assert_eq!(self.count("SELECT count(*) AS n FROM jobs").await, n);
        assert_eq!(self.succeeded().await, n);
        assert_eq!(self.count("SELECT count(*) AS n FROM predictions").await, n, "one prediction row per job");
        assert_eq!(
            self.count(
                "SELECT count(*) AS n FROM jobs j WHERE NOT EXISTS (SELECT 1 FROM predictions p WHERE p.job_id = j.id)"
            )
            .await,
            0
        );
        assert_eq!(self.count("SELECT count(*) AS n FROM artifacts").await, n, "one artifact per job");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_jobs_succeed() {
    let p = Platform::start().await;
    p.submit(200).await;
    p.wait_succeeded(200, Duration::from_secs(120)).await;
    p.assert_exactly_one_prediction_per_job(200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_killed_mid_run_still_yields_one_prediction_per_job() {
    let mut p = Platform::start().await;
    p.submit(600).await;
    p.wait_succeeded(50, Duration::from_secs(120)).await;
    p.worker.as_mut().unwrap().kill9();
    let at_kill = p.succeeded().await;
    assert!(at_kill < 600, "the kill must land mid-run (all {at_kill} were done)");
    p.worker = Some(Proc::start("kronos-worker", &p.env, &WORKER_ARGS, &[]));
    p.wait_succeeded(600, Duration::from_secs(180)).await;
    p.assert_exactly_one_prediction_per_job(600).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_flushall_mid_run_still_completes_every_job() {
    let p = Platform::start().await;
    p.submit(600).await;
    p.wait_succeeded(50, Duration::from_secs(120)).await;
    p.redis.flushall().await;
    let at_flush = p.succeeded().await;
    assert!(at_flush < 600, "the flush must land mid-run");
    p.wait_succeeded(600, Duration::from_secs(180)).await;
    p.assert_exactly_one_prediction_per_job(600).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_twenty_thousand_jobs_completes() {
    let p = Platform::start().await;
    p.submit(20_000).await;
    p.wait_succeeded(20_000, Duration::from_secs(900)).await;
    p.assert_exactly_one_prediction_per_job(20_000).await;
    let in_redis = p.count("SELECT count(*) AS n FROM jobs WHERE dispatched_at IS NOT NULL").await;
    assert_eq!(in_redis, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_jobs_and_returns_unstarted_ones() {
    let mut p = Platform::start().await;
    p.submit(600).await;
    p.wait_succeeded(50, Duration::from_secs(120)).await;
    assert!(p.worker.as_mut().unwrap().terminate(), "worker exits cleanly on SIGTERM");
    let at_stop = p.succeeded().await;
    assert!(at_stop < 600, "the stop must land mid-run");
    assert_eq!(
        p.count("SELECT count(*) AS n FROM jobs WHERE status = 'running'").await,
        0,
        "in-flight jobs finished before exit"
    );
    p.worker = Some(Proc::start("kronos-worker", &p.env, &WORKER_ARGS, &[]));
    p.wait_succeeded(600, Duration::from_secs(60)).await;
    p.assert_exactly_one_prediction_per_job(600).await;
    assert_eq!(p.count("SELECT count(*) AS n FROM jobs WHERE attempts <> 1").await, 0, "a drain loses no attempt");
}

/// What this test's private Redis holds: its keys, the apalis task data left in the
/// prediction queue, and the memory in use.
struct RedisFootprint {
    keys: Vec<String>,
    task_data: i64,
    used_memory: i64,
}

async fn footprint(redis: &PrivateRedis, prefix: &str) -> RedisFootprint {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.unwrap();
    keys.sort();
    let task_data: i64 =
        redis::cmd("HLEN").arg(format!("{prefix}:prediction:data")).query_async(&mut conn).await.unwrap();
    let info: String = redis::cmd("INFO").arg("memory").query_async(&mut conn).await.unwrap();
    let used_memory = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory in INFO memory");
    RedisFootprint { keys, task_data, used_memory }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_jobs_leave_redis() {
    let p = Platform::start().await;
    let prefix = p.env.config.queue.prefix.clone();
    // warm up: the workers register, the scripts load, the queues' keys exist
    p.submit(20).await;
    p.wait_succeeded(20, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = footprint(&p.redis, &prefix).await;
    assert_eq!(before.task_data, 0, "warm-up tasks were removed: {:?}", before.keys);

    p.submit(3000).await;
    p.wait_succeeded(3020, Duration::from_secs(300)).await;
    // the reconciler removes acknowledged tasks within a few passes
    let started = Instant::now();
    let after = loop {
        let now = footprint(&p.redis, &prefix).await;
        if now.keys == before.keys && now.task_data == 0 {
            break now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "Redis still holds finished work: {} task entries, {} keys (was {}): {:?}",
            now.task_data,
            now.keys.len(),
            before.keys.len(),
            now.keys.iter().filter(|k| !before.keys.contains(k)).take(10).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // 3,000 leaked tasks would hold well over a megabyte; allow allocator slack only
    let grown = after.used_memory - before.used_memory;
    eprintln!(
        "redis: {} keys, used_memory {} -> {} bytes after 3,000 jobs",
        after.keys.len(),
        before.used_memory,
        after.used_memory
    );
    assert!(grown < 256 * 1024, "Redis memory grew by {grown} bytes after 3,000 finished jobs");
    // and the sets the worker acknowledges into are empty
    let client = redis::Client::open(p.redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for key in after.keys.iter().filter(|k| k.contains("inflight") || k.ends_with(":done")) {
        let n: i64 = redis::cmd("SCARD").arg(key).query_async(&mut conn).await.unwrap();
        assert_eq!(n, 0, "{key} holds {n} finished tasks");
    }
}
