//! Billing settings: the Stripe account, its webhook endpoint's secrets, the price of
//! each paid tier, and the grace period of a failed renewal.

use std::time::Duration;

use kronos_types::accounts::Tier;

use crate::{
    accounts::Secret,
    env::{parse, Env},
    error::{Error, Result},
};

/// Stripe subscriptions.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// Stripe secret key (`KRONOS_STRIPE_SECRET_KEY`, `sk_…`; unset: billing is off and
    /// its routes answer 503).
    pub secret_key: Option<Secret>,
    /// Stripe's API address (`KRONOS_STRIPE_API_BASE`, default `https://api.stripe.com`).
    pub api_base: String,
    /// The webhook endpoint's signing secrets (`KRONOS_STRIPE_WEBHOOK_SECRETS`,
    /// `whsec_…`, comma-separated: during a rotation both verify).
    pub webhook_secrets: Vec<Secret>,
    /// Price ids of the paid tiers (`KRONOS_STRIPE_PRICE_BASIC`, `_PRO`, `_ENTERPRISE`).
    pub prices: Vec<(Tier, String)>,
    /// How long a past-due subscription keeps its tier (`KRONOS_BILLING_GRACE_SECS`,
    /// default 7 days).
    pub grace: Duration,
}

impl BillingConfig {
    /// Reads the billing settings.
    pub fn from_env(env: &Env) -> Result<Self> {
        let api_base = env.var("KRONOS_STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com".into());
        if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
            return Err(Error::Config(format!("KRONOS_STRIPE_API_BASE={api_base:?} is not an http(s) URL")));
        }
        let mut prices = Vec::new();
        for (tier, name) in [
            (Tier::Basic, "KRONOS_STRIPE_PRICE_BASIC"),
            (Tier::Pro, "KRONOS_STRIPE_PRICE_PRO"),
            (Tier::Enterprise, "KRONOS_STRIPE_PRICE_ENTERPRISE"),
        ] {
            if let Some(price) = env.var(name).map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()) {
                if prices.iter().any(|(_, other)| *other == price) {
                    return Err(Error::Config(format!("{name}: {price:?} is already another tier's price")));
                }
                prices.push((tier, price));
            }
        }
        Ok(Self {
            secret_key: env.var("KRONOS_STRIPE_SECRET_KEY").filter(|k| !k.trim().is_empty()).map(Secret::new),
            api_base: api_base.trim_end_matches('/').to_owned(),
            webhook_secrets: env
                .var("KRONOS_STRIPE_WEBHOOK_SECRETS")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Secret::new)
                .collect(),
            prices,
            grace: Duration::from_secs(parse(env, "KRONOS_BILLING_GRACE_SECS", 7 * 86_400)?),
        })
    }

    /// Whether billing is configured.
    pub fn enabled(&self) -> bool {
        self.secret_key.is_some()
    }

    /// The price id of a paid tier.
    pub fn price(&self, tier: Tier) -> Option<&str> {
        self.prices.iter().find(|(t, _)| *t == tier).map(|(_, p)| p.as_str())
    }

    /// The tier a price buys.
    pub fn tier_of_price(&self, price: &str) -> Option<Tier> {
        self.prices.iter().find(|(_, p)| p == price).map(|(t, _)| *t)
    }
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            secret_key: None,
            api_base: "https://api.stripe.com".into(),
            webhook_secrets: Vec::new(),
            prices: Vec::new(),
            grace: Duration::from_secs(7 * 86_400),
        }
    }
}
