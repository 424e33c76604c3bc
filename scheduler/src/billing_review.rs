//! The billing review: every minute, subscriptions whose grace period (a failed
//! renewal) or paid period (a cancelled plan) is over have their tier re-applied —
//! free, with the email that says so. Webhooks apply what Stripe says; this applies what
//! the passing of time says, so a user is downgraded on time even when no event comes.

use std::time::Duration;

use chrono::Utc;
use kronos_billing::grant::{self, Links};
use kronos_config::Config;
use kronos_db::DbPool;
use tracing::{info, warn};

/// Reviews due subscriptions every `every`, forever (nothing when billing is off).
pub async fn run(config: &Config, pool: DbPool, every: Duration) {
    let Some(links) = Links::from_auth(&config.auth).filter(|_| config.billing.enabled()) else {
        return std::future::pending().await;
    };
    let grace = chrono::Duration::from_std(config.billing.grace).unwrap_or_else(|_| chrono::Duration::days(7));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Some(mut conn) = crate::checkout(&pool).await else { continue };
        match grant::review_due(&mut conn, grace, links, Utc::now()).await {
            Ok(0) => {}
            Ok(changed) => info!(changed, "billing review: tiers changed"),
            Err(e) => warn!(error = %e, "billing review failed; retried next tick"),
        }
    }
}
