//! Billing: each paying user's Stripe customer, what was last read of their
//! subscription (`subscriptions`), and the webhook events received (`stripe_events`),
//! each processed at most once.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, sql_types::Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use kronos_types::{accounts::Tier, billing::SubscriptionStatus};

use crate::{
    error::Result,
    schema::{stripe_events, subscriptions, users},
    users::User,
    words::{MaybeWord, Word},
};

/// The Stripe customer of user `user_id`, if one was made.
pub async fn customer_of(conn: &mut AsyncPgConnection, user_id: i64) -> Result<Option<String>> {
    Ok(users::table
        .find(user_id)
        .select(users::stripe_customer_id)
        .first::<Option<String>>(conn)
        .await
        .optional()?
        .flatten())
}

/// Remembers `customer` as user `user_id`'s Stripe customer unless one is already
/// remembered; returns the one that is (so two racing checkouts agree on one).
pub async fn remember_customer(conn: &mut AsyncPgConnection, user_id: i64, customer: &str) -> Result<String> {
    diesel::update(users::table.find(user_id).filter(users::stripe_customer_id.is_null()))
        .set(users::stripe_customer_id.eq(customer))
        .execute(conn)
        .await?;
    Ok(customer_of(conn, user_id).await?.unwrap_or_else(|| customer.to_owned()))
}

