//! Typed configuration, read once and passed explicitly.
//!
//! Every variable is listed in the README's configuration table. A variable is read
//! from the process environment first, then from the platform's env file: one source
//! that `ops/up` writes (`$KRONOS_HOME/kronos.env`) and that every process reads —
//! the services `ops/up` starts, `ops/kronos` and a `kronos` binary run by hand — so
//! they agree on the database, the object store and the model cache wherever they run.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

pub mod accounts;
pub mod batches;
pub mod billing;
mod env;
pub mod error;

pub use accounts::{AuthConfig, EmailConfig, Rate, Secret, SmtpSecurity};
pub use batches::{BatchConfig, Cidr};
pub use billing::BillingConfig;
pub use env::{home, Env};
use env::{list, parse, parse_bool};
pub use error::{Error, Result};

/// Everything a Kronos process needs to know about its surroundings.
#[derive(Debug, Clone)]
pub struct Config {
    /// PostgreSQL connection URL (`DATABASE_URL`).
    pub database_url: String,
    /// Largest PostgreSQL pool per process (`KRONOS_DB_POOL_SIZE`).
    pub db_pool_size: usize,
    /// Redis connection URL (`REDIS_URL`).
    pub redis_url: String,
    /// Queue settings.
    pub queue: QueueConfig,
    /// Object store settings.
    pub storage: StorageConfig,
    /// HTTP API settings.
    pub api: ApiConfig,
    /// Exchange data sources.
    pub exchanges: ExchangeConfig,
    /// The scheduler's refresh cron.
    pub refresh: RefreshSchedule,
    /// The scheduler's cron table.
    pub cron: CronConfig,
    /// Accounts: tokens, password hashing, rate limits, links.
    pub auth: AuthConfig,
    /// The SMTP server transactional email goes through.
    pub email: EmailConfig,
    /// Stripe subscriptions.
    pub billing: BillingConfig,
    /// Bulk batches and completion callbacks.
    pub batches: BatchConfig,
    /// Emit JSON logs (`KRONOS_LOG_FORMAT=json`).
    pub log_json: bool,
    /// Where workers and the CLI keep downloaded model weights (`KRONOS_MODEL_CACHE`,
    /// default `$KRONOS_HOME/model-cache`).
    pub model_cache: PathBuf,
    /// The env file read, if any (see [`Env`]).
    pub env_file: Option<PathBuf>,
}

/// Queue transport and job-lifecycle settings.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Prefix of every Redis key (`KRONOS_QUEUE_PREFIX`); tests use one per test.
    pub prefix: String,
    /// Most jobs per kind that may sit in Redis unclaimed (`KRONOS_QUEUE_BACKLOG_MAX`).
    pub backlog_max: i64,
    /// Bulk batch chunks waiting in Redis at once (`KRONOS_BATCH_CHUNK_BACKLOG`, default
    /// 8): kept small, so the dispatcher's round-robin across tenants decides which
    /// tenant's chunk runs next rather than the order they were queued in.
    pub chunk_backlog: i64,
    /// How often idle workers poll Redis (`KRONOS_POLL_INTERVAL_MS`).
    pub poll_interval: Duration,
    /// A running job whose heartbeat is older than this is presumed lost (`KRONOS_LEASE_SECS`).
    pub lease: Duration,
    /// A dispatched job still unclaimed after this is checked for in Redis (`KRONOS_REDISPATCH_CHECK_SECS`).
    pub redispatch_check: Duration,
    /// Base of the exponential retry backoff (`KRONOS_RETRY_BASE_MS`).
    pub retry_base: Duration,
    /// Cap of the retry backoff (`KRONOS_RETRY_MAX_SECS`).
    pub retry_max: Duration,
}

/// Where artifacts go.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// A directory on the local filesystem (`KRONOS_STORAGE=local`, `KRONOS_STORAGE_PATH`).
    Local {
        /// Root directory.
        root: PathBuf,
    },
    /// An S3-compatible server (`KRONOS_STORAGE=s3`).
    S3(S3Config),
}

/// S3 / MinIO connection settings.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// Bucket name (`KRONOS_S3_BUCKET`).
    pub bucket: String,
    /// Endpoint URL; empty for AWS (`KRONOS_S3_ENDPOINT`).
    pub endpoint: Option<String>,
    /// Region (`KRONOS_S3_REGION`, default `us-east-1`).
    pub region: String,
    /// Access key id (`KRONOS_S3_ACCESS_KEY_ID`).
    pub access_key_id: String,
    /// Secret access key (`KRONOS_S3_SECRET_ACCESS_KEY`).
    pub secret_access_key: Secret,
    /// Path-style addressing, as MinIO wants (`KRONOS_S3_PATH_STYLE`, default true).
    pub path_style: bool,
}

