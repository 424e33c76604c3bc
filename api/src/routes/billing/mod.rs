//! `/v1/billing/*`: subscriptions through Stripe — a checkout for a paid tier, the
//! customer portal, the caller's subscription, and Stripe's webhook.

pub mod checkout;
pub mod portal;
pub mod subscription;
pub mod webhook;
