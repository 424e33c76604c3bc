//! Test harness: every test gets its own PostgreSQL database (cloned from a migrated
//! template), its own Redis key prefix, and its own object-store root, so tests run
//! in parallel against the real services. Nothing here mocks PostgreSQL, Redis or the
//! object store.

// the fake Stripe writes its objects as whole JSON literals
#![recursion_limit = "256"]

pub mod accounts;
pub mod bench_batch;
pub mod bench_forecast;
pub mod bench_job_ends;
pub mod callback_receiver;
pub mod db;
pub mod demo;
pub mod fake_exchange;
pub mod fake_hub;
pub mod fake_stripe;
pub mod fixtures;
pub mod http;
pub mod openapi;
pub mod process;
pub mod redis_server;
pub mod sample;
pub mod smtp;
pub mod sse;

use std::path::PathBuf;

use kronos_config::{
    ApiConfig, AuthConfig, Config, CronConfig, EmailConfig, ExchangeConfig, QueueConfig, Rate, RefreshSchedule,
    S3Config, Secret, SmtpSecurity, StorageConfig,
};
use std::time::Duration;

/// Which object store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// A temporary directory.
    Local,
    /// The S3-compatible server started by `ops/test` (`KRONOS_S3_ENDPOINT`).
    S3,
}

/// An isolated environment: database, Redis prefix, object-store location.
pub struct TestEnv {
    /// The test's database (dropped at the end).
    pub db: db::TestDb,
    /// Configuration pointing at the isolated resources.
    pub config: Config,
    /// Local storage root or S3 prefix holder.
    pub scratch: PathBuf,
}

impl TestEnv {
    /// A fresh environment with local object storage.
    pub async fn new() -> Self {
        Self::with_store(StoreKind::Local).await
    }

    /// A fresh environment with the given object store.
    pub async fn with_store(store: StoreKind) -> Self {
        let db = db::TestDb::create().await;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let scratch = std::env::temp_dir().join(format!("kronos-test-{id}"));
        std::fs::create_dir_all(&scratch).expect("scratch dir");
        let storage = match store {
            StoreKind::Local => StorageConfig::Local { root: scratch.join("objects") },
            StoreKind::S3 => StorageConfig::S3(s3_config()),
        };
        let config = Config {
            database_url: db.url.clone(),
            db_pool_size: 8,
            redis_url: redis_url(),
            queue: QueueConfig {
                prefix: format!("kt:{id}"),
                backlog_max: 2000,
                chunk_backlog: 4,
                poll_interval: Duration::from_millis(20),
                lease: Duration::from_secs(5),
                redispatch_check: Duration::from_secs(2),
                retry_base: Duration::from_millis(100),
                retry_max: Duration::from_secs(2),
            },
            storage,
            api: ApiConfig {
                addr: "127.0.0.1:0".parse().expect("addr"),
                max_inline_candles: 1000,
                max_body_bytes: 2 * 1024 * 1024,
                run_dispatcher: true,
                header_read_timeout: Duration::from_secs(10),
                body_read_timeout: Duration::from_secs(30),
                max_connections: 1024,
                heavy_limit: 2,
                heavy_wait: Duration::from_secs(10),
                docs_assets: None,
                web_dir: None,
            },
            exchanges: offline_exchanges(),
            refresh: RefreshSchedule { intervals: Vec::new(), settle: Duration::from_secs(30) },
            cron: CronConfig {
                entries: Vec::new(),
                catch_up: 24,
                retention: Duration::from_secs(90 * 86_400),
                pool_horizon: 5,
            },
            auth: test_auth(&id),
            email: test_email(),
            billing: kronos_config::BillingConfig::default(),
            batches: kronos_config::BatchConfig {
                // local callback receivers are the tests' own
                callback_allow: vec!["127.0.0.0/8".parse().expect("cidr")],
                callback_retry_base: Duration::from_secs(1),
                ..kronos_config::BatchConfig::default()
            },
            log_json: false,
            model_cache: scratch.join("model-cache"),
            env_file: None,
        };
        Self { db, config, scratch }
    }