/// HTTP API settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Listen address (`KRONOS_API_ADDR`, default `127.0.0.1:8080`).
    pub addr: SocketAddr,
    /// Most candles accepted inline in one prediction request (`KRONOS_MAX_INLINE_CANDLES`).
    pub max_inline_candles: usize,
    /// Largest request body in bytes (`KRONOS_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Run a dispatcher and reconciler inside the API process too (`KRONOS_API_DISPATCHER`,
    /// default false: the scheduler runs the deployment's one).
    pub run_dispatcher: bool,
    /// Longest wait for a request's headers (`KRONOS_API_HEADER_TIMEOUT_SECS`, default 10).
    pub header_read_timeout: Duration,
    /// Longest pause while a request body arrives (`KRONOS_API_BODY_TIMEOUT_SECS`, default 30).
    pub body_read_timeout: Duration,
    /// Most connections served at once (`KRONOS_API_MAX_CONNECTIONS`, default 1024).
    pub max_connections: usize,
    /// Most CPU-heavy request computations at once (`KRONOS_API_HEAVY_LIMIT`, default 2).
    pub heavy_limit: usize,
    /// How long a request waits for a heavy-work slot before a 503
    /// (`KRONOS_API_HEAVY_WAIT_SECS`, default 10).
    pub heavy_wait: Duration,
    /// Where the interactive API docs' files (Swagger UI, installed by `ops/up`) are
    /// served from at `/docs` (`KRONOS_API_DOCS_ASSETS`; unset: `/docs` says how to
    /// install them, `/openapi.json` is always served).
    pub docs_assets: Option<PathBuf>,
    /// The web application's build (`api/web/dist`), served at `/` (`KRONOS_WEB_DIR`;
    /// set by `ops/up`; unset: `/` answers 404 and the API works alone).
    pub web_dir: Option<PathBuf>,
}

/// Exchange data sources: where they are, how hard we may call them, in which order
/// we try them.
#[derive(Debug, Clone)]
pub struct ExchangeConfig {
    /// Binance spot base URL (`KRONOS_BINANCE_URL`, default `https://api.binance.com`).
    pub binance_url: String,
    /// OKX base URL (`KRONOS_OKX_URL`, default `https://www.okx.com`).
    pub okx_url: String,
    /// CoinGecko base URL (`KRONOS_COINGECKO_URL`, default `https://api.coingecko.com`).
    pub coingecko_url: String,
    /// Source order for candles (`KRONOS_CANDLE_SOURCES`, default `binance,okx,coingecko`).
    pub candle_sources: Vec<String>,
    /// Source order for tickers (`KRONOS_TICKER_SOURCES`, default `binance,okx,coingecko`).
    pub ticker_sources: Vec<String>,
    /// Binance request weight per minute (`KRONOS_BINANCE_WEIGHT_PER_MIN`, default 1200 of the 6000 allowed).
    pub binance_weight_per_min: u32,
    /// OKX requests per 2 seconds (`KRONOS_OKX_REQUESTS_PER_2S`, default 10 of the 20 allowed).
    pub okx_requests_per_2s: u32,
    /// CoinGecko calls per minute (`KRONOS_COINGECKO_CALLS_PER_MIN`, default 10).
    pub coingecko_calls_per_min: u32,
    /// Per-request timeout (`KRONOS_SOURCE_TIMEOUT_MS`, default 10000).
    pub timeout: Duration,
    /// Retries per request after the first try (`KRONOS_SOURCE_RETRIES`, default 3).
    pub retries: u32,
    /// First retry backoff, doubling (`KRONOS_SOURCE_BACKOFF_MS`, default 250).
    pub backoff: Duration,
    /// Longest backoff or `Retry-After` honoured before failing over (`KRONOS_SOURCE_MAX_WAIT_SECS`, default 10).
    pub max_wait: Duration,
    /// How long tickers stay cached in Redis (`KRONOS_TICKER_CACHE_MS`, default 5000).
    pub ticker_cache: Duration,
}

/// Which intervals the scheduler refreshes, and how long after a bar closes.
#[derive(Debug, Clone)]
pub struct RefreshSchedule {
    /// Intervals (`KRONOS_REFRESH_INTERVALS`, default `1h,1d`; empty: none).
    pub intervals: Vec<kronos_types::Interval>,
    /// Wait after a bar closes (`KRONOS_REFRESH_SETTLE_SECS`, default 30).
    pub settle: Duration,
}

