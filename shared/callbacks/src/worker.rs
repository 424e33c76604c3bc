//! The delivery loop each worker process runs: lease due callbacks, post them, record
//! each attempt and when to try again.

use std::time::Duration;

use chrono::Utc;
use kronos_config::BatchConfig;
use kronos_db::{
    callbacks::{self, Callback, Next},
    DbPool,
};
use rand::Rng;
use tracing::{debug, warn};

use crate::deliver;

/// Callbacks leased per round.
const ROUND: i64 = 16;
/// How often the loop looks for due callbacks.
const TICK: Duration = Duration::from_millis(500);
/// Longest delay between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(3600);

/// The delay before attempt `attempts + 1`: `base × 2^(attempts−1)`, at most an hour,
/// with up to 20 % of jitter so receivers that come back are not stormed at once.
pub fn retry_delay(attempts: i32, base: Duration) -> Duration {
    let exponent = attempts.saturating_sub(1).clamp(0, 20) as u32;
    let delay = base.saturating_mul(1u32 << exponent).min(MAX_DELAY);
    let jitter = rand::rng().random_range(0.0..0.2);
    delay.mul_f64(1.0 + jitter)
}

/// Runs forever: delivers due callbacks.
pub async fn run(pool: DbPool, config: BatchConfig) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match deliver_due(&pool, &config).await {
            Ok(0) => {}
            Ok(n) => debug!(callbacks = n, "callbacks attempted"),
            Err(e) => warn!(error = %e, "callback delivery round failed; will retry"),
        }
    }
}

/// One round: every due callback leased and attempted. Returns how many.
pub async fn deliver_due(pool: &DbPool, config: &BatchConfig) -> Result<usize, kronos_db::Error> {
    let lease = (config.callback_timeout.as_secs() as i32).saturating_mul(2).max(30);
    let due = {
        let mut conn = pool.get().await.map_err(kronos_db::Error::from)?;
        callbacks::lease_due(&mut conn, ROUND, lease).await?
    };
    let count = due.len();
    // deliveries are few: one after another keeps a round bounded by ROUND × timeout
    for callback in due {
        let id = callback.id;
        if let Err(e) = attempt(pool, config, callback).await {
            warn!(callback = %id, error = %e, "callback attempt not recorded; it is tried again when its lease ends");
        }
    }
    Ok(count)
}

async fn attempt(pool: &DbPool, config: &BatchConfig, callback: Callback) -> Result<(), kronos_db::Error> {
    let secret = {
        let mut conn = pool.get().await.map_err(kronos_db::Error::from)?;
        callbacks::signing_secret(&mut conn, callback.owner_id, callback.api_key_id).await?
    };
    let body = serde_json::to_vec(&callback.body)?;
    let event_id = callback.id.to_string();
    let delivery =
        deliver::post(&callback.url, &body, &secret, &event_id, &config.callback_allow, config.callback_timeout).await;
    let deadline =
        callback.created_at + chrono::Duration::from_std(config.callback_window).unwrap_or(chrono::Duration::days(1));
    let next = if delivery.delivered() {
        Next::Delivered
    } else {
        let at = Utc::now()
            + chrono::Duration::from_std(retry_delay(callback.attempts, config.callback_retry_base))
                .unwrap_or(chrono::Duration::hours(1));
        if delivery.retryable && at <= deadline {
            Next::RetryAt(at)
        } else {
            Next::GiveUp
        }
    };
    match &delivery.error {
        None => debug!(callback = %callback.id, url = %callback.url, "callback delivered"),
        Some(error) => {
            warn!(callback = %callback.id, attempt = callback.attempts, %error, next = ?next, "callback attempt failed")
        }
    }
    let mut conn = pool.get().await.map_err(kronos_db::Error::from)?;
    let millis = i32::try_from(delivery.elapsed.as_millis()).unwrap_or(i32::MAX);
    callbacks::record_attempt(
        &mut conn,
        &callback,
        delivery.status.map(i32::from),
        delivery.error.as_deref(),
        millis,
        next,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_an_hour_with_jitter() {
        let base = Duration::from_secs(10);
        let first = retry_delay(1, base);
        assert!(first >= base && first <= base.mul_f64(1.2));
        let third = retry_delay(3, base);
        assert!(third >= Duration::from_secs(40) && third <= Duration::from_secs(48));
        let late = retry_delay(30, base);
        assert!(late >= MAX_DELAY && late <= MAX_DELAY.mul_f64(1.2));
    }
}
