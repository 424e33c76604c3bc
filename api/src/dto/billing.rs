//! The billing contract: checkout and portal sessions, the caller's subscription, the
//! webhook's acknowledgement, and unsubscribing from an email kind.

use chrono::{DateTime, Utc};
use kronos_types::{accounts::Tier, billing::SubscriptionStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/billing/checkout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// The paid tier to subscribe to: `basic`, `pro` or `enterprise`.
    pub tier: Tier,
}

/// A Stripe-hosted page to send the browser to.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedirectUrl {
    /// Its address (valid for a short while).
    pub url: String,
}

/// `GET /v1/billing/subscription`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillingView {
    /// Whether the platform sells subscriptions (Stripe configured).
    pub billing_enabled: bool,
    /// The caller's tier now.
    pub tier: Tier,
    /// The tiers on sale.
    pub tiers_on_sale: Vec<Tier>,
    /// The caller's subscription, if they ever had one.
    pub subscription: Option<SubscriptionView>,
}

/// What the platform last read of a subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    /// Stripe's status.
    pub status: SubscriptionStatus,
    /// The tier its price buys.
    pub paid_tier: Option<Tier>,
    /// End of the period paid for.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Ends at the end of the period (cancelled in the portal).
    pub cancel_at_period_end: bool,
    /// When a renewal payment first failed.
    pub past_due_since: Option<DateTime<Utc>>,
    /// When the tier drops to free unless Stripe says otherwise before (end of the
    /// grace period of a failed payment, or of the paid period of a cancelled plan).
    pub tier_until: Option<DateTime<Utc>>,
    /// Status of the latest invoice (`paid`, `open`, …).
    pub latest_invoice_status: Option<String>,
}

impl From<&kronos_db::billing::Subscription> for SubscriptionView {
    fn from(s: &kronos_db::billing::Subscription) -> Self {
        Self {
            status: s.status,
            paid_tier: s.paid_tier,
            current_period_end: s.current_period_end,
            cancel_at_period_end: s.cancel_at_period_end,
            past_due_since: s.past_due_since,
            tier_until: s.review_at,
            latest_invoice_status: s.latest_invoice_status.clone(),
        }
    }
}

/// What became of a webhook event.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceipt {
    /// Always true: Stripe stops retrying.
    pub received: bool,
    /// `processed`, `duplicate` (processed before) or `ignored` (a type not acted on).
    pub outcome: String,
}

/// `POST /v1/unsubscribe`: the token from an email's link (here or in `?token=`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnsubscribeRequest {
    /// The token.
    pub token: String,
}

/// An email kind turned off.
#[derive(Debug, Serialize, ToSchema)]
pub struct Unsubscribed {
    /// The kind (`billing`, `alerts`, …).
    pub kind: String,
    /// Always false now: the kind is off.
    pub enabled: bool,
}
