//! Counters in Redis: fixed-window rate limits (registrations and logins per client
//! address and per account). A window's key expires with the window.

use chrono::{DateTime, Utc};
use kronos_config::Rate;
use redis::aio::ConnectionManager;

use crate::error::ApiError;

/// The Redis counters of one deployment.
#[derive(Clone)]
pub struct Counters {
    conn: ConnectionManager,
    prefix: String,
}

/// A count that passed its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    /// The count, this hit included.
    pub count: u64,
    /// Seconds until the window ends.
    pub retry_after: u64,
}

impl Counters {
    /// Counters under `prefix` (the queue prefix: one namespace per deployment or test).
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self { conn, prefix: prefix.to_owned() }
    }

    /// Counts one hit of `what` (`login:ip:…`) in the current window of `rate`;
    /// `Err(Exceeded)` when it is over the limit.
    pub async fn hit(&self, what: &str, rate: Rate) -> Result<Result<u64, Exceeded>, ApiError> {
        let key = format!("{}:limit:{what}", self.prefix);
        self.count(&key, rate.max, rate.window.as_secs().max(1)).await
    }

    async fn count(&self, key: &str, max: u64, window_secs: u64) -> Result<Result<u64, Exceeded>, ApiError> {
        let mut conn = self.conn.clone();
        let (count, ttl): (u64, i64) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(key)
            .arg(0)
            .arg("EX")
            .arg(window_secs)
            .arg("NX")
            .ignore()
            .cmd("INCR")
            .arg(key)
            .cmd("TTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        if count > max {
            Ok(Err(Exceeded { count, retry_after: u64::try_from(ttl).unwrap_or(1).max(1) }))
        } else {
            Ok(Ok(count))
        }
    }
}

/// Seconds from `now` to the next UTC midnight (at least 1).
pub fn seconds_to_midnight(now: DateTime<Utc>) -> u64 {
    let next = next_midnight(now);
    u64::try_from((next - now).num_seconds()).unwrap_or(1).max(1)
}

/// The next UTC midnight after `now` (when daily quotas reset).
pub fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.date_naive().succ_opt().unwrap_or(now.date_naive());
    tomorrow.and_hms_opt(0, 0, 0).map_or(now, |t| t.and_utc())
}

fn redis_error(e: redis::RedisError) -> ApiError {
    tracing::error!(error = %e, "redis unavailable for rate limits");
    ApiError::unavailable("rate limiter unavailable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_is_next() {
        let t = DateTime::parse_from_rfc3339("2026-11-29T23:59:30Z").unwrap().with_timezone(&Utc);
        assert_eq!(seconds_to_midnight(t), 30);
        assert_eq!(next_midnight(t).to_rfc3339(), "2026-11-30T00:00:00+00:00");
    }
}
