//! `kronos-worker --devices cpu[,cuda:0,…]`: one pool per device.
//!
//! SIGTERM/SIGINT drains: workers stop taking jobs, in-flight jobs finish (up to
//! `--drain-secs`), and jobs fetched but not started are handed back to the queue.

use std::{sync::Arc, time::Duration};

use anyhow::{bail, Context};
use apalis::prelude::ParallelizeExt;
use apalis::prelude::{Monitor, WorkerBuilder, WorkerBuilderExt};
use clap::Parser;
use kronos_config::Config;
use kronos_exchanges::aggregator::MarketData;
use kronos_models::ComputeDevice;
use kronos_observability::metrics::Metrics;
use kronos_queue::transport::QueueTransport;
use kronos_storage::Storage;
use kronos_types::jobs::JobKind;
use kronos_worker::{
    batcher::BatchLimits,
    handler, heartbeat, identity,
    mailer::Mailer,
    model_library::ModelLibrary,
    notices::Notices,
    pool::{PoolContext, PoolSettings},
};
use tokio::signal::unix::{signal, SignalKind};
use tracing::{info, warn};

/// Command-line options (each also readable from the environment).
#[derive(Debug, Parser)]
#[command(name = "kronos-worker", about = "Runs Kronos jobs on device pools")]
struct Args {
    /// Devices to run pools on, comma-separated: cpu, cuda:0, cuda:1, …
    #[arg(long, env = "KRONOS_WORKER_DEVICES", default_value = "cpu", value_delimiter = ',')]
    devices: Vec<String>,
    /// Jobs each pool handles at once.
    #[arg(long, env = "KRONOS_WORKER_CONCURRENCY", default_value_t = 64)]
    concurrency: usize,
    /// Compute threads per CPU pool (GPU pools use one).
    #[arg(long, env = "KRONOS_WORKER_CPU_THREADS", default_value_t = 2)]
    cpu_threads: usize,
    /// Most prediction requests batched together.
    #[arg(long, env = "KRONOS_BATCH_MAX", default_value_t = 64)]
    max_batch: usize,
    /// Longest a prediction request waits for a batch to fill, in milliseconds.
    #[arg(long, env = "KRONOS_BATCH_WAIT_MS", default_value_t = 2)]
    max_wait_ms: u64,
    /// How interactive Kronos forecasts are batched: `continuous` (they join the running
    /// decode between steps), `dynamic` (batches form and run whole) or `auto`:
    /// continuous on GPUs, dynamic on CPUs, where continuous batching measured slower
    /// (docs/BENCHMARKS.md, "Serving").
    #[arg(long, env = "KRONOS_DECODE", default_value = "auto")]
    decode: DecodeMode,
    /// Most sample paths decoding together per model in a device's continuous batch
    /// (default: 32 on a CPU, 256 on a GPU).
    #[arg(long, env = "KRONOS_DECODE_MAX_ROWS")]
    decode_max_rows: Option<usize>,
    /// Most key/value cache per model in a device's continuous batch, in MiB (default:
    /// 2048 on a CPU, 16384 on a GPU).
    #[arg(long, env = "KRONOS_DECODE_CACHE_MIB")]
    decode_cache_mib: Option<i64>,
    /// Per-device batching overrides, `DEVICE=MAX_BATCH/MAX_WAIT_MS`, comma-separated
    /// (e.g. `cuda:0=128/10`); other devices use --max-batch and --max-wait-ms.
    #[arg(long, env = "KRONOS_POOL_BATCH", value_delimiter = ',')]
    pool_batch: Vec<String>,
    /// libtorch intra-op threads (default: libtorch's choice, one per core).
    #[arg(long, env = "KRONOS_TORCH_THREADS")]
    torch_threads: Option<i32>,
    /// Where registered models' weights are cached on this host (default: the
    /// configuration's `KRONOS_MODEL_CACHE`, `$KRONOS_HOME/model-cache`).
    #[arg(long)]
    model_cache: Option<std::path::PathBuf>,
    /// Refresh jobs (exchange data) handled at once by this process; 0 takes none.
    #[arg(long, env = "KRONOS_REFRESH_CONCURRENCY", default_value_t = 2)]
    refresh_concurrency: usize,
    /// Training jobs run at once per device pool (0: this worker trains nothing). Each
    /// holds one of the pool's compute threads for its whole run.
    #[arg(long, env = "KRONOS_TRAINING_CONCURRENCY", default_value_t = 1)]
    training_concurrency: usize,
    /// Backtest jobs run at once per device pool (0: this worker runs none). Sweeps
    /// spread over every core; model strategies forecast through the pool's batcher.
    #[arg(long, env = "KRONOS_BACKTEST_CONCURRENCY", default_value_t = 2)]
    backtest_concurrency: usize,
    /// Evaluation jobs run at once per device pool (0: this worker runs none); their
    /// forecasts go through the pool's batcher.
    #[arg(long, env = "KRONOS_EVALUATION_CONCURRENCY", default_value_t = 1)]
    evaluation_concurrency: usize,
    /// Bulk batch chunks run at once per device pool (0: this worker runs none). Their
    /// series go through the batcher's bulk lane, which leaves a compute thread free for
    /// interactive predictions.
    #[arg(long, env = "KRONOS_BATCH_CHUNK_CONCURRENCY", default_value_t = 2)]
    chunk_concurrency: usize,
    /// Seconds to let in-flight jobs finish after SIGTERM.
    #[arg(long, env = "KRONOS_WORKER_DRAIN_SECS", default_value_t = 30)]
    drain_secs: u64,
    /// Serve Prometheus metrics on this address (off when empty).
    #[arg(long, env = "KRONOS_WORKER_METRICS_ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
}

