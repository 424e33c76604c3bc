//! `kronos-scheduler`: one active leader per deployment (a PostgreSQL advisory lock)
//! runs the dispatcher, which meters jobs from PostgreSQL into Redis, and the
//! reconciler, which returns lost and orphaned jobs to the queue. Replicas wait for
//! the lock. The cron table enqueues refresh jobs per interval; verification and
//! retraining entries join it as their job kinds land.

mod cron;
mod leader;

use std::time::Duration;

use anyhow::Context;
use kronos_shared::{
    config::Config,
    jobs::{dispatcher::Dispatcher, enqueue::DispatchSignal, queue::QueueTransport, reconciler::Reconciler},
    metrics::Metrics,
};
use tracing::info;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    kronos_shared::telemetry::init(config.log_json);
    let pool = kronos_shared::db::pool(&config.database_url, 4)?;
    let transport =
        QueueTransport::connect(&config.redis_url, &config.queue.prefix).await.context("connecting to Redis")?;
    let _leadership = leader::acquire(&config.database_url).await?;
    info!("kronos-scheduler is the leader");
    let metrics = Metrics::new();
    let signal = DispatchSignal::new();
    let relaxed = kronos_shared::db::relaxed_pool(&config.database_url, 2)?;
    let dispatcher = Dispatcher::new(relaxed, transport.clone(), config.queue.clone(), signal.clone(), metrics.clone());
    let reconciler = Reconciler::new(pool.clone(), transport, config.queue.clone(), signal.clone(), metrics);
    info!(intervals = ?config.refresh.intervals, "refresh cron");
    tokio::select! {
        _ = cron::run(config.refresh.clone(), pool, signal, Duration::from_secs(10)) => {}
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
