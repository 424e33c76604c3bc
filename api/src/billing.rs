//! Billing: checkout and portal sessions for the caller, and the webhook's events
//! applied. Every event is recorded by id and processed once; its subscription is read
//! back from Stripe under a lock per subscription, so events may arrive in any order
//! or more than once and the account still ends as Stripe has it.

use chrono::{Duration, Utc};
use diesel_async::AsyncConnection as _;
use kronos_billing::{
    event::Event,
    grant::{self, Links},
    StripeBilling,
};
use kronos_db::{
    billing::{self as rows, EventState},
    users::{self, User},
};

use crate::{error::ApiError, state::AppState};

/// What became of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Applied.
    Processed,
    /// Seen and processed before: acknowledged, nothing done.
    Duplicate,
    /// A type the platform does not act on: recorded, nothing done.
    Ignored,
}

/// The configured Stripe client, or the `404` that says the platform does not bill.
pub fn stripe(state: &AppState) -> Result<&StripeBilling, ApiError> {
    state.billing.as_ref().ok_or_else(ApiError::billing_disabled)
}

/// The user's Stripe customer, made on first use.
pub async fn customer(state: &AppState, user: &User) -> Result<String, ApiError> {
    let stripe = stripe(state)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    if let Some(customer) = rows::customer_of(&mut conn, user.id).await? {
        return Ok(customer);
    }
    drop(conn);
    let made = stripe.create_customer(user.id, &user.email).await?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    Ok(rows::remember_customer(&mut conn, user.id, &made).await?)
}

/// Applies a verified event once.
pub async fn handle(state: &AppState, event: &Event) -> Result<Outcome, ApiError> {
    let stripe = stripe(state)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    if rows::receive_event(&mut conn, &event.id, &event.event_type, event.created).await? == EventState::Processed {
        return Ok(Outcome::Duplicate);
    }
    if !event.handled() {
        rows::event_processed(&mut conn, &event.id).await?;
        return Ok(Outcome::Ignored);
    }
    let Some(subscription_id) = event.subscription_id().map(str::to_owned) else {
        // a one-off payment or a Checkout Session of another mode: nothing to apply
        rows::event_processed(&mut conn, &event.id).await?;
        return Ok(Outcome::Ignored);
    };
    let links = Links::from_auth(&state.config.auth).ok_or_else(ApiError::internal)?;
    let grace = Duration::from_std(state.config.billing.grace).unwrap_or(Duration::days(7));
    let event = event.clone();
    conn.transaction::<_, ApiError, _>(async move |conn| {
        rows::lock_subscription(conn, &subscription_id).await?;
        let sub = stripe.subscription(&subscription_id).await?;
        let Some(user) = owner(conn, &event, &sub.customer).await? else {
            tracing::warn!(event = %event.id, customer = %sub.customer, "a subscription of a customer no user has");
            rows::event_processed(conn, &event.id).await?;
            return Ok(());
        };
        let paid_tier = sub.price_id.as_deref().and_then(|p| stripe.config().tier_of_price(p));
        let applied = grant::apply_stripe(conn, &user, &sub, paid_tier, grace, links, Utc::now()).await?;
        if event.event_type.starts_with("invoice.") {
            if let Some(status) = event.invoice_status() {
                rows::record_invoice(conn, &sub.id, status, event.created).await?;
            }
        }
        if event.event_type == "invoice.payment_failed" {
            // the user as the tier change left them
            let user = users::find(conn, user.id).await?.unwrap_or(user);
            grant::payment_failed(conn, &user, &applied, links).await?;
        }
        rows::event_processed(conn, &event.id).await?;
        Ok(())
    })
    .await?;
    Ok(Outcome::Processed)
}

/// The user a subscription belongs to: by its customer, or — for the Checkout Session
/// that made the customer's first subscription — by the session's reference, which
/// then remembers the customer.
async fn owner(
    conn: &mut diesel_async::AsyncPgConnection,
    event: &Event,
    customer: &str,
) -> Result<Option<User>, ApiError> {
    if let Some(user) = rows::user_of_customer(conn, customer).await? {
        return Ok(Some(user));
    }
    let Some(user_id) = event.client_reference() else { return Ok(None) };
    let Some(user) = users::find(conn, user_id).await? else { return Ok(None) };
    if rows::remember_customer(conn, user.id, customer).await? == customer {
        Ok(Some(user))
    } else {
        Ok(None)
    }
}
