//! Bulk candle loading with PostgreSQL's binary `COPY`: straight into `candles` when
//! the time range is new, otherwise into a temporary table and one `INSERT … SELECT …
//! ON CONFLICT` upsert; one transaction either way. Many times faster than multi-row
//! INSERTs for file imports.
//!
//! Uses its own connection (`tokio-postgres`, which diesel-async runs on; diesel-async
//! has no COPY support).

use std::pin::pin;

use tokio_postgres::{binary_copy::BinaryCopyInWriter, types::Type, NoTls};

use kronos_types::{Candle, Interval};

use crate::error::{Error, Result};

fn db_error(e: tokio_postgres::Error) -> Error {
    let detail = e.as_db_error().map(|d| format!(": {} {}", d.message(), d.detail().unwrap_or_default()));
    Error::Data(format!("bulk candle load: {e}{}", detail.unwrap_or_default()))
}

/// Inserts or updates `rows` (same asset, interval and time replaces the row); returns
/// the number of rows written.
///
/// When no stored bar of the series falls inside the rows' time range (a first
/// import, or new history), the rows are copied straight into `candles`; otherwise
/// (or if a concurrent writer got there first) they go through a temporary table and
/// one upsert. Either way it is one transaction: all rows or none.
pub async fn upsert(
    database_url: &str,
    asset_id: i64,
    interval: Interval,
    rows: &[Candle],
    source: &str,
) -> Result<usize> {
    let (Some(first), Some(last)) = (rows.iter().map(|c| c.ts).min(), rows.iter().map(|c| c.ts).max()) else {
        return Ok(0);
    };
    let (mut client, connection) = tokio_postgres::connect(database_url, NoTls).await.map_err(db_error)?;
    let driver = tokio::spawn(connection);
    let tx = client.transaction().await.map_err(db_error)?;
    let overlap = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM candles WHERE asset_id = $1 AND interval = $2 AND ts BETWEEN $3 AND $4)",
            &[&asset_id, &interval.as_str(), &first, &last],
        )
        .await
        .map_err(db_error)?
        .get::<_, bool>(0);
    let written = if overlap {
        let written = copy_and_upsert(&tx, asset_id, interval, rows, source).await?;
        tx.commit().await.map_err(db_error)?;
        written
    } else {
        tx.batch_execute("SAVEPOINT direct").await.map_err(db_error)?;
        match copy_direct(&tx, asset_id, interval, rows, source).await {
            Ok(written) => {
                tx.commit().await.map_err(db_error)?;
                written
            }
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
                // another writer stored bars of this range meanwhile: upsert instead
                tx.batch_execute("ROLLBACK TO SAVEPOINT direct").await.map_err(db_error)?;
                let written = copy_and_upsert(&tx, asset_id, interval, rows, source).await?;
                tx.commit().await.map_err(db_error)?;
                written
            }
            Err(e) => return Err(db_error(e)),
        }
    };
    drop(client);
    let _ = driver.await;
    Ok(written)
}

/// Binary `COPY` of every row straight into `candles`.
async fn copy_direct(
    tx: &tokio_postgres::Transaction<'_>,
    asset_id: i64,
    interval: Interval,
    rows: &[Candle],
    source: &str,
) -> std::result::Result<usize, tokio_postgres::Error> {
    let sink = tx
        .copy_in(
            "COPY candles (asset_id, interval, ts, open, high, low, close, volume, amount, source) FROM STDIN BINARY",
        )
        .await?;
    let types = [
        Type::INT8,
        Type::TEXT,
        Type::TIMESTAMPTZ,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::FLOAT8,
        Type::TEXT,
    ];
    let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
    let interval = interval.as_str();
    for c in rows {
        writer
            .as_mut()
            .write(&[&asset_id, &interval, &c.ts, &c.open, &c.high, &c.low, &c.close, &c.volume, &c.amount, &source])
            .await?;
    }
    Ok(writer.finish().await? as usize)
}

/// Binary `COPY` into a temporary table, then one upsert into `candles`.
async fn copy_and_upsert(
    tx: &tokio_postgres::Transaction<'_>,
    asset_id: i64,
    interval: Interval,
    rows: &[Candle],
    source: &str,
) -> Result<usize> {
    tx.batch_execute(
        "CREATE TEMP TABLE IF NOT EXISTS candles_load (ts timestamptz NOT NULL, open float8, high float8, \
         low float8, close float8, volume float8, amount float8) ON COMMIT DROP",
    )
    .await
    .map_err(db_error)?;
    let sink = tx
        .copy_in("COPY candles_load (ts, open, high, low, close, volume, amount) FROM STDIN BINARY")
        .await
        .map_err(db_error)?;
    let types = [Type::TIMESTAMPTZ, Type::FLOAT8, Type::FLOAT8, Type::FLOAT8, Type::FLOAT8, Type::FLOAT8, Type::FLOAT8];
    let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
    for c in rows {
        writer
            .as_mut()
            .write(&[&c.ts, &c.open, &c.high, &c.low, &c.close, &c.volume, &c.amount])
            .await
            .map_err(db_error)?;
    }
    writer.finish().await.map_err(db_error)?;
    let written = tx
        .execute(
            "INSERT INTO candles (asset_id, interval, ts, open, high, low, close, volume, amount, source) \
             SELECT $1, $2, ts, open, high, low, close, volume, amount, $3 FROM candles_load \
             ON CONFLICT (asset_id, interval, ts) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, \
             low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume, amount = EXCLUDED.amount, \
             source = EXCLUDED.source",
            &[&asset_id, &interval.as_str(), &source],
        )
        .await
        .map_err(db_error)?;
    Ok(written as usize)
}
