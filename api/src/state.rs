//! Shared handles every handler gets.

use std::sync::Arc;

use kronos_shared::{
    config::Config,
    db::DbPool,
    exchanges::aggregator::{MarketData, TickerCache},
    jobs::{
        enqueue::{DispatchSignal, Enqueuer},
        queue::QueueTransport,
    },
    metrics::Metrics,
    storage::Storage,
};

/// The API's state: cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// PostgreSQL pool.
    pub pool: DbPool,
    /// Redis transport.
    pub transport: QueueTransport,
    /// Object store.
    pub storage: Storage,
    /// Metrics registry.
    pub metrics: Metrics,
    /// Wakes the in-process dispatcher.
    pub signal: DispatchSignal,
    /// Batching job writer.
    pub enqueuer: Enqueuer,
    /// Exchange sources (tickers, cached in Redis).
    pub market: Arc<MarketData>,
    /// Configuration.
    pub config: Arc<Config>,
}

impl AppState {
    /// Opens every handle the configuration names.
    pub async fn connect(config: Config) -> anyhow::Result<Self> {
        let pool = kronos_shared::db::pool(&config.database_url, config.db_pool_size)?;
        let transport = QueueTransport::connect(&config.redis_url, &config.queue.prefix).await?;
        let storage = Storage::open(&config.storage)?;
        let signal = DispatchSignal::new();
        let enqueuer = Enqueuer::start(pool.clone(), signal.clone());
        let cache = TickerCache::new(transport.connection(), &config.queue.prefix, config.exchanges.ticker_cache);
        let market = Arc::new(MarketData::from_config(&config.exchanges, Some(cache))?);
        Ok(Self {
            pool,
            transport,
            storage,
            metrics: Metrics::new(),
            signal,
            enqueuer,
            market,
            config: Arc::new(config),
        })
    }
}
