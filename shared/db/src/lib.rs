//! Kronos platform: PostgreSQL access: connection pool, migrations, and one module of
//! queries per table. The only crate that names tables.

pub mod alerts;
pub mod api_keys;
pub mod artifacts;
pub mod asset_groups;
pub mod assets;
pub mod audit;
pub mod batches;
pub mod batching;
pub mod billing;
pub mod callbacks;
pub mod candles;
pub mod candles_bulk;
pub mod catalogue;
pub mod error;
pub mod evaluation_results;
pub mod jobs;
pub mod leader;
pub mod link_tokens;
pub mod model_pools;
pub mod models;
pub mod notifications;
pub mod outbox;
pub mod prediction_results;
pub mod predictions;
pub mod quality;
pub mod quarantine;
pub mod schedule_runs;
pub mod schema;
pub mod sessions;
pub mod usage;
pub mod users;
pub mod words;

use diesel_async::{
    pooled_connection::{deadpool::Pool, AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod},
    AsyncMigrationHarness, AsyncPgConnection,
};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use error::{Error, Result};

/// The migrations under `migrations/`, compiled into every binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// A pool of async PostgreSQL connections.
pub type DbPool = Pool<AsyncPgConnection>;

/// A connection checked out of [`DbPool`].
pub type DbConn = diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>;

/// Builds a connection pool of at most `size` connections.
///
/// Connections are handed out again without a test query (diesel-async's default runs
/// `SELECT 1` on every checkout: a round trip per checkout). A connection that broke
/// fails its next query, is marked broken and is not recycled; open transactions are
/// still checked.
pub fn pool(database_url: &str, size: usize) -> Result<DbPool> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager).max_size(size).build().map_err(|e| Error::Pool(e.to_string()))
}

/// A pool whose sessions commit without waiting for the WAL flush
/// (`synchronous_commit = off`). Only for writes that the reconciler repairs if a crash
/// loses them: dispatch stamps and claims (a lost one means a re-delivery, which the
/// guarded claim turns into a no-op or a clean re-run). Job inserts and results
/// always use [`pool`].
pub fn relaxed_pool(database_url: &str, size: usize) -> Result<DbPool> {
    let separator = if database_url.contains('?') { '&' } else { '?' };
    pool(&format!("{database_url}{separator}options=-c%20synchronous_commit%3Doff"), size)
}

/// Applies every pending migration; returns the versions applied.
///
/// Servers never call this at start: `kronos migrate` (run by `ops/up`) does.
/// Needs the multi-threaded tokio runtime (the harness uses `block_in_place`).
pub async fn migrate(database_url: &str) -> Result<Vec<String>> {
    use diesel_async::AsyncConnection;
    let conn = AsyncPgConnection::establish(database_url).await.map_err(|e| Error::Pool(e.to_string()))?;
    let mut harness = AsyncMigrationHarness::new(conn);
    harness
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| Error::Pool(format!("migration failed: {e}")))
}