/// mimalloc: glibc malloc showed up at ~10% of worker CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Config::from_env()?;
    kronos_observability::telemetry::init(config.log_json);
    let devices = parse_devices(&args.devices)?;
    let default_limits =
        BatchLimits { max_batch: args.max_batch.max(1), max_wait: Duration::from_millis(args.max_wait_ms) };
    let limits = parse_pool_batch(&args.pool_batch)?;
    if let Some(n) = args.torch_threads {
        tch::set_num_threads(n.max(1));
    }
    let pool = kronos_db::pool(&config.database_url, config.db_pool_size)?;
    let relaxed = kronos_db::relaxed_pool(&config.database_url, config.db_pool_size / 2 + 1)?;
    let transport =
        QueueTransport::connect(&config.redis_url, &config.queue.prefix).await.context("connecting to Redis")?;
    let storage = Storage::open(&config.storage)?;
    let model_cache = args.model_cache.clone().unwrap_or_else(|| config.model_cache.clone());
    let models = Arc::new(ModelLibrary::new(pool.clone(), storage.clone(), model_cache));
    let metrics = Metrics::new();
    // refresh jobs read candles only: no ticker cache here
    let market = Arc::new(MarketData::from_config(&config.exchanges, None).context("exchange sources")?);
    let mailer = Arc::new(Mailer::from_config(&config.email).context("the SMTP settings")?);
    let notices = Arc::new(Notices::from_config(&config));
    let process = identity::process_name();
    info!(worker = %process, devices = ?args.devices, concurrency = args.concurrency, "kronos-worker starting");

    tokio::spawn(heartbeat::run(pool.clone(), process.clone(), config.queue.lease / 3));
    // completion callbacks: every worker process delivers due ones (leased per callback)
    tokio::spawn(kronos_callbacks::worker::run(pool.clone(), config.batches.clone()));
    if let Some(addr) = args.metrics_addr {
        tokio::spawn(serve_metrics(addr, metrics.clone()));
    }

    let mut monitor = Monitor::new()
        .should_restart(|worker, error| {
            warn!(worker = worker.name(), %error, "worker stopped with an error; restarting");
            true
        })
        .shutdown_timeout(Duration::from_secs(args.drain_secs));
    let mut refresh_ctx: Option<Arc<PoolContext>> = None;
    for device in devices {
        let settings = PoolSettings {
            device,
            concurrency: args.concurrency,
            threads: if device == ComputeDevice::Cpu { args.cpu_threads } else { 1 },
            batch: limits.get(&device).copied().unwrap_or(default_limits),
            decoding: args.decode.continuous(device).then(|| decode_limits(device, &args)),
        };
        let ctx = PoolContext::start(
            settings,
            process.clone(),
            pool.clone(),
            relaxed.clone(),
            storage.clone(),
            metrics.clone(),
            config.queue.clone(),
            Arc::clone(&models),
            Arc::clone(&market),
            Arc::clone(&mailer),
            Arc::clone(&notices),
            config.batches.clone(),
        )?;
        refresh_ctx.get_or_insert_with(|| Arc::clone(&ctx));
        let name = format!("{process}-{device}-prediction");
        let poll = config.queue.poll_interval;
        monitor = register(monitor, &transport, JobKind::Prediction, args.concurrency, poll, name, Arc::clone(&ctx));
        if args.backtest_concurrency > 0 {
            let name = format!("{process}-{device}-backtest");
            let poll = poll.max(Duration::from_millis(200));
            let ctx = Arc::clone(&ctx);
            monitor = register(monitor, &transport, JobKind::Backtest, args.backtest_concurrency, poll, name, ctx);
        }
        if args.evaluation_concurrency > 0 {
            let name = format!("{process}-{device}-evaluation");
            let poll = poll.max(Duration::from_millis(200));
            let ctx = Arc::clone(&ctx);
            monitor = register(monitor, &transport, JobKind::Evaluation, args.evaluation_concurrency, poll, name, ctx);
        }
        if args.chunk_concurrency > 0 {
            let name = format!("{process}-{device}-batch-chunk");
            let ctx = Arc::clone(&ctx);
            monitor = register(monitor, &transport, JobKind::BatchChunk, args.chunk_concurrency, poll, name, ctx);
        }
        if args.training_concurrency > 0 {
            let name = format!("{process}-{device}-training");
            let poll = poll.max(Duration::from_millis(500));
            monitor = register(monitor, &transport, JobKind::Training, args.training_concurrency, poll, name, ctx);
        }
    }
    // Refresh jobs are network-bound: one set of handlers per process, on the first pool.
    if let Some(ctx) = refresh_ctx {
        let poll = config.queue.poll_interval.max(Duration::from_millis(200));
        if args.refresh_concurrency > 0 {
            let name = format!("{process}-refresh");
            let ctx = Arc::clone(&ctx);
            monitor = register(monitor, &transport, JobKind::Refresh, args.refresh_concurrency, poll, name, ctx);
        }
        // verification is database work and cleanup object-store work: one at a time
        // per process is plenty
        let name = format!("{process}-verification");
        monitor = register(monitor, &transport, JobKind::Verification, 1, poll, name, Arc::clone(&ctx));
        let name = format!("{process}-cleanup");
        monitor = register(monitor, &transport, JobKind::Cleanup, 1, poll, name, Arc::clone(&ctx));
        // a batch's ingest and finish are file work: two at once per process
        let name = format!("{process}-batch");
        monitor = register(monitor, &transport, JobKind::Batch, 2, poll, name, Arc::clone(&ctx));
        // email is network-bound and small: a few at once per process
        let name = format!("{process}-email");
        monitor = register(monitor, &transport, JobKind::Email, 4, poll, name, ctx);
    }
    monitor.run_with_signal(shutdown_signal()).await?;
    info!("kronos-worker drained and stopped");
    Ok(())
}

