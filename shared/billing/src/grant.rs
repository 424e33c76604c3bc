//! What a subscription grants, applied to the account in the caller's transaction: the
//! subscription row as read, the user's tier when it changes (audited), and the emails
//! a change calls for (started, changed, ending, ended). Webhooks apply what Stripe says
//! now; the scheduler's review applies what the passing of time says (a grace period
//! or a paid period over).

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;
use kronos_db::{
    audit::{self, NewAuditEntry},
    billing::{self as rows, Subscription, SubscriptionWrite},
    users::{self, AccessChange, User},
};
use kronos_email::{billing as mail, Rendered};
use kronos_types::{
    accounts::{AuditAction, EmailKind, Tier},
    billing::{Entitlement, SubscriptionFacts, SubscriptionStatus},
};

use crate::{client::StripeSubscription, error::Result};

pub use kronos_notify::Links;

/// What applying a subscription changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The stored row.
    pub subscription: Subscription,
    /// The tier before and after.
    pub tier: (Tier, Tier),
    /// What it grants now.
    pub entitlement: Entitlement,
}

/// Records `sub` (as Stripe has it now) for `user` and applies what it grants at `now`.
pub async fn apply_stripe(
    conn: &mut AsyncPgConnection,
    user: &User,
    sub: &StripeSubscription,
    paid_tier: Option<Tier>,
    grace: Duration,
    links: Links<'_>,
    now: DateTime<Utc>,
) -> Result<Applied> {
    let previous = rows::subscription_of(conn, user.id).await?;
    let same = previous.as_ref().filter(|p| p.stripe_subscription_id == sub.id);
    let past_due_since =
        (sub.status == SubscriptionStatus::PastDue).then(|| same.and_then(|p| p.past_due_since).unwrap_or(now));
    let facts =
        SubscriptionFacts { status: sub.status, paid_tier, current_period_end: sub.current_period_end, past_due_since };
    let entitlement = facts.entitlement(now, grace);
    let stored = rows::store_subscription(
        conn,
        &SubscriptionWrite {
            user_id: user.id,
            stripe_subscription_id: &sub.id,
            status: sub.status,
            price_id: sub.price_id.as_deref(),
            paid_tier,
            current_period_end: sub.current_period_end,
            cancel_at_period_end: sub.cancel_at_period_end,
            past_due_since,
            review_at: entitlement.until,
        },
    )
    .await?;
    let tier = transition(conn, user, &stored, entitlement.tier, "stripe", links).await?;
    // a subscription that will end (cancelled at the period's end, or canceled/unpaid
    // and running out the paid period) is announced once, when it starts ending
    let ending = entitlement.tier != Tier::Free
        && match sub.status {
            SubscriptionStatus::Canceled | SubscriptionStatus::Unpaid => true,
            SubscriptionStatus::Active | SubscriptionStatus::Trialing => sub.cancel_at_period_end,
            _ => false,
        };
    let was_ending = same.is_some_and(|p| {
        p.cancel_at_period_end || matches!(p.status, SubscriptionStatus::Canceled | SubscriptionStatus::Unpaid)
    });
    if let (true, false, Some(at)) = (ending, was_ending, sub.current_period_end) {
        let tier = entitlement.tier.as_str();
        notify(conn, user, links, |to| mail::ending(to, tier, &day(at))).await?;
    }
    Ok(Applied { subscription: stored, tier, entitlement })
}

