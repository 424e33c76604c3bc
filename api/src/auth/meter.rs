//! The daily count of API calls (requests made with an API key) against the caller's
//! tier, kept in this process and added to Redis in batches.
//!
//! A Redis round trip on every keyed request cost a fifth of the API's throughput, so
//! calls are counted here and a background task adds them to the shared day counter
//! (`{prefix}:usage:{user}:{yyyymmdd}:api_calls`) every [`FLUSH_EVERY`], reading back
//! the total of all API processes for every user this process served in the last
//! [`FRESH_FOR`]. The first call of a user in a day reads the shared count. One process
//! alone enforces the limit exactly; with several, a count reaches the others within
//! two flushes, so together they may admit over the limit the calls made within about
//! 200 ms of each other. Reading the count (`GET /v1/me/usage`) flushes
//! first. Calls over the limit are answered `429` and not counted. While Redis is
//! unreachable calls are still counted here and added once it answers; a process that
//! cannot read a user's shared count for the first time answers `503`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::{Duration, Instant},
};

use chrono::{NaiveDate, Utc};
use redis::aio::ConnectionManager;

use super::limits::{seconds_to_midnight, Exceeded};
use crate::error::ApiError;

/// How often the calls counted here are added to Redis.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Users served within this long have their shared count read back at every flush.
pub const FRESH_FOR: Duration = Duration::from_secs(60);

/// The day counters outlive their day by this long, so that usage can be read to its end.
const KEEP_AFTER_DAY_SECS: u64 = 3600;

/// Counts API calls per user and day; cheap to clone.
#[derive(Clone)]
pub struct ApiCallMeter {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    prefix: String,
    tallies: Mutex<HashMap<(i64, NaiveDate), Tally>>,
    /// One flush at a time, so a total read back is never older than one applied.
    flushing: tokio::sync::Mutex<()>,
}

/// One user's calls in one day as this process knows them.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    /// The shared count at the last read or flush (`None`: not read yet).
    shared: Option<u64>,
    /// Calls counted here and not yet sent.
    pending: u64,
    /// Calls being sent by the running flush.
    sending: u64,
    /// The last call counted (or refused).
    last_call: Option<Instant>,
}

impl Tally {
    /// The best count known: the shared one plus what has not reached it.
    fn total(&self) -> Option<u64> {
        self.shared.map(|s| s + self.pending + self.sending)
    }

    /// Counts one call when it fits under `max`.
    fn admit(&mut self, max: u64) -> Option<Result<u64, u64>> {
        let total = self.total()?;
        self.last_call = Some(Instant::now());
        if total >= max {
            return Some(Err(total));
        }
        self.pending += 1;
        Some(Ok(total + 1))
    }
}

impl ApiCallMeter {
    /// A meter under `prefix` (the queue prefix: one namespace per deployment or test),
    /// with its flushing task (which ends when the last clone is dropped).
    pub fn start(conn: ConnectionManager, prefix: &str) -> Self {
        let meter = Self {
            inner: Arc::new(Inner {
                conn,
                prefix: prefix.to_owned(),
                tallies: Mutex::default(),
                flushing: tokio::sync::Mutex::new(()),
            }),
        };
        tokio::spawn(flush_periodically(Arc::downgrade(&meter.inner)));
        meter
    }

    /// Counts one API call of user `user_id` today (UTC) against `limit` (`None`:
    /// unlimited): the count with this call, or `Err(Exceeded)` (the call not counted).
    pub async fn call(&self, user_id: i64, limit: Option<i64>) -> Result<Result<u64, Exceeded>, ApiError> {
        let now = Utc::now();
        let at = (user_id, now.date_naive());
        let max = limit.map_or(u64::MAX, |l| u64::try_from(l).unwrap_or(0));
        let exceeded = |count| Exceeded { count, retry_after: seconds_to_midnight(now) };
        if let Some(admitted) = self.inner.lock().get_mut(&at).and_then(|t| t.admit(max)) {
            return Ok(admitted.map_err(exceeded));
        }
        // this user's first call today in this process: start from the shared count
        let shared = self.inner.read_shared(at).await?;
        let mut tallies = self.inner.lock();
        let tally = tallies.entry(at).or_default();
        tally.shared = Some(tally.shared.unwrap_or(0).max(shared));
        Ok(tally.admit(max).unwrap_or(Err(max)).map_err(exceeded))
    }

