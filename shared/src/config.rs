//! Typed configuration, read once from the environment and passed explicitly.
//!
//! Every variable is listed in the README's configuration table.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use crate::error::{Error, Result};

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
    /// Emit JSON logs (`KRONOS_LOG_FORMAT=json`).
    pub log_json: bool,
}

/// Queue transport and job-lifecycle settings.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Prefix of every Redis key (`KRONOS_QUEUE_PREFIX`); tests use one per test.
    pub prefix: String,
    /// Most jobs per kind that may sit in Redis unclaimed (`KRONOS_QUEUE_BACKLOG_MAX`).
    pub backlog_max: i64,
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
    pub secret_access_key: String,
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
    /// Run the dispatcher and reconciler inside the API process (`KRONOS_API_DISPATCHER`, default true).
    pub run_dispatcher: bool,
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
    pub intervals: Vec<crate::market_data::Interval>,
    /// Wait after a bar closes (`KRONOS_REFRESH_SETTLE_SECS`, default 30).
    pub settle: Duration,
}

/// The scheduler's cron table (besides refresh).
#[derive(Debug, Clone)]
pub struct CronConfig {
    /// `(task, expression)` pairs (`KRONOS_CRON`: `task=expr;task=expr`, expressions
    /// with seconds: `sec min hour day month weekday`; empty: no entries). Default
    /// `verify=0 5 * * * *;retrain=0 0 2 * * *;cleanup=0 30 3 * * *` (UTC).
    pub entries: Vec<(String, String)>,
    /// Most missed slots of a task caught up after an outage (`KRONOS_CRON_CATCHUP`, 24).
    pub catch_up: usize,
    /// Age after which forecast documents and failed jobs' checkpoints are deleted
    /// (`KRONOS_ARTIFACT_RETENTION_DAYS`, 90).
    pub retention: Duration,
}

/// The default cron table.
pub const DEFAULT_CRON: &str = "verify=0 5 * * * *;retrain=0 0 2 * * *;cleanup=0 30 3 * * *";

impl CronConfig {
    /// Reads the cron table from the environment (expressions are checked by the
    /// scheduler, which parses them).
    pub fn from_env() -> Result<Self> {
        let raw = std::env::var("KRONOS_CRON").unwrap_or_else(|_| DEFAULT_CRON.into());
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
            catch_up: parse("KRONOS_CRON_CATCHUP", 24)?,
            retention: Duration::from_secs(parse::<u64>("KRONOS_ARTIFACT_RETENTION_DAYS", 90)? * 86_400),
        })
    }
}

