//! `kronos-api`: the HTTP API process. The deployment's dispatcher and reconciler run
//! in `kronos-scheduler` (woken across processes by PostgreSQL notifications); with
//! `KRONOS_API_DISPATCHER=true` this process runs its own as well. `kronos-api openapi` prints the OpenAPI
//! document (what `/openapi.json` serves) and exits.

use std::time::Duration;

use anyhow::Context;
use kronos_api::{
    router,
    server::{serve, ServerLimits},
    AppState,
};
use kronos_config::Config;
use kronos_queue::{dispatcher::Dispatcher, reconciler::Reconciler};
use tokio::signal::unix::{signal, SignalKind};
use tracing::info;

/// mimalloc: glibc malloc showed up at ~10% of worker CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        None => {}
        Some("openapi") => {
            println!("{}", kronos_api::api_document().to_pretty_json()?);
            return Ok(());
        }
        Some(other) => anyhow::bail!(
            "unknown argument {other:?}; kronos-api takes none, or `openapi` to print its OpenAPI document"
        ),
    }
    let config = Config::from_env()?;
    kronos_observability::telemetry::init(config.log_json);
    let addr = config.api.addr;
    let state = AppState::connect(config).await.context("connecting to PostgreSQL, Redis and the object store")?;
    let mut background = Vec::new();
    if state.config.api.run_dispatcher {
        let q = state.config.queue.clone();
        let relaxed = kronos_db::relaxed_pool(&state.config.database_url, 4)?;
        let dispatcher =
            Dispatcher::new(relaxed, state.transport.clone(), q.clone(), state.signal.clone(), state.metrics.clone());
        let reconciler = Reconciler::new(
            state.pool.clone(),
            state.transport.clone(),
            q,
            state.signal.clone(),
            state.metrics.clone(),
        );
        background.push(tokio::spawn(dispatcher.run()));
        let wake = state.signal.clone();
        background.push(tokio::spawn(kronos_db::notifications::listen_for_jobs(
            state.config.database_url.clone(),
            move || wake.wake(),
        )));
        background.push(tokio::spawn(reconciler.run(Duration::from_secs(1))));
    }
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
    let limits = ServerLimits {
        header_read_timeout: state.config.api.header_read_timeout,
        max_connections: state.config.api.max_connections,
    };
    info!(%addr, storage = state.storage.describe(), env_file = ?state.config.env_file, "kronos-api listening");
    let api_calls = state.api_calls.clone();
    serve(listener, router(state), limits, shutdown_signal()).await?;
    if let Err(e) = api_calls.flush().await {
        tracing::warn!(error = %e.message(), "the last API calls counted were not added to Redis");
    }
    for task in background {
        task.abort();
    }
    info!("kronos-api stopped");
    Ok(())
}

async fn shutdown_signal() {
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