/// The scheduler's cron table (besides refresh).
#[derive(Debug, Clone)]
pub struct CronConfig {
    /// `(task, expression)` pairs (`KRONOS_CRON`: `task=expr;task=expr`, expressions
    /// with seconds: `sec min hour day month weekday`; empty: no entries). Default
    /// `verify=0 5 * * * *;retrain=0 0 2 * * *;cleanup=0 30 3 * * *;digest=0 0 8 * * Mon` (UTC).
    pub entries: Vec<(String, String)>,
    /// Most missed slots of a task caught up after an outage (`KRONOS_CRON_CATCHUP`, 24).
    pub catch_up: usize,
    /// Age after which forecast documents and failed jobs' checkpoints are deleted
    /// (`KRONOS_ARTIFACT_RETENTION_DAYS`, 90).
    pub retention: Duration,
    /// Steps of the model pools' scheduled forecasts (`KRONOS_POOL_FORECAST_HORIZON`, 5).
    pub pool_horizon: usize,
}

/// The default cron table.
pub const DEFAULT_CRON: &str = "verify=0 5 * * * *;retrain=0 0 2 * * *;cleanup=0 30 3 * * *;digest=0 0 8 * * Mon";

impl CronConfig {
    /// Reads the cron table (expressions are checked by the scheduler, which parses them).
    pub fn from_env(env: &Env) -> Result<Self> {
        let raw = env.var("KRONOS_CRON").unwrap_or_else(|| DEFAULT_CRON.into());
        let entries = raw
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|entry| {
                entry
                    .split_once('=')
                    .map(|(task, expr)| (task.trim().to_owned(), expr.trim().to_owned()))
                    .ok_or_else(|| Error::Config(format!("KRONOS_CRON: {entry:?} is not task=expression")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            entries,
            catch_up: parse(env, "KRONOS_CRON_CATCHUP", 24)?,
            retention: Duration::from_secs(parse::<u64>(env, "KRONOS_ARTIFACT_RETENTION_DAYS", 90)? * 86_400),
            pool_horizon: parse(env, "KRONOS_POOL_FORECAST_HORIZON", 5)?,
        })
    }
}

impl RefreshSchedule {
    /// Reads the refresh cron settings.
    pub fn from_env(env: &Env) -> Result<Self> {
        let raw = env.var("KRONOS_REFRESH_INTERVALS").unwrap_or_else(|| "1h,1d".into());
        let intervals = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|e| Error::Config(format!("KRONOS_REFRESH_INTERVALS: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { intervals, settle: Duration::from_secs(parse(env, "KRONOS_REFRESH_SETTLE_SECS", 30)?) })
    }
}

impl ExchangeConfig {
    /// Reads the exchange settings.
    pub fn from_env(env: &Env) -> Result<Self> {
        let config = Self {
            binance_url: env.var("KRONOS_BINANCE_URL").unwrap_or_else(|| "https://api.binance.com".into()),
            okx_url: env.var("KRONOS_OKX_URL").unwrap_or_else(|| "https://www.okx.com".into()),
            coingecko_url: env.var("KRONOS_COINGECKO_URL").unwrap_or_else(|| "https://api.coingecko.com".into()),
            candle_sources: list(env, "KRONOS_CANDLE_SOURCES", "binance,okx,coingecko"),
            ticker_sources: list(env, "KRONOS_TICKER_SOURCES", "binance,okx,coingecko"),
            binance_weight_per_min: parse(env, "KRONOS_BINANCE_WEIGHT_PER_MIN", 1200)?,
            okx_requests_per_2s: parse(env, "KRONOS_OKX_REQUESTS_PER_2S", 10)?,
            coingecko_calls_per_min: parse(env, "KRONOS_COINGECKO_CALLS_PER_MIN", 10)?,
            timeout: Duration::from_millis(parse(env, "KRONOS_SOURCE_TIMEOUT_MS", 10_000)?),
            retries: parse(env, "KRONOS_SOURCE_RETRIES", 3)?,
            backoff: Duration::from_millis(parse(env, "KRONOS_SOURCE_BACKOFF_MS", 250)?),
            max_wait: Duration::from_secs(parse(env, "KRONOS_SOURCE_MAX_WAIT_SECS", 10)?),
            ticker_cache: Duration::from_millis(parse(env, "KRONOS_TICKER_CACHE_MS", 5000)?),
        };
        for name in config.candle_sources.iter().chain(&config.ticker_sources) {
            if !["binance", "okx", "coingecko"].contains(&name.as_str()) {
                return Err(Error::Config(format!(
                    "unknown market-data source {name:?}: expected binance, okx or coingecko"
                )));
            }
        }
        Ok(config)
    }
}

impl Config {
    /// Reads the configuration from the process environment and the env file.
    pub fn from_env() -> Result<Self> {
        let env = Env::load()?;
        let env = &env;
        let home = home();
        let storage = match env.var("KRONOS_STORAGE").as_deref().unwrap_or("local") {
            "local" => StorageConfig::Local {
                root: env.var("KRONOS_STORAGE_PATH").map_or_else(|| home.join("objects"), PathBuf::from),
            },
            "s3" => StorageConfig::S3(S3Config {
                bucket: env
                    .var("KRONOS_S3_BUCKET")
                    .ok_or_else(|| Error::Config("KRONOS_S3_BUCKET is required with KRONOS_STORAGE=s3".into()))?,
                endpoint: env.var("KRONOS_S3_ENDPOINT"),
                region: env.var("KRONOS_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                access_key_id: env.var("KRONOS_S3_ACCESS_KEY_ID").unwrap_or_default(),
                secret_access_key: Secret::new(env.var("KRONOS_S3_SECRET_ACCESS_KEY").unwrap_or_default()),
                path_style: parse_bool(env, "KRONOS_S3_PATH_STYLE", true)?,
            }),
            other => return Err(Error::Config(format!("KRONOS_STORAGE={other:?}: expected local or s3"))),
        };
        Ok(Self {
            database_url: env.var("DATABASE_URL").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/kronos".into()),
            db_pool_size: parse(env, "KRONOS_DB_POOL_SIZE", 16)?,
            redis_url: env.var("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
            queue: QueueConfig {
                prefix: env.var("KRONOS_QUEUE_PREFIX").unwrap_or_else(|| "kronos".into()),
                backlog_max: parse(env, "KRONOS_QUEUE_BACKLOG_MAX", 2000)?,
                chunk_backlog: parse::<i64>(env, "KRONOS_BATCH_CHUNK_BACKLOG", 8)?.max(1),
                poll_interval: Duration::from_millis(parse(env, "KRONOS_POLL_INTERVAL_MS", 50)?),
                lease: Duration::from_secs(parse(env, "KRONOS_LEASE_SECS", 15)?),
                redispatch_check: Duration::from_secs(parse(env, "KRONOS_REDISPATCH_CHECK_SECS", 5)?),
                retry_base: Duration::from_millis(parse(env, "KRONOS_RETRY_BASE_MS", 1000)?),
                retry_max: Duration::from_secs(parse(env, "KRONOS_RETRY_MAX_SECS", 300)?),
            },
            storage,
            api: ApiConfig {
                addr: parse(env, "KRONOS_API_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
                max_inline_candles: parse(env, "KRONOS_MAX_INLINE_CANDLES", 4096)?,
                max_body_bytes: parse(env, "KRONOS_MAX_BODY_BYTES", 4 * 1024 * 1024)?,
                run_dispatcher: parse_bool(env, "KRONOS_API_DISPATCHER", false)?,
                header_read_timeout: Duration::from_secs(parse(env, "KRONOS_API_HEADER_TIMEOUT_SECS", 10)?),
                body_read_timeout: Duration::from_secs(parse(env, "KRONOS_API_BODY_TIMEOUT_SECS", 30)?),
                max_connections: parse(env, "KRONOS_API_MAX_CONNECTIONS", 1024)?,
                heavy_limit: parse(env, "KRONOS_API_HEAVY_LIMIT", 2)?,
                heavy_wait: Duration::from_secs(parse(env, "KRONOS_API_HEAVY_WAIT_SECS", 10)?),
                docs_assets: env.var("KRONOS_API_DOCS_ASSETS").map(PathBuf::from),
                web_dir: env.var("KRONOS_WEB_DIR").map(PathBuf::from),
            },
            exchanges: ExchangeConfig::from_env(env)?,
            refresh: RefreshSchedule::from_env(env)?,
            cron: CronConfig::from_env(env)?,
            auth: AuthConfig::from_env(env)?,
            email: EmailConfig::from_env(env)?,
            billing: BillingConfig::from_env(env)?,
            batches: BatchConfig::from_env(env)?,
            log_json: env.var("KRONOS_LOG_FORMAT").as_deref() == Some("json"),
            model_cache: env.var("KRONOS_MODEL_CACHE").map_or_else(|| home.join("model-cache"), PathBuf::from),
            env_file: env.path().map(std::path::Path::to_path_buf),
        })
    }
}