impl RefreshSchedule {
    /// Reads the refresh cron settings from the environment.
    pub fn from_env() -> Result<Self> {
        let raw = std::env::var("KRONOS_REFRESH_INTERVALS").unwrap_or_else(|_| "1h,1d".into());
        let intervals = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|e| Error::Config(format!("KRONOS_REFRESH_INTERVALS: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { intervals, settle: Duration::from_secs(parse("KRONOS_REFRESH_SETTLE_SECS", 30)?) })
    }
}

fn list(name: &str, default: &str) -> Vec<String> {
    var(name)
        .unwrap_or_else(|| default.to_owned())
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

impl ExchangeConfig {
    /// Reads the exchange settings from the environment.
    pub fn from_env() -> Result<Self> {
        let config = Self {
            binance_url: var("KRONOS_BINANCE_URL").unwrap_or_else(|| "https://api.binance.com".into()),
            okx_url: var("KRONOS_OKX_URL").unwrap_or_else(|| "https://www.okx.com".into()),
            coingecko_url: var("KRONOS_COINGECKO_URL").unwrap_or_else(|| "https://api.coingecko.com".into()),
            candle_sources: list("KRONOS_CANDLE_SOURCES", "binance,okx,coingecko"),
            ticker_sources: list("KRONOS_TICKER_SOURCES", "binance,okx,coingecko"),
            binance_weight_per_min: parse("KRONOS_BINANCE_WEIGHT_PER_MIN", 1200)?,
            okx_requests_per_2s: parse("KRONOS_OKX_REQUESTS_PER_2S", 10)?,
            coingecko_calls_per_min: parse("KRONOS_COINGECKO_CALLS_PER_MIN", 10)?,
            timeout: Duration::from_millis(parse("KRONOS_SOURCE_TIMEOUT_MS", 10_000)?),
            retries: parse("KRONOS_SOURCE_RETRIES", 3)?,
            backoff: Duration::from_millis(parse("KRONOS_SOURCE_BACKOFF_MS", 250)?),
            max_wait: Duration::from_secs(parse("KRONOS_SOURCE_MAX_WAIT_SECS", 10)?),
            ticker_cache: Duration::from_millis(parse("KRONOS_TICKER_CACHE_MS", 5000)?),
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

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match var(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| Error::Config(format!("{name}={raw:?} is not valid"))),
    }
}

fn parse_bool(name: &str, default: bool) -> Result<bool> {
    match var(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(Error::Config(format!("{name}={other:?} is not a boolean"))),
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self> {
        let storage = match var("KRONOS_STORAGE").as_deref().unwrap_or("local") {
            "local" => StorageConfig::Local {
                root: PathBuf::from(var("KRONOS_STORAGE_PATH").unwrap_or_else(|| "var/objects".into())),
            },
            "s3" => StorageConfig::S3(S3Config {
                bucket: var("KRONOS_S3_BUCKET")
                    .ok_or_else(|| Error::Config("KRONOS_S3_BUCKET is required with KRONOS_STORAGE=s3".into()))?,
                endpoint: var("KRONOS_S3_ENDPOINT"),
                region: var("KRONOS_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                access_key_id: var("KRONOS_S3_ACCESS_KEY_ID").unwrap_or_default(),
                secret_access_key: var("KRONOS_S3_SECRET_ACCESS_KEY").unwrap_or_default(),
                path_style: parse_bool("KRONOS_S3_PATH_STYLE", true)?,
            }),
            other => return Err(Error::Config(format!("KRONOS_STORAGE={other:?}: expected local or s3"))),
        };
        Ok(Self {
            database_url: var("DATABASE_URL").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/kronos".into()),
            db_pool_size: parse("KRONOS_DB_POOL_SIZE", 16)?,
            redis_url: var("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
            queue: QueueConfig {
                prefix: var("KRONOS_QUEUE_PREFIX").unwrap_or_else(|| "kronos".into()),
                backlog_max: parse("KRONOS_QUEUE_BACKLOG_MAX", 2000)?,
                poll_interval: Duration::from_millis(parse("KRONOS_POLL_INTERVAL_MS", 50)?),
                lease: Duration::from_secs(parse("KRONOS_LEASE_SECS", 15)?),
                redispatch_check: Duration::from_secs(parse("KRONOS_REDISPATCH_CHECK_SECS", 5)?),
                retry_base: Duration::from_millis(parse("KRONOS_RETRY_BASE_MS", 1000)?),
                retry_max: Duration::from_secs(parse("KRONOS_RETRY_MAX_SECS", 300)?),
            },
            storage,
            api: ApiConfig {
                addr: parse("KRONOS_API_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
                max_inline_candles: parse("KRONOS_MAX_INLINE_CANDLES", 4096)?,
                max_body_bytes: parse("KRONOS_MAX_BODY_BYTES", 4 * 1024 * 1024)?,
                run_dispatcher: parse_bool("KRONOS_API_DISPATCHER", true)?,
            },
            exchanges: ExchangeConfig::from_env()?,
            refresh: RefreshSchedule::from_env()?,
            cron: CronConfig::from_env()?,
            log_json: var("KRONOS_LOG_FORMAT").as_deref() == Some("json"),
        })
    }
}
