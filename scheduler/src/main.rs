//! `kronos-scheduler`: one active leader per deployment (a PostgreSQL advisory lock)
//! runs the dispatcher, which meters jobs from PostgreSQL into Redis, and the
//! reconciler, which returns lost and orphaned jobs to the queue. Replicas wait for
//! the lock. Refresh jobs are enqueued per interval as bars close; the cron table
//! (`KRONOS_CRON`) runs verification, nightly retraining and cleanup, catching up
//! missed slots from `schedule_runs`. The billing review downgrades, on time, tiers
//! whose grace or paid period is over.

use std::time::Duration;

use anyhow::Context;
use kronos_config::Config;
use kronos_observability::Metrics;
use kronos_queue::{
    dispatcher::Dispatcher, enqueue::DispatchSignal, reconciler::Reconciler, transport::QueueTransport,
};
use kronos_scheduler::{batch_sweep, billing_review, cron_table, pool_forecasts, refresh_cron};
use tracing::info;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    kronos_observability::telemetry::init(config.log_json);
    let table = cron_table::parse(&config.cron)?;
    let pool = kronos_db::pool(&config.database_url, 4)?;
    let transport =
        QueueTransport::connect(&config.redis_url, &config.queue.prefix).await.context("connecting to Redis")?;
    let _leadership = kronos_db::leader::acquire(&config.database_url).await?;
    info!("kronos-scheduler is the leader");
    let metrics = Metrics::new();
    let signal = DispatchSignal::new();
    let relaxed = kronos_db::relaxed_pool(&config.database_url, 2)?;
    let dispatcher = Dispatcher::new(relaxed, transport.clone(), config.queue.clone(), signal.clone(), metrics.clone());
    let reconciler = Reconciler::new(pool.clone(), transport, config.queue.clone(), signal.clone(), metrics);
    info!(intervals = ?config.refresh.intervals, cron = ?config.cron.entries, "cron");
    let tick = Duration::from_secs(1);
    // digest emails' links and the key their unsubscribe tokens are signed with
    let links = kronos_notify::Links::from_auth(&config.auth);
    let wake = signal.clone();
    tokio::select! {
        _ = kronos_db::notifications::listen_for_jobs(config.database_url.clone(), move || wake.wake()) => {}
        _ = refresh_cron::run(config.refresh.clone(), pool.clone(), signal.clone(), Duration::from_secs(10)) => {}
        _ = cron_table::run(table, config.cron.clone(), links, pool.clone(), signal.clone(), tick) => {}
        _ = batch_sweep::run(pool.clone(), signal.clone(), Duration::from_secs(5)) => {}
        _ = pool_forecasts::run(pool.clone(), signal, config.refresh.settle, config.cron.pool_horizon, Duration::from_secs(10)) => {}
        _ = billing_review::run(&config, pool, Duration::from_secs(60)) => {}
        _ = dispatcher.run() => {}
        _ = reconciler.run(Duration::from_secs(1)) => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate() => {}
    }
    info!("kronos-scheduler stopped");
    Ok(())
}

async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}