/// How often each apalis worker beats (its leases, orphan recovery). Pickup of new
/// tasks does not wait for it: an idle worker fetches every queue poll interval
/// (`kronos_queue::polling` says why that needed our own timer).
const HEARTBEAT: Duration = Duration::from_secs(2);

/// A worker silent this long is taken for dead and its tasks go back to the queue.
const ORPHANED_AFTER: Duration = Duration::from_secs(6);

/// Adds apalis workers for `kind`'s queue, `concurrency` handlers at once, running
/// with `ctx` (restarted under a new name if one stops with an error).
fn register(
    monitor: Monitor,
    transport: &QueueTransport,
    kind: JobKind,
    concurrency: usize,
    poll: Duration,
    name: String,
    ctx: Arc<PoolContext>,
) -> Monitor {
    let transport = transport.clone();
    monitor.register(move |restarts| {
        let backend = transport.worker_backend(kind, concurrency, HEARTBEAT, ORPHANED_AFTER, poll);
        WorkerBuilder::new(format!("{name}-r{restarts}"))
            .backend(backend)
            .concurrency(concurrency)
            .parallelize(tokio::spawn)
            .data(Arc::clone(&ctx))
            .build(handler::handle)
    })
}

fn parse_devices(raw: &[String]) -> anyhow::Result<Vec<ComputeDevice>> {
    let mut devices = Vec::new();
    for d in raw.iter().filter(|d| !d.trim().is_empty()) {
        let device: ComputeDevice = d.parse().map_err(anyhow::Error::msg)?;
        if !device.is_available() {
            bail!("device {device} is not available on this machine");
        }
        if devices.contains(&device) {
            bail!("device {device} is listed twice");
        }
        devices.push(device);
    }
    if devices.is_empty() {
        bail!("no devices given (--devices cpu,cuda:0,…)");
    }
    Ok(devices)
}

