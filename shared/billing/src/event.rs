//! A webhook event: the envelope Stripe documents (`id`, `type`, `created`,
//! `data.object`) and what the handled types say, read from the raw JSON once its
//! signature has been verified. Only ids are taken from an event's object: the
//! subscription itself is read back from Stripe, so events may arrive in any order.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// The event types the platform acts on.
pub const HANDLED: [&str; 7] = [
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.payment_succeeded",
];

/// A verified event.
#[derive(Debug, Clone)]
pub struct Event {
    /// `evt_…`: processed at most once.
    pub id: String,
    /// `customer.subscription.updated`, …
    pub event_type: String,
    /// When Stripe created it.
    pub created: DateTime<Utc>,
    /// `data.object`.
    pub object: Value,
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    created: i64,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    object: Value,
}

/// Why a body is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

impl Event {
    /// Reads the raw body of a webhook request.
    pub fn parse(body: &[u8]) -> Result<Self, Malformed> {
        let envelope: Envelope = serde_json::from_slice(body).map_err(|e| Malformed(format!("not an event: {e}")))?;
        if envelope.id.is_empty() || envelope.id.len() > 255 {
            return Err(Malformed("id: expected 1 to 255 characters".into()));
        }
        if !envelope.data.object.is_object() {
            return Err(Malformed("data.object: expected an object".into()));
        }
        let created =
            DateTime::from_timestamp(envelope.created, 0).ok_or_else(|| Malformed("created: not a time".into()))?;
        Ok(Self { id: envelope.id, event_type: envelope.event_type, created, object: envelope.data.object })
    }

    /// Whether the platform acts on this type.
    pub fn handled(&self) -> bool {
        HANDLED.contains(&self.event_type.as_str())
    }

    fn text(&self, path: &[&str]) -> Option<&str> {
        let mut value = &self.object;
        for key in path {
            value = value.get(key)?;
        }
        // an expandable field is an id, or the object with its id
        value.as_str().or_else(|| value.get("id").and_then(Value::as_str))
    }

    /// The subscription the event is about: a subscription event's object, a
    /// Checkout Session's or an invoice's subscription (an invoice names it under
    /// `parent.subscription_details` since API version 2025-03-31, at the top before).
    pub fn subscription_id(&self) -> Option<&str> {
        if self.event_type.starts_with("customer.subscription.") {
            return self.text(&["id"]);
        }
        self.text(&["subscription"]).or_else(|| self.text(&["parent", "subscription_details", "subscription"]))
    }

    /// The customer the event's object belongs to.
    pub fn customer_id(&self) -> Option<&str> {
        self.text(&["customer"])
    }

    /// A Checkout Session's `client_reference_id`: the platform's user id.
    pub fn client_reference(&self) -> Option<i64> {
        self.text(&["client_reference_id"]).and_then(|id| id.parse().ok())
    }

    /// An invoice's status (`paid`, `open`, …).
    pub fn invoice_status(&self) -> Option<&str> {
        self.text(&["status"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_envelope_and_ids_in_old_and_new_shapes() {
        let event = |ty: &str, object: Value| {
            let body = serde_json::json!({"id": "evt_1", "object": "event", "type": ty, "created": 1_700_000_000,
                                          "api_version": "2025-09-30.clover", "data": {"object": object}});
            Event::parse(body.to_string().as_bytes()).unwrap()
        };
        let sub = event("customer.subscription.updated", serde_json::json!({"id": "sub_1", "customer": "cus_1"}));
        assert_eq!((sub.subscription_id(), sub.customer_id()), (Some("sub_1"), Some("cus_1")));
        assert!(sub.handled());
        let checkout = event(
            "checkout.session.completed",
            serde_json::json!({"id": "cs_1", "subscription": "sub_2", "customer": {"id": "cus_2"}, "client_reference_id": "42"}),
        );
        assert_eq!(
            (checkout.subscription_id(), checkout.customer_id(), checkout.client_reference()),
            (Some("sub_2"), Some("cus_2"), Some(42))
        );
        let invoice = event(
            "invoice.payment_failed",
            serde_json::json!({"id": "in_1", "status": "open", "parent": {"subscription_details": {"subscription": "sub_3"}}}),
        );
        assert_eq!((invoice.subscription_id(), invoice.invoice_status()), (Some("sub_3"), Some("open")));
        assert!(!event("charge.refunded", serde_json::json!({"id": "ch_1"})).handled());
    }

    #[test]
    fn refuses_what_is_not_an_event() {
        for body in [
            "",
            "[]",
            r#"{"id": "evt_1", "type": "x", "created": 1}"#,
            r#"{"id": "", "type": "x", "created": 1, "data": {"object": {}}}"#,
            r#"{"id": "evt_1", "type": "x", "created": "yesterday", "data": {"object": {}}}"#,
            r#"{"id": "evt_1", "type": "x", "created": 1, "data": {"object": 3}}"#,
        ] {
            assert!(Event::parse(body.as_bytes()).is_err(), "{body:?}");
        }
    }
}