/// Re-applies a stored subscription at `now` (its grace or paid period may be over).
pub async fn review(
    conn: &mut AsyncPgConnection,
    subscription: &Subscription,
    grace: Duration,
    links: Links<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Applied>> {
    let Some(user) = users::find(conn, subscription.user_id).await? else { return Ok(None) };
    let facts = SubscriptionFacts {
        status: subscription.status,
        paid_tier: subscription.paid_tier,
        current_period_end: subscription.current_period_end,
        past_due_since: subscription.past_due_since,
    };
    let entitlement = facts.entitlement(now, grace);
    let stored = rows::set_review(conn, subscription.user_id, entitlement.until).await?;
    let tier = transition(conn, &user, &stored, entitlement.tier, "grace or paid period over", links).await?;
    Ok(Some(Applied { subscription: stored, tier, entitlement }))
}

/// Reviews every subscription whose grace or paid period is over by `now`, each in its
/// own transaction under its subscription's lock (a webhook may be applying it at the
/// same moment). Returns how many tiers changed.
pub async fn review_due(
    conn: &mut AsyncPgConnection,
    grace: Duration,
    links: Links<'_>,
    now: DateTime<Utc>,
) -> Result<usize> {
    use diesel_async::AsyncConnection as _;
    let mut changed = 0;
    for due in rows::due_for_review(conn, now, 500).await? {
        let applied = conn
            .transaction::<_, crate::Error, _>(async |conn| {
                rows::lock_subscription(conn, &due.stripe_subscription_id).await?;
                // re-read under the lock: a webhook may have changed it meanwhile
                match rows::subscription_of(conn, due.user_id).await? {
                    Some(current) if current.review_at.is_some_and(|at| at <= now) => {
                        review(conn, &current, grace, links, now).await
                    }
                    _ => Ok(None),
                }
            })
            .await?;
        if applied.is_some_and(|a| a.tier.0 != a.tier.1) {
            changed += 1;
        }
    }
    Ok(changed)
}

/// Sets the user's tier to `tier` when it differs: audited, and announced by email.
async fn transition(
    conn: &mut AsyncPgConnection,
    user: &User,
    subscription: &Subscription,
    tier: Tier,
    cause: &str,
    links: Links<'_>,
) -> Result<(Tier, Tier)> {
    let before = user.tier;
    if before == tier {
        return Ok((before, tier));
    }
    users::set_access(conn, user.id, AccessChange { tier: Some(tier), ..AccessChange::default() }).await?;
    let details = serde_json::json!({
        "by": "billing", "cause": cause, "from": before, "to": tier,
        "subscription": subscription.stripe_subscription_id, "status": subscription.status,
    });
    audit::record(
        conn,
        &NewAuditEntry {
            actor_id: None,
            user_id: Some(user.id),
            action: AuditAction::TierChanged,
            ip: None,
            user_agent: None,
            details,
        },
    )
    .await?;
    notify(conn, user, links, |to| match (before, tier) {
        (Tier::Free, paid) => mail::started(to, paid.as_str()),
        (paid, Tier::Free) => mail::ended(to, paid.as_str()),
        (from, paid) => mail::changed(to, from.as_str(), paid.as_str()),
    })
    .await?;
    Ok((before, tier))
}

/// Emails that a renewal payment of `subscription` failed.
pub async fn payment_failed(
    conn: &mut AsyncPgConnection,
    user: &User,
    applied: &Applied,
    links: Links<'_>,
) -> Result<()> {
    let until = applied.entitlement.until.map_or_else(|| "the payment succeeds".to_owned(), day_and_time);
    let tier = applied.subscription.paid_tier.unwrap_or(applied.entitlement.tier);
    notify(conn, user, links, |to| mail::payment_failed(to, tier.as_str(), &until)).await
}

/// Queues a billing email (unless the user turned them off), its button on the account page.
async fn notify(
    conn: &mut AsyncPgConnection,
    user: &User,
    links: Links<'_>,
    render: impl FnOnce(kronos_email::Recipient<'_>) -> Rendered,
) -> Result<()> {
    let account = links.page("/account#billing");
    kronos_notify::send(conn, user, EmailKind::Billing, links, &account, render).await.map_err(|e| match e {
        kronos_notify::Error::Db(e) => crate::Error::Db(e),
        other => crate::Error::Unavailable(other.to_string()),
    })?;
    Ok(())
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

fn day_and_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}
