//! The Stripe client: every call the platform makes to Stripe.

use std::{collections::HashMap, str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use kronos_config::BillingConfig;
use kronos_types::{accounts::Tier, billing::SubscriptionStatus};
use stripe::{IdempotencyKey, RequestStrategy, StripeRequest as _};
use stripe_billing::{billing_portal_session::CreateBillingPortalSession, subscription::RetrieveSubscription};
use stripe_checkout::checkout_session::{CreateCheckoutSession, CreateCheckoutSessionLineItems};
use stripe_core::customer::CreateCustomer;
use stripe_shared::CheckoutSessionMode;

use crate::error::{Error, Result};

/// A subscription as Stripe has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSubscription {
    /// `sub_…`.
    pub id: String,
    /// `cus_…`.
    pub customer: String,
    /// Status.
    pub status: SubscriptionStatus,
    /// The price of its (first) item.
    pub price_id: Option<String>,
    /// End of the period paid for (the item's, as Stripe reports it since 2025-03).
    pub current_period_end: Option<DateTime<Utc>>,
    /// Ends at the period's end.
    pub cancel_at_period_end: bool,
}

/// Stripe, as configured.
#[derive(Clone)]
pub struct StripeBilling {
    client: stripe::Client,
    config: BillingConfig,
}

impl std::fmt::Debug for StripeBilling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeBilling").field("api_base", &self.config.api_base).finish_non_exhaustive()
    }
}

impl StripeBilling {
    /// A client of the configured account; `None` when billing is not configured.
    pub fn new(config: &BillingConfig) -> Result<Option<Self>> {
        let Some(key) = &config.secret_key else { return Ok(None) };
        let client = stripe::ClientBuilder::new(key.expose())
            .url(config.api_base.clone())
            .request_strategy(RequestStrategy::ExponentialBackoff(3))
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| Error::Invalid { field: "KRONOS_STRIPE_API_BASE", message: e.to_string() })?;
        Ok(Some(Self { client, config: config.clone() }))
    }

    /// The configuration.
    pub fn config(&self) -> &BillingConfig {
        &self.config
    }

    /// Makes the customer of user `user_id` (idempotent per user for a day, so two
    /// racing checkouts make one customer).
    pub async fn create_customer(&self, user_id: i64, email: &str) -> Result<String> {
        let metadata = HashMap::from([("kronos_user_id".to_owned(), user_id.to_string())]);
        let customer = CreateCustomer::new()
            .email(email)
            .metadata(metadata)
            .customize()
            .request_strategy(idempotent(&format!("kronos-customer-{user_id}"))?)
            .send(&self.client)
            .await?;
        Ok(customer.id.to_string())
    }

    /// A Checkout Session in subscription mode for `tier`'s price; its URL.
    pub async fn checkout_url(
        &self,
        customer: &str,
        user_id: i64,
        tier: Tier,
        success_url: &str,
        cancel_url: &str,
    ) -> Result<String> {
        let price = self.config.price(tier).ok_or_else(|| Error::Invalid {
            field: "tier",
            message: format!("no Stripe price is configured for the {tier} tier"),
        })?;
        let mut item = CreateCheckoutSessionLineItems::new();
        item.price = Some(price.to_owned());
        item.quantity = Some(1);
        let session = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .customer(customer)
            .client_reference_id(user_id.to_string())
            .line_items(vec![item])
            .success_url(success_url)
            .cancel_url(cancel_url)
            .metadata(HashMap::from([("kronos_user_id".to_owned(), user_id.to_string())]))
            .send(&self.client)
            .await?;
        session.url.ok_or_else(|| Error::Unavailable("the Checkout Session has no url".into()))
    }

    /// A Customer Portal session (change plan, cancel, update the card); its URL.
    pub async fn portal_url(&self, customer: &str, return_url: &str) -> Result<String> {
        let session =
            CreateBillingPortalSession::new().customer(customer).return_url(return_url).send(&self.client).await?;
        Ok(session.url)
    }

    /// Subscription `id` as Stripe has it now.
    pub async fn subscription(&self, id: &str) -> Result<StripeSubscription> {
        let sub = RetrieveSubscription::new(id).send(&self.client).await?;
        let item = sub.items.data.first();
        let status = SubscriptionStatus::from_str(sub.status.as_str())
            .map_err(|_| Error::Unavailable(format!("unknown subscription status {:?}", sub.status.as_str())))?;
        Ok(StripeSubscription {
            id: sub.id.to_string(),
            customer: sub.customer.id().to_string(),
            status,
            price_id: item.map(|i| i.price.id.to_string()),
            current_period_end: item.and_then(|i| DateTime::from_timestamp(i.current_period_end, 0)),
            cancel_at_period_end: sub.cancel_at_period_end,
        })
    }
}

fn idempotent(key: &str) -> Result<RequestStrategy> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| Error::Invalid { field: "idempotency key", message: e.to_string() })
}
