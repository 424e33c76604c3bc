//! Kronos platform: billing through Stripe.
//!
//! `client` is the one place that talks to Stripe (the async-stripe crate, its base URL
//! configurable so tests talk to a local server answering in Stripe's documented
//! formats): a customer per user, a Checkout Session in subscription mode for a paid
//! tier, a Customer Portal session, and a subscription read back by id — webhook
//! handling re-reads the subscription rather than trusting the order events arrive in.
//! `event` reads the webhook envelope (`id`, `type`, `created`, `data.object`) once its
//! signature has been checked (`kronos_auth::signature`). `grant` applies what a
//! subscription grants to the account: its row, the user's tier (audited) and the
//! subscription emails, for webhooks and for the scheduler's review of grace periods.

mod client;
mod error;
pub mod event;
pub mod grant;

pub use client::{StripeBilling, StripeSubscription};
pub use error::{Error, Result};
