//! Billing's vocabulary and its one rule: what a Stripe subscription in a given state
//! grants a user now, and until when.
//!
//! - `active`, `trialing`: the paid tier of its price;
//! - `past_due` (a renewal payment failed; Stripe retries it): the paid tier for a grace
//!   period from when it first became past due, then free;
//! - `canceled`, `unpaid`: the paid tier until the end of the period already paid for,
//!   then free;
//! - `incomplete`, `incomplete_expired` (the first payment never succeeded), `paused`:
//!   free.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::{accounts::Tier, error::Error, words::word_enum};

word_enum!(
    /// A Stripe subscription's status, as Stripe spells it.
    SubscriptionStatus, "status" {
        /// Created; the first payment has not succeeded yet.
        Incomplete => "incomplete",
        /// The first payment never succeeded (terminal).
        IncompleteExpired => "incomplete_expired",
        /// In a free trial.
        Trialing => "trialing",
        /// Paid.
        Active => "active",
        /// A renewal payment failed; Stripe retries it.
        PastDue => "past_due",
        /// Ended (terminal).
        Canceled => "canceled",
        /// Retries exhausted without payment.
        Unpaid => "unpaid",
        /// Paused by the merchant or at the end of a trial without a payment method.
        Paused => "paused",
    }
);

/// What the platform knows of a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionFacts {
    /// Its status.
    pub status: SubscriptionStatus,
    /// The tier its price buys (`None`: a price the platform does not sell).
    pub paid_tier: Option<Tier>,
    /// End of the period paid for.
    pub current_period_end: Option<DateTime<Utc>>,
    /// When it first became past due (reset when it is paid).
    pub past_due_since: Option<DateTime<Utc>>,
}

/// The tier a subscription grants now, and when that changes by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entitlement {
    /// The tier now.
    pub tier: Tier,
    /// When it drops to free unless Stripe says otherwise before (end of the grace
    /// period or of the paid period); `None`: it does not change by itself.
    pub until: Option<DateTime<Utc>>,
}

impl SubscriptionFacts {
    /// What it grants at `now`, with `grace` for past-due payments.
    pub fn entitlement(&self, now: DateTime<Utc>, grace: Duration) -> Entitlement {
        use SubscriptionStatus::*;
        let paid = self.paid_tier.unwrap_or(Tier::Free);
        let until = |end: Option<DateTime<Utc>>| match end {
            Some(end) if end > now && paid != Tier::Free => Entitlement { tier: paid, until: Some(end) },
            _ => Entitlement { tier: Tier::Free, until: None },
        };
        match self.status {
            Active | Trialing => Entitlement { tier: paid, until: None },
            PastDue => until(Some(self.past_due_since.unwrap_or(now) + grace)),
            Canceled | Unpaid => until(self.current_period_end),
            Incomplete | IncompleteExpired | Paused => Entitlement { tier: Tier::Free, until: None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + hours * 3600, 0).unwrap()
    }

    fn facts(status: SubscriptionStatus) -> SubscriptionFacts {
        SubscriptionFacts {
            status,
            paid_tier: Some(Tier::Pro),
            current_period_end: Some(at(240)),
            past_due_since: None,
        }
    }

    #[test]
    fn paid_and_trialing_subscriptions_grant_their_tier() {
        let grace = Duration::days(3);
        for status in [SubscriptionStatus::Active, SubscriptionStatus::Trialing] {
            assert_eq!(facts(status).entitlement(at(0), grace), Entitlement { tier: Tier::Pro, until: None });
        }
        let unknown_price = SubscriptionFacts { paid_tier: None, ..facts(SubscriptionStatus::Active) };
        assert_eq!(unknown_price.entitlement(at(0), grace).tier, Tier::Free);
    }

    #[test]
    fn past_due_keeps_the_tier_for_the_grace_period_then_free() {
        let grace = Duration::days(3);
        let past_due = SubscriptionFacts { past_due_since: Some(at(0)), ..facts(SubscriptionStatus::PastDue) };
        assert_eq!(past_due.entitlement(at(1), grace), Entitlement { tier: Tier::Pro, until: Some(at(72)) });
        assert_eq!(past_due.entitlement(at(72), grace), Entitlement { tier: Tier::Free, until: None });
        // first seen now: the grace starts now
        let fresh = facts(SubscriptionStatus::PastDue);
        assert_eq!(fresh.entitlement(at(5), grace).until, Some(at(77)));
    }

    #[test]
    fn canceled_and_unpaid_keep_the_paid_period_then_free() {
        let grace = Duration::days(3);
        for status in [SubscriptionStatus::Canceled, SubscriptionStatus::Unpaid] {
            assert_eq!(facts(status).entitlement(at(10), grace), Entitlement { tier: Tier::Pro, until: Some(at(240)) });
            assert_eq!(facts(status).entitlement(at(240), grace).tier, Tier::Free);
        }
        for status in
            [SubscriptionStatus::Incomplete, SubscriptionStatus::IncompleteExpired, SubscriptionStatus::Paused]
        {
            assert_eq!(facts(status).entitlement(at(0), grace), Entitlement { tier: Tier::Free, until: None });
        }
    }
}