    /// Environment variables that make a platform process use this environment.
    pub fn process_env(&self) -> Vec<(String, String)> {
        let c = &self.config;
        let mut env = vec![
            ("DATABASE_URL".into(), c.database_url.clone()),
            ("REDIS_URL".into(), c.redis_url.clone()),
            ("KRONOS_QUEUE_PREFIX".into(), c.queue.prefix.clone()),
            ("KRONOS_POLL_INTERVAL_MS".into(), c.queue.poll_interval.as_millis().to_string()),
            ("KRONOS_LEASE_SECS".into(), c.queue.lease.as_secs().to_string()),
            ("KRONOS_REDISPATCH_CHECK_SECS".into(), c.queue.redispatch_check.as_secs().to_string()),
            ("KRONOS_RETRY_BASE_MS".into(), c.queue.retry_base.as_millis().to_string()),
            ("KRONOS_QUEUE_BACKLOG_MAX".into(), c.queue.backlog_max.to_string()),
            ("KRONOS_BATCH_CHUNK_BACKLOG".into(), c.queue.chunk_backlog.to_string()),
            ("KRONOS_MAX_INLINE_CANDLES".into(), c.api.max_inline_candles.to_string()),
            ("KRONOS_API_DISPATCHER".into(), c.api.run_dispatcher.to_string()),
            ("KRONOS_BINANCE_URL".into(), c.exchanges.binance_url.clone()),
            ("KRONOS_OKX_URL".into(), c.exchanges.okx_url.clone()),
            ("KRONOS_COINGECKO_URL".into(), c.exchanges.coingecko_url.clone()),
            ("KRONOS_SOURCE_TIMEOUT_MS".into(), c.exchanges.timeout.as_millis().to_string()),
            ("KRONOS_SOURCE_RETRIES".into(), c.exchanges.retries.to_string()),
            ("KRONOS_SOURCE_BACKOFF_MS".into(), c.exchanges.backoff.as_millis().to_string()),
            ("RUST_LOG".into(), std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into())),
            // a developer's ~/.cache/kronos/kronos.env must not leak into tests
            ("KRONOS_ENV_FILE".into(), "none".into()),
            ("KRONOS_MODEL_CACHE".into(), c.model_cache.display().to_string()),
            ("KRONOS_JWT_KEYS".into(), jwt_keys(&c.auth)),
            ("KRONOS_ARGON2_MEMORY_KIB".into(), c.auth.argon2_memory_kib.to_string()),
            ("KRONOS_ARGON2_ITERATIONS".into(), c.auth.argon2_iterations.to_string()),
            ("KRONOS_ARGON2_PARALLELISM".into(), c.auth.argon2_parallelism.to_string()),
            ("KRONOS_PUBLIC_URL".into(), c.auth.public_url.clone()),
            ("KRONOS_RATE_REGISTER".into(), rate(c.auth.rate_register)),
            ("KRONOS_RATE_LOGIN".into(), rate(c.auth.rate_login)),
            ("KRONOS_RATE_PASSWORD_RESET".into(), rate(c.auth.rate_password_reset)),
            ("KRONOS_SMTP_HOST".into(), c.email.host.clone()),
            ("KRONOS_SMTP_PORT".into(), c.email.port.to_string()),
            ("KRONOS_SMTP_SECURITY".into(), "none".into()),
            ("KRONOS_EMAIL_FROM".into(), c.email.from.clone()),
        ];
        let billing = &c.billing;
        if let Some(key) = &billing.secret_key {
            env.push(("KRONOS_STRIPE_SECRET_KEY".into(), key.expose().to_owned()));
        }
        env.push(("KRONOS_STRIPE_API_BASE".into(), billing.api_base.clone()));
        let secrets: Vec<&str> = billing.webhook_secrets.iter().map(|s| s.expose()).collect();
        env.push(("KRONOS_STRIPE_WEBHOOK_SECRETS".into(), secrets.join(",")));
        for (tier, price) in &billing.prices {
            env.push((format!("KRONOS_STRIPE_PRICE_{}", tier.as_str().to_ascii_uppercase()), price.clone()));
        }
        env.push(("KRONOS_BILLING_GRACE_SECS".into(), billing.grace.as_secs().to_string()));
        env.extend(c.batches.to_env());
        match &c.storage {
            StorageConfig::Local { root } => {
                env.push(("KRONOS_STORAGE".into(), "local".into()));
                env.push(("KRONOS_STORAGE_PATH".into(), root.display().to_string()));
            }
            StorageConfig::S3(s3) => {
                env.push(("KRONOS_STORAGE".into(), "s3".into()));
                env.push(("KRONOS_S3_BUCKET".into(), s3.bucket.clone()));
                env.push(("KRONOS_S3_ENDPOINT".into(), s3.endpoint.clone().unwrap_or_default()));
                env.push(("KRONOS_S3_ACCESS_KEY_ID".into(), s3.access_key_id.clone()));
                env.push(("KRONOS_S3_SECRET_ACCESS_KEY".into(), s3.secret_access_key.expose().to_owned()));
                env.push(("KRONOS_S3_REGION".into(), s3.region.clone()));
            }
        }
        env
    }
}