    /// User `user_id`'s API calls today, by every API process (this one's sent first).
    pub async fn today(&self, user_id: i64) -> Result<u64, ApiError> {
        self.flush().await?;
        self.inner.read_shared((user_id, Utc::now().date_naive())).await
    }

    /// Adds the calls counted here to the shared counters now.
    pub async fn flush(&self) -> Result<(), ApiError> {
        self.inner.flush().await.map_err(redis_error)
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(i64, NaiveDate), Tally>> {
        // a panic while holding the lock leaves plain counts behind: keep using them
        self.tallies.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn key(&self, (user_id, day): (i64, NaiveDate)) -> String {
        format!("{}:usage:{user_id}:{}:api_calls", self.prefix, day.format("%Y%m%d"))
    }

    async fn read_shared(&self, at: (i64, NaiveDate)) -> Result<u64, ApiError> {
        let mut conn = self.conn.clone();
        let count: Option<u64> =
            redis::cmd("GET").arg(self.key(at)).query_async(&mut conn).await.map_err(redis_error)?;
        Ok(count.unwrap_or(0))
    }

    async fn flush(&self) -> Result<(), redis::RedisError> {
        let _one_at_a_time = self.flushing.lock().await;
        let today = Utc::now().date_naive();
        let batch: Vec<((i64, NaiveDate), u64)> = {
            let mut tallies = self.lock();
            // days gone by with nothing left to send are forgotten
            tallies.retain(|(_, day), t| *day >= today || t.pending > 0);
            // what was counted here, and the view of every user served lately (INCRBY 0)
            let fresh = |t: &Tally| t.last_call.is_some_and(|at| at.elapsed() < FRESH_FOR);
            tallies
                .iter_mut()
                .filter(|(_, t)| t.pending > 0 || fresh(t))
                .map(|(at, t)| {
                    t.sending = std::mem::take(&mut t.pending);
                    (*at, t.sending)
                })
                .collect()
        };
        if batch.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        let keep_today = seconds_to_midnight(Utc::now()) + KEEP_AFTER_DAY_SECS;
        for &(at, calls) in &batch {
            let keep = if at.1 < today { KEEP_AFTER_DAY_SECS } else { keep_today };
            let key = self.key(at);
            pipe.cmd("SET").arg(&key).arg(0).arg("EX").arg(keep).arg("NX").ignore();
            pipe.cmd("INCRBY").arg(&key).arg(calls);
        }
        let sent: Result<Vec<u64>, _> = pipe.query_async(&mut self.conn.clone()).await;
        let mut tallies = self.lock();
        match sent {
            Ok(totals) => {
                for ((at, _), total) in batch.iter().zip(totals) {
                    if let Some(t) = tallies.get_mut(at) {
                        t.sending = 0;
                        t.shared = Some(total);
                    }
                }
                Ok(())
            }
            Err(e) => {
                // kept, and sent with the next flush
                for (at, _) in &batch {
                    if let Some(t) = tallies.get_mut(at) {
                        t.pending += std::mem::take(&mut t.sending);
                    }
                }
                Err(e)
            }
        }
    }
}

async fn flush_periodically(meter: Weak<Inner>) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(meter) = meter.upgrade() else { return };
        if let Err(e) = meter.flush().await {
            tracing::warn!(error = %e, "API calls not yet added to Redis; retrying");
        }
    }
}

fn redis_error(e: redis::RedisError) -> ApiError {
    tracing::error!(error = %e, "redis unavailable for API-call counts");
    ApiError::unavailable("usage counter unavailable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_admits_up_to_its_limit_counting_what_is_unsent() {
        let mut t = Tally::default();
        assert_eq!(t.admit(3), None, "unknown until the shared count is read");
        t.shared = Some(1);
        t.sending = 1;
        assert_eq!(t.admit(3), Some(Ok(3)));
        assert_eq!(t.admit(3), Some(Err(3)), "over: not counted");
        assert_eq!(t.pending, 1);
    }
}
