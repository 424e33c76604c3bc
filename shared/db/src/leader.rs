//! Leader election of the scheduler with a session-level PostgreSQL advisory lock: held as long as the
//! connection lives, released by PostgreSQL if the process dies.

use std::time::Duration;

use diesel::{sql_types::Bool, QueryableByName};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tracing::info;

use crate::error::{Error, Result};

/// The lock key ("kronos-scheduler").
const LOCK_KEY: i64 = 0x6b72_6f6e_6f73_0001;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Waits until this process holds the scheduler lock; keep the connection to keep it.
pub async fn acquire(database_url: &str) -> Result<AsyncPgConnection> {
    let mut conn = AsyncPgConnection::establish(database_url).await.map_err(|e| Error::Pool(e.to_string()))?;
    let mut announced = false;
    loop {
        let row: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
            .bind::<diesel::sql_types::BigInt, _>(LOCK_KEY)
            .get_result(&mut conn)
            .await?;
        if row.locked {
            return Ok(conn);
        }
        if !announced {
            info!("another scheduler is the leader; waiting");
            announced = true;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
