//! The subscription emails: started, changed, ending, ended, and a failed payment.
//! Each carries the link that turns billing emails off.

pub use crate::Recipient;
use crate::{notice, Rendered};

/// A paid subscription started.
pub fn started(to: Recipient<'_>, tier: &str) -> Rendered {
    notice(
        to.name,
        &format!("Kronos: your {tier} subscription is active"),
        &format!("Your {tier} subscription is active"),
        &[format!("Thank you. Your account now has the {tier} tier's daily limits.")],
        (to.account_link, "See your subscription"),
        to.unsubscribe_link,
    )
}

/// The subscription moved from one paid tier to another.
pub fn changed(to: Recipient<'_>, from: &str, tier: &str) -> Rendered {
    notice(
        to.name,
        &format!("Kronos: your subscription changed to {tier}"),
        &format!("Your subscription is now {tier}"),
        &[format!("Your subscription changed from {from} to {tier}; the {tier} tier's daily limits apply from now.")],
        (to.account_link, "See your subscription"),
        to.unsubscribe_link,
    )
}

/// The subscription ends at `ends` (cancelled at the period's end, or canceled and
/// running out the period already paid for).
pub fn ending(to: Recipient<'_>, tier: &str, ends: &str) -> Rendered {
    notice(
        to.name,
        "Kronos: your subscription is ending",
        "Your subscription is ending",
        &[format!(
            "Your {tier} subscription ends on {ends}. Until then nothing changes; afterwards your account has the free tier's limits. You can resume it from your account page before then."
        )],
        (to.account_link, "Manage your subscription"),
        to.unsubscribe_link,
    )
}

/// The paid tier ended: the account is on the free tier now.
pub fn ended(to: Recipient<'_>, tier: &str) -> Rendered {
    notice(
        to.name,
        "Kronos: your subscription has ended",
        "Your subscription has ended",
        &[format!(
            "Your {tier} subscription has ended and your account now has the free tier's limits. Your forecasts, history and API keys stay as they are."
        )],
        (to.account_link, "Subscribe again"),
        to.unsubscribe_link,
    )
}

/// A renewal payment failed; the tier is kept until `grace_until`.
pub fn payment_failed(to: Recipient<'_>, tier: &str, grace_until: &str) -> Rendered {
    notice(
        to.name,
        "Kronos: your payment failed",
        "Your payment failed",
        &[
            format!("We could not take the payment for your {tier} subscription. Stripe will try again."),
            format!(
                "Please update your card: your account keeps the {tier} tier until {grace_until}, then moves to the free tier unless the payment succeeds."
            ),
        ],
        (to.account_link, "Update your payment details"),
        to.unsubscribe_link,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_billing_email_links_the_account_and_the_unsubscribe_page() {
        let to = Recipient {
            name: Some("Ann"),
            account_link: "https://k.example/account#billing",
            unsubscribe_link: "https://k.example/unsubscribe?token=1.billing.ab",
        };
        for m in [
            started(to, "pro"),
            changed(to, "basic", "pro"),
            ending(to, "pro", "2026-12-31"),
            ended(to, "pro"),
            payment_failed(to, "pro", "2026-12-07 12:00 UTC"),
        ] {
            assert!(m.text.contains(to.account_link) && m.html.contains(to.account_link), "{}", m.subject);
            assert!(m.text.contains(to.unsubscribe_link) && m.html.contains("token=1.billing.ab"), "{}", m.subject);
            assert!(m.text.starts_with("Hello Ann,"));
        }
        assert!(payment_failed(to, "pro", "2026-12-07").text.contains("keeps the pro tier until 2026-12-07"));
    }
}
