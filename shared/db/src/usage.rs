//! `usage_daily`: jobs submitted per user, metric and UTC day. A charge takes the
//! row's lock, so concurrent submissions of one user are counted one after another
//! and a limit is never overshot; it runs in the transaction that inserts the job
//! ([`crate::jobs::insert_charged`]).

use chrono::{NaiveDate, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Date, Nullable, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use kronos_types::accounts::Metric;

use crate::{error::Result, schema::usage_daily, words::Word};

/// Today, in UTC.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Adds `n` to user `user_id`'s `metric` today unless that would pass `limit`
/// (`None`: no limit). The new count, or `None` when the limit refused it (nothing
/// counted).
pub async fn charge(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    metric: Metric,
    n: i64,
    limit: Option<i64>,
) -> Result<Option<i64>> {
    if limit.is_some_and(|l| n > l) {
        return Ok(None);
    }
    let row: Option<Count> = diesel::sql_query(
        "INSERT INTO usage_daily (user_id, day, metric, count) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, day, metric) DO UPDATE SET count = usage_daily.count + EXCLUDED.count
         WHERE $5::bigint IS NULL OR usage_daily.count + EXCLUDED.count <= $5::bigint
         RETURNING count",
    )
    .bind::<BigInt, _>(user_id)
    .bind::<Date, _>(today())
    .bind::<Text, _>(metric.as_str())
    .bind::<BigInt, _>(n)
    .bind::<Nullable<BigInt>, _>(limit)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| r.count))
}

/// Gives back `n` of user `user_id`'s `metric` today (a charge whose job was not
/// written after all).
pub async fn refund(conn: &mut AsyncPgConnection, user_id: i64, metric: Metric, n: i64) -> Result<()> {
    diesel::update(
        usage_daily::table
            .filter(usage_daily::user_id.eq(user_id))
            .filter(usage_daily::day.eq(today()))
            .filter(usage_daily::metric.eq(metric.as_str())),
    )
    .filter(usage_daily::count.ge(n))
    .set(usage_daily::count.eq(usage_daily::count - n))
    .execute(conn)
    .await?;
    Ok(())
}

/// User `user_id`'s counts today.
pub async fn today_counts(conn: &mut AsyncPgConnection, user_id: i64) -> Result<Vec<(Metric, i64)>> {
    let rows: Vec<(Word<Metric>, i64)> = usage_daily::table
        .filter(usage_daily::user_id.eq(user_id))
        .filter(usage_daily::day.eq(today()))
        .select((usage_daily::metric, usage_daily::count))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|(m, c)| (m.0, c)).collect())
}