/// The user whose Stripe customer is `customer`.
pub async fn user_of_customer(conn: &mut AsyncPgConnection, customer: &str) -> Result<Option<User>> {
    Ok(users::table
        .filter(users::stripe_customer_id.eq(customer))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// What the platform last read of a user's subscription.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
pub struct Subscription {
    /// The user.
    pub user_id: i64,
    /// Stripe's id (`sub_…`).
    pub stripe_subscription_id: String,
    /// Status.
    #[diesel(deserialize_as = Word<SubscriptionStatus>)]
    pub status: SubscriptionStatus,
    /// The price subscribed to.
    pub price_id: Option<String>,
    /// The tier that price buys.
    #[diesel(deserialize_as = MaybeWord<Tier>)]
    pub paid_tier: Option<Tier>,
    /// End of the period paid for.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Ends at the period's end.
    pub cancel_at_period_end: bool,
    /// When it first became past due.
    pub past_due_since: Option<DateTime<Utc>>,
    /// Status of the latest invoice (`paid`, `open`, …).
    pub latest_invoice_status: Option<String>,
    /// Stripe's time of the event that said so.
    pub latest_invoice_at: Option<DateTime<Utc>>,
    /// When what it grants changes by itself.
    pub review_at: Option<DateTime<Utc>>,
    /// Last written.
    pub updated_at: DateTime<Utc>,
}

/// A subscription as read from Stripe, to store.
#[derive(Debug, Clone)]
pub struct SubscriptionWrite<'a> {
    /// The user.
    pub user_id: i64,
    /// Stripe's id.
    pub stripe_subscription_id: &'a str,
    /// Status.
    pub status: SubscriptionStatus,
    /// The price.
    pub price_id: Option<&'a str>,
    /// Its tier.
    pub paid_tier: Option<Tier>,
    /// End of the period paid for.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Ends at the period's end.
    pub cancel_at_period_end: bool,
    /// When it first became past due.
    pub past_due_since: Option<DateTime<Utc>>,
    /// When what it grants changes by itself.
    pub review_at: Option<DateTime<Utc>>,
}

/// User `user_id`'s subscription, if they ever had one.
pub async fn subscription_of(conn: &mut AsyncPgConnection, user_id: i64) -> Result<Option<Subscription>> {
    Ok(subscriptions::table.find(user_id).select(Subscription::as_select()).first(conn).await.optional()?)
}

/// Stores what was read of a subscription (the user's one row; a new subscription
/// replaces an ended one). The latest invoice's status is kept.
pub async fn store_subscription(conn: &mut AsyncPgConnection, write: &SubscriptionWrite<'_>) -> Result<Subscription> {
    let values = (
        subscriptions::user_id.eq(write.user_id),
        subscriptions::stripe_subscription_id.eq(write.stripe_subscription_id),
        subscriptions::status.eq(write.status.as_str()),
        subscriptions::price_id.eq(write.price_id),
        subscriptions::paid_tier.eq(write.paid_tier.map(Tier::as_str)),
        subscriptions::current_period_end.eq(write.current_period_end),
        subscriptions::cancel_at_period_end.eq(write.cancel_at_period_end),
        subscriptions::past_due_since.eq(write.past_due_since),
        subscriptions::review_at.eq(write.review_at),
        subscriptions::updated_at.eq(diesel::dsl::now),
    );
    Ok(diesel::insert_into(subscriptions::table)
        .values(values)
        .on_conflict(subscriptions::user_id)
        .do_update()
        .set(values)
        .returning(Subscription::as_returning())
        .get_result(conn)
        .await?)
}

/// Records the latest invoice's status unless a later event already did.
pub async fn record_invoice(
    conn: &mut AsyncPgConnection,
    stripe_subscription_id: &str,
    status: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    diesel::update(
        subscriptions::table
            .filter(subscriptions::stripe_subscription_id.eq(stripe_subscription_id))
            .filter(subscriptions::latest_invoice_at.is_null().or(subscriptions::latest_invoice_at.le(at))),
    )
    .set((subscriptions::latest_invoice_status.eq(status), subscriptions::latest_invoice_at.eq(at)))
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets when user `user_id`'s subscription is next reviewed.
pub async fn set_review(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    review_at: Option<DateTime<Utc>>,
) -> Result<Subscription> {
    Ok(diesel::update(subscriptions::table.find(user_id))
        .set((subscriptions::review_at.eq(review_at), subscriptions::updated_at.eq(diesel::dsl::now)))
        .returning(Subscription::as_returning())
        .get_result(conn)
        .await?)
}

/// Subscriptions whose grant changes by `now` (grace or paid period over), oldest first.
pub async fn due_for_review(conn: &mut AsyncPgConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<Subscription>> {
    Ok(subscriptions::table
        .filter(subscriptions::review_at.le(now))
        .order(subscriptions::review_at.asc())
        .limit(limit)
        .select(Subscription::as_select())
        .load(conn)
        .await?)
}

/// Holds, until the transaction ends, the lock that serialises the handling of one
/// Stripe subscription (so two events cannot write what they read out of order).
pub async fn lock_subscription(conn: &mut AsyncPgConnection, stripe_subscription_id: &str) -> Result<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('stripe:' || $1))")
        .bind::<Text, _>(stripe_subscription_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Where a webhook event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventState {
    /// Seen for the first time, or seen before but not processed (a failed try).
    ToProcess,
    /// Processed before: acknowledge and ignore.
    Processed,
}

/// Records event `id` (once) and says whether it still needs processing.
pub async fn receive_event(
    conn: &mut AsyncPgConnection,
    id: &str,
    event_type: &str,
    created: DateTime<Utc>,
) -> Result<EventState> {
    diesel::insert_into(stripe_events::table)
        .values((
            stripe_events::id.eq(id),
            stripe_events::event_type.eq(event_type),
            stripe_events::created.eq(created),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    let processed: Option<DateTime<Utc>> =
        stripe_events::table.find(id).select(stripe_events::processed_at).first(conn).await?;
    Ok(if processed.is_some() { EventState::Processed } else { EventState::ToProcess })
}

/// Marks event `id` processed.
pub async fn event_processed(conn: &mut AsyncPgConnection, id: &str) -> Result<()> {
    diesel::update(stripe_events::table.find(id))
        .set(stripe_events::processed_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// How many events are recorded (for tests and metrics).
pub async fn count_events(conn: &mut AsyncPgConnection) -> Result<i64> {
    Ok(stripe_events::table.count().get_result(conn).await?)
}
