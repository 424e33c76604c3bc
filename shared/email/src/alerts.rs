//! The alert email: which rule fired, on what, and the value that met it.

use crate::{notice, Recipient, Rendered};

/// What fired.
#[derive(Debug, Clone, Copy)]
pub struct Firing<'a> {
    /// The asset's symbol.
    pub symbol: &'a str,
    /// The rule in words ("GOOG closed above 120").
    pub rule: &'a str,
    /// What was seen ("the 1h close of 2026-11-29 13:00 UTC was 121.40").
    pub seen: &'a str,
    /// The user's note on the rule.
    pub note: Option<&'a str>,
}

/// An alert fired; `to.account_link` opens the asset's page.
pub fn fired(to: Recipient<'_>, firing: Firing<'_>) -> Rendered {
    let mut paragraphs =
        vec![format!("Your alert on {}: {}.", firing.symbol, firing.rule), format!("{}.", firing.seen)];
    if let Some(note) = firing.note.filter(|n| !n.trim().is_empty()) {
        paragraphs.push(format!("Your note: {note}"));
    }
    paragraphs.push("It fires again only after its cooldown. Forecasts are estimates, not advice.".to_owned());
    notice(
        to.name,
        &format!("Kronos alert: {}", firing.rule),
        &format!("Alert on {}", firing.symbol),
        &paragraphs,
        (to.account_link, &format!("Open {}", firing.symbol)),
        to.unsubscribe_link,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_email_says_what_fired_and_escapes_the_note() {
        let to = Recipient {
            name: None,
            account_link: "https://k.example/assets/GOOG",
            unsubscribe_link: "https://k.example/unsubscribe?token=1.alerts.ab",
        };
        let m = fired(
            to,
            Firing {
                symbol: "GOOG",
                rule: "GOOG closed above 120",
                seen: "the 1d close was 121.4",
                note: Some("<b>sell</b>"),
            },
        );
        assert_eq!(m.subject, "Kronos alert: GOOG closed above 120");
        assert!(m.text.contains("the 1d close was 121.4.") && m.text.contains("token=1.alerts.ab"));
        assert!(m.html.contains("&lt;b&gt;sell&lt;/b&gt;") && !m.html.contains("<b>sell"));
    }
}