/// Accounts settings of a test: a signing key of its own, cheap password hashing
/// (the login benchmark measures the production parameters), rate limits no ordinary
/// test reaches (the rate-limit tests lower them).
fn test_auth(id: &str) -> AuthConfig {
    let generous = Rate { max: 10_000, window: Duration::from_secs(300) };
    AuthConfig {
        jwt_keys: vec![("test".into(), Secret::new(format!("test-signing-key-{id}")))],
        access_ttl: Duration::from_secs(900),
        refresh_ttl: Duration::from_secs(30 * 86_400),
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        argon2_parallelism: 1,
        cache_ttl: Duration::from_secs(5),
        public_url: "http://kronos.test".into(),
        secure_cookies: false,
        rate_register: generous,
        rate_login: generous,
        rate_password_reset: generous,
        verify_link: Duration::from_secs(24 * 3600),
        reset_link: Duration::from_secs(3600),
        metrics_token: None,
        trusted_proxy_hops: 0,
    }
}

/// The SMTP capture server `ops/test` starts (`KRONOS_TEST_SMTP_PORT`, default 2526).
fn test_email() -> EmailConfig {
    EmailConfig {
        host: "127.0.0.1".into(),
        port: std::env::var("KRONOS_TEST_SMTP_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(2526),
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from: "Kronos <no-reply@kronos.test>".into(),
        timeout: Duration::from_secs(5),
    }
}

fn jwt_keys(auth: &AuthConfig) -> String {
    auth.jwt_keys.iter().map(|(kid, secret)| format!("{kid}={}", secret.expose())).collect::<Vec<_>>().join(",")
}

fn rate(r: Rate) -> String {
    format!("{}/{}", r.max, r.window.as_secs())
}

/// Exchange settings whose URLs lead nowhere (port 9 on loopback refuses connections),
/// so that no test reaches the network; tests point them at a [`fake_exchange`].
pub fn offline_exchanges() -> ExchangeConfig {
    ExchangeConfig {
        binance_url: "http://127.0.0.1:9".into(),
        okx_url: "http://127.0.0.1:9".into(),
        coingecko_url: "http://127.0.0.1:9".into(),
        candle_sources: vec!["binance".into(), "okx".into(), "coingecko".into()],
        ticker_sources: vec!["binance".into(), "okx".into(), "coingecko".into()],
        binance_weight_per_min: 6000,
        okx_requests_per_2s: 20,
        coingecko_calls_per_min: 600,
        timeout: Duration::from_millis(2000),
        retries: 2,
        backoff: Duration::from_millis(20),
        max_wait: Duration::from_secs(3),
        ticker_cache: Duration::from_millis(5000),
    }
}

/// Redis URL for tests (`REDIS_URL`, default loopback).
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The S3 server `ops/test` started.
pub fn s3_config() -> S3Config {
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    S3Config {
        bucket: var("KRONOS_TEST_S3_BUCKET", "kronos-test"),
        endpoint: Some(var("KRONOS_S3_ENDPOINT", "http://127.0.0.1:9000")),
        region: "us-east-1".into(),
        access_key_id: var("KRONOS_S3_ACCESS_KEY_ID", "kronos"),
        secret_access_key: kronos_config::Secret::new(var("KRONOS_S3_SECRET_ACCESS_KEY", "kronos-secret-key")),
        path_style: true,
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}
