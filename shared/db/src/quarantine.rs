//! Queries on `candle_quarantine`: refused candle rows and why.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::candle_quarantine;
use kronos_types::{Interval, RejectedRow};

use crate::error::Result;

/// Rows per INSERT (a row binds 7 parameters).
const CHUNK: usize = 5000;

#[derive(Insertable)]
#[diesel(table_name = candle_quarantine)]
struct NewQuarantined<'a> {
    symbol: Option<&'a str>,
    interval: &'a str,
    ts: Option<chrono::DateTime<chrono::Utc>>,
    source: &'a str,
    row_number: Option<i32>,
    reason: &'a str,
    raw: &'a serde_json::Value,
}

/// Stores refused rows.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    rows: &[RejectedRow],
    interval: Interval,
    source: &str,
) -> Result<usize> {
    let mut written = 0;
    for chunk in rows.chunks(CHUNK) {
        let values: Vec<NewQuarantined<'_>> = chunk
            .iter()
            .map(|r| NewQuarantined {
                symbol: r.symbol.as_deref(),
                interval: interval.as_str(),
                ts: r.ts,
                source,
                row_number: i32::try_from(r.row).ok(),
                reason: &r.reason,
                raw: &r.raw,
            })
            .collect();
        written += diesel::insert_into(candle_quarantine::table).values(&values).execute(conn).await?;
    }
    Ok(written)
}

/// Quarantined rows of a series by reason (the reason's text up to its first digit or
/// parenthesis, so that e.g. all duplicate timestamps count together).
pub async fn counts_by_reason(
    conn: &mut AsyncPgConnection,
    symbol: &str,
    interval: Interval,
) -> Result<Vec<(String, i64)>> {
    let reasons: Vec<String> = candle_quarantine::table
        .filter(candle_quarantine::symbol.eq(symbol))
        .filter(candle_quarantine::interval.eq(interval.as_str()))
        .select(candle_quarantine::reason)
        .load(conn)
        .await?;
    let mut counts: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for reason in reasons {
        let cut = reason.find(|c: char| c.is_ascii_digit() || c == '(').unwrap_or(reason.len());
        *counts.entry(reason[..cut].trim().to_owned()).or_default() += 1;
    }
    Ok(counts.into_iter().collect())
}
