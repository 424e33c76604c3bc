//! Shared handles every handler gets.

use crate::{
    auth::{limits::Counters, meter::ApiCallMeter, resolve::Authenticator},
    heavy::HeavyWork,
    live::JobWatch,
    web::WebApp,
};
use std::sync::Arc;

use kronos_auth::{
    jwt::{SigningKey, TokenKeys},
    password::{HashParams, Passwords},
};
use kronos_config::Config;
use kronos_db::DbPool;
use kronos_exchanges::{aggregator::MarketData, aggregator::TickerCache};
use kronos_observability::metrics::Metrics;
use kronos_queue::{enqueue::DispatchSignal, enqueue::Enqueuer, transport::QueueTransport};
use kronos_storage::Storage;

/// The API's state: one pointer, cheap to clone (every handler and middleware that
/// takes `State` clones it; cloning each handle in it cost a tenth of a status read's
/// CPU). Its parts are read through `Deref`: `state.pool`, `state.config`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What every request shares.
pub struct Shared {
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
    /// Registered models whose weights were seen in the object store.
    pub weights_present: Arc<KnownWeights>,
    /// The bounded runner of CPU-heavy request work.
    pub heavy: HeavyWork,
    /// Verifies credentials (and caches what the database says of them).
    pub auth: Arc<Authenticator>,
    /// Hashes and verifies passwords.
    pub passwords: Arc<Passwords>,
    /// Rate limits in Redis.
    pub counters: Counters,
    /// API calls per user and day.
    pub api_calls: ApiCallMeter,
    /// Live job status for the event streams.
    pub live: JobWatch,
    /// The web application's files.
    pub web: Arc<WebApp>,
    /// Stripe, when billing is configured.
    pub billing: Option<kronos_billing::StripeBilling>,
}

/// Ids of registered models whose weights are known to be in the object store (models
/// are immutable: checked once per process, forgotten when deleted here).
#[derive(Debug, Default)]
pub struct KnownWeights(std::sync::Mutex<std::collections::HashSet<i64>>);

impl KnownWeights {
    /// Whether model `id`'s weights were seen.
    pub fn contains(&self, id: i64) -> bool {
        self.0.lock().is_ok_and(|set| set.contains(&id))
    }

    /// Notes that model `id`'s weights are there.
    pub fn insert(&self, id: i64) {
        if let Ok(mut set) = self.0.lock() {
            set.insert(id);
        }
    }

    /// Forgets model `id` (deleted).
    pub fn forget(&self, id: i64) {
        if let Ok(mut set) = self.0.lock() {
            set.remove(&id);
        }
    }
}

impl AppState {
    /// Opens every handle the configuration names.
    pub async fn connect(config: Config) -> anyhow::Result<Self> {
        let pool = kronos_db::pool(&config.database_url, config.db_pool_size)?;
        let transport = QueueTransport::connect(&config.redis_url, &config.queue.prefix).await?;
        let storage = Storage::open(&config.storage)?;
        let signal = DispatchSignal::new();
        let enqueuer = Enqueuer::start(pool.clone(), signal.clone());
        let cache = TickerCache::new(transport.connection(), &config.queue.prefix, config.exchanges.ticker_cache);
        let market = Arc::new(MarketData::from_config(&config.exchanges, Some(cache))?);
        let auth = Arc::new(Authenticator::new(token_keys(&config.auth)?, config.auth.cache_ttl));
        let passwords = Arc::new(Passwords::new(HashParams {
            memory_kib: config.auth.argon2_memory_kib,
            iterations: config.auth.argon2_iterations,
            parallelism: config.auth.argon2_parallelism,
        })?);
        let counters = Counters::new(transport.connection(), &config.queue.prefix);
        let api_calls = ApiCallMeter::start(transport.connection(), &config.queue.prefix);
        let live = JobWatch::start(pool.clone(), config.database_url.clone());
        let web = Arc::new(WebApp::new(config.api.web_dir.as_deref()));
        let billing = kronos_billing::StripeBilling::new(&config.billing)?;
        Ok(Self(Arc::new(Shared {
            pool,
            transport,
            storage,
            metrics: Metrics::new(),
            signal,
            enqueuer,
            market,
            heavy: HeavyWork::new(config.api.heavy_limit, config.api.heavy_wait),
            config: Arc::new(config),
            weights_present: Arc::default(),
            auth,
            passwords,
            counters,
            api_calls,
            live,
            web,
            billing,
        })))
    }
}

/// The access-token keys of `config` (`KRONOS_JWT_KEYS`: the first signs).
fn token_keys(config: &kronos_config::AuthConfig) -> anyhow::Result<TokenKeys> {
    let mut keys = config
        .jwt_keys
        .iter()
        .map(|(kid, secret)| SigningKey::new(kid.clone(), secret.expose().as_bytes().to_vec()))
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        anyhow::bail!("KRONOS_JWT_KEYS is not set: the API needs a key to sign access tokens (ops/up writes one)");
    }
    let current = keys.remove(0);
    Ok(TokenKeys::new(current, keys, config.access_ttl)?)
}