/// Parses `DEVICE=MAX_BATCH/MAX_WAIT_MS` entries.
/// How a pool batches interactive Kronos forecasts (`--decode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DecodeMode {
    /// Continuous on GPUs, dynamic on CPUs.
    Auto,
    /// Requests join the running decode between steps.
    Continuous,
    /// Batches form and run whole.
    Dynamic,
}

impl DecodeMode {
    /// Whether `device`'s pool decodes continuously.
    fn continuous(self, device: ComputeDevice) -> bool {
        match self {
            DecodeMode::Auto => device != ComputeDevice::Cpu,
            DecodeMode::Continuous => true,
            DecodeMode::Dynamic => false,
        }
    }
}

/// The continuous decoder's limits on `device`: its defaults unless overridden.
fn decode_limits(device: ComputeDevice, args: &Args) -> kronos_models::kronos::ContinuousLimits {
    let defaults = kronos_models::kronos::ContinuousLimits::for_device(device.to_tch());
    kronos_models::kronos::ContinuousLimits {
        max_rows: args.decode_max_rows.map_or(defaults.max_rows, |rows| rows.max(1)),
        max_cache_bytes: args.decode_cache_mib.map_or(defaults.max_cache_bytes, |mib| mib.max(1) << 20),
    }
}

fn parse_pool_batch(raw: &[String]) -> anyhow::Result<std::collections::HashMap<ComputeDevice, BatchLimits>> {
    let mut out = std::collections::HashMap::new();
    for entry in raw.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let parsed = entry.split_once('=').and_then(|(device, limits)| {
            let (batch, wait) = limits.split_once('/')?;
            Some((device.parse::<ComputeDevice>().ok()?, batch.parse::<usize>().ok()?, wait.parse::<u64>().ok()?))
        });
        let Some((device, max_batch, wait_ms)) = parsed.filter(|p| p.1 > 0) else {
            bail!("--pool-batch {entry:?}: expected DEVICE=MAX_BATCH/MAX_WAIT_MS, e.g. cuda:0=128/10");
        };
        out.insert(device, BatchLimits { max_batch, max_wait: Duration::from_millis(wait_ms) });
    }
    Ok(out)
}

async fn shutdown_signal() -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        r = tokio::signal::ctrl_c() => r?,
    }
    info!("shutdown requested; draining");
    Ok(())
}

async fn serve_metrics(addr: std::net::SocketAddr, metrics: Metrics) {
    let app = axum::Router::new().route("/metrics", axum::routing::get(move || async move { metrics.render() }));
    match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => {
            if let Err(e) = axum::serve(listener, app).await {
                warn!(error = %e, "metrics server stopped");
            }
        }
        Err(e) => warn!(error = %e, %addr, "cannot bind metrics address"),
    }
}
