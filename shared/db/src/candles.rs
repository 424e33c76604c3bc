//! Queries on `candles`.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, upsert::excluded};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::candles;
use kronos_types::{Candle, Interval};

use crate::error::Result;

/// A candle as selected: time, open, high, low, close, volume, amount.
type CandleRow = (DateTime<Utc>, f64, f64, f64, f64, f64, f64);

/// The columns of a [`CandleRow`].
const CANDLE_COLUMNS: (
    candles::ts,
    candles::open,
    candles::high,
    candles::low,
    candles::close,
    candles::volume,
    candles::amount,
) = (candles::ts, candles::open, candles::high, candles::low, candles::close, candles::volume, candles::amount);

fn into_candles(rows: Vec<CandleRow>) -> Vec<Candle> {
    rows.into_iter()
        .map(|(ts, open, high, low, close, volume, amount)| Candle { ts, open, high, low, close, volume, amount })
        .collect()
}

/// Rows per INSERT statement (PostgreSQL allows 65,535 bind parameters; a row binds 10).
const CHUNK: usize = 5000;

#[derive(Insertable)]
#[diesel(table_name = candles)]
struct NewCandle<'a> {
    asset_id: i64,
    interval: &'a str,
    ts: DateTime<Utc>,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
    amount: f64,
    source: &'a str,
}

/// Inserts or updates candles (same asset, interval and time replaces the row).
/// Returns the number of rows written.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    asset_id: i64,
    interval: Interval,
    rows: &[Candle],
    source: &str,
) -> Result<usize> {
    let mut written = 0;
    for chunk in rows.chunks(CHUNK) {
        let values: Vec<NewCandle<'_>> = chunk
            .iter()
            .map(|c| NewCandle {
                asset_id,
                interval: interval.as_str(),
                ts: c.ts,
                open: c.open,
                high: c.high,
                low: c.low,
                close: c.close,
                volume: c.volume,
                amount: c.amount,
                source,
            })
            .collect();
        written += diesel::insert_into(candles::table)
            .values(&values)
            .on_conflict((candles::asset_id, candles::interval, candles::ts))
            .do_update()
            .set((
                candles::open.eq(excluded(candles::open)),
                candles::high.eq(excluded(candles::high)),
                candles::low.eq(excluded(candles::low)),
                candles::close.eq(excluded(candles::close)),
                candles::volume.eq(excluded(candles::volume)),
                candles::amount.eq(excluded(candles::amount)),
                candles::source.eq(excluded(candles::source)),
            ))
            .execute(conn)
            .await?;
    }
    Ok(written)
}

/// The latest `limit` candles of an asset and interval, oldest first.
pub async fn latest(
    conn: &mut AsyncPgConnection,
    asset_id: i64,
    interval: Interval,
    limit: i64,
) -> Result<Vec<Candle>> {
    range(conn, asset_id, interval, None, None, limit).await
}

/// 0001-01-01 and 9999-12-31 (inside PostgreSQL's timestamp range), as Unix seconds.
const FAR_PAST: i64 = -62_135_596_800;
const FAR_FUTURE: i64 = 253_402_214_400;

/// The latest `limit` candles with `from <= ts <= to` (either bound optional), oldest
/// first.
pub async fn range(
    conn: &mut AsyncPgConnection,
    asset_id: i64,
    interval: Interval,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<Candle>> {
    let mut rows = newest_first(conn, asset_id, interval, from, to, limit).await?;
    rows.reverse();
    Ok(rows)
}

/// The latest `limit` candles with `from <= ts <= to` (either bound optional), newest
/// first, as the index returns them.
pub async fn newest_first(
    conn: &mut AsyncPgConnection,
    asset_id: i64,
    interval: Interval,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<Candle>> {
    // Both bounds always bound (open ends as far-off dates): one statement shape, which
    // diesel keeps prepared per connection, so the chart endpoint is not re-planned.
    let from = from.unwrap_or_else(|| DateTime::from_timestamp(FAR_PAST, 0).unwrap_or_default());
    let to = to.unwrap_or_else(|| DateTime::from_timestamp(FAR_FUTURE, 0).unwrap_or_default());
    let rows: Vec<CandleRow> = candles::table
        .filter(candles::asset_id.eq(asset_id))
        .filter(candles::interval.eq(interval.as_str()))
        .filter(candles::ts.ge(from))
        .filter(candles::ts.le(to))
        .order(candles::ts.desc())
        .limit(limit)
        .select(CANDLE_COLUMNS)
        .load(conn)
        .await?;
    Ok(into_candles(rows))
}

/// The first `limit` candles strictly after `ts`, oldest first (what happened after a
/// forecast was made).
pub async fn first_after(
    conn: &mut AsyncPgConnection,
    asset_id: i64,
    interval: Interval,
    ts: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Candle>> {
    let rows: Vec<CandleRow> = candles::table
        .filter(candles::asset_id.eq(asset_id))
        .filter(candles::interval.eq(interval.as_str()))
        .filter(candles::ts.gt(ts))
        .order(candles::ts.asc())
        .limit(limit)
        .select(CANDLE_COLUMNS)
        .load(conn)
        .await?;
    Ok(into_candles(rows))
}

/// Number of candles stored for an asset and interval.
pub async fn count(conn: &mut AsyncPgConnection, asset_id: i64, interval: Interval) -> Result<i64> {
    Ok(candles::table
        .filter(candles::asset_id.eq(asset_id))
        .filter(candles::interval.eq(interval.as_str()))
        .count()
        .get_result(conn)
        .await?)
}

/// Number of stored candles, counting no further than `cap` (cheap existence checks).
pub async fn count_up_to(conn: &mut AsyncPgConnection, asset_id: i64, interval: Interval, cap: i64) -> Result<i64> {
    count_until(conn, asset_id, interval, None, cap).await
}

/// Number of stored candles starting at or before `until` (all when `None`), counting
/// no further than `cap`.
pub async fn count_until(
    conn: &mut AsyncPgConnection,
    asset_id: i64,
    interval: Interval,
    until: Option<DateTime<Utc>>,
    cap: i64,
) -> Result<i64> {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let row: N = diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT 1 FROM candles WHERE asset_id = $1 AND interval = $2
                                     AND ($4::timestamptz IS NULL OR ts <= $4) LIMIT $3) t",
    )
    .bind::<diesel::sql_types::BigInt, _>(asset_id)
    .bind::<diesel::sql_types::Text, _>(interval.as_str())
    .bind::<diesel::sql_types::BigInt, _>(cap)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, _>(until)
    .get_result(conn)
    .await?;
    Ok(row.n)
}
