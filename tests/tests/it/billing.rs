//! Subscriptions through Stripe, against a local server answering in Stripe's documented
//! formats, with webhooks signed in the documented scheme: checkout → the completed
//! webhook → tier pro → a failed payment → the past-due email → the grace period → free;
//! forged, stale, replayed, unknown and malformed webhooks change nothing; events are
//! applied by re-reading the subscription, so a late event cannot undo a newer state;
//! the email's unsubscribe link turns billing emails off, and only them.

use std::time::Duration;

use chrono::Utc;
use kronos_billing::grant::{self, Links};
use kronos_config::{BillingConfig, Secret};
use kronos_db::{audit, billing as rows, users};
use kronos_tests::{
    accounts::{client_with, create_user, TestUser, PASSWORD},
    fake_stripe::{sign, FakeStripe, SECRET_KEY, WEBHOOK_SECRET},
    http::TestApi,
    process::Proc,
    smtp, TestEnv,
};
use kronos_types::accounts::{AuditAction, Role, Tier};
use serde_json::{json, Value};

const GRACE: Duration = Duration::from_secs(3);
const MAIL_WAIT: Duration = Duration::from_secs(30);

async fn session(api: &TestApi, user: &TestUser) -> reqwest::Client {
    let (status, body) = api
        .send_with(
            &reqwest::Client::new(),
            "POST",
            "/v1/auth/login",
            Some(&json!({"email": user.email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    client_with(body["access_token"].as_str().unwrap())
}

/// POSTs `body` to the webhook with `signature` (none when `None`).
async fn deliver(api: &TestApi, body: &str, signature: Option<String>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(api.url("/v1/billing/webhook"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Delivers `event` signed as Stripe signs it, now.
async fn webhook(api: &TestApi, event: &Value) -> (u16, Value) {
    let body = event.to_string();
    deliver(api, &body, Some(sign(WEBHOOK_SECRET, Utc::now().timestamp(), &body))).await
}

async fn tier_of(env: &TestEnv, user: &TestUser) -> Tier {
    let pool = kronos_db::pool(&env.config.database_url, 1).unwrap();
    let mut conn = pool.get().await.unwrap();
    users::find(&mut conn, user.id).await.unwrap().unwrap().tier
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscription_sets_the_tier_through_payment_failure_grace_and_recovery() {
    let mut env = TestEnv::new().await;
    // Stripe sells basic and pro; the enterprise price configured here is unknown to it
    let stripe = FakeStripe::start(&["price_basic", "price_pro"]).await;
    env.config.billing = BillingConfig {
        secret_key: Some(Secret::new(SECRET_KEY)),
        api_base: stripe.url.clone(),
        webhook_secrets: vec![Secret::new("whsec_rotated_out_old"), Secret::new(WEBHOOK_SECRET)],
        prices: vec![
            (Tier::Basic, "price_basic".into()),
            (Tier::Pro, "price_pro".into()),
            (Tier::Enterprise, "price_enterprise".into()),
        ],
        grace: GRACE,
    };
    let api = TestApi::start(&env, true).await;
    let _worker = Proc::start("kronos-worker", &env, &["--devices", "cpu", "--torch-threads", "1"], &[]);
    // addresses of this run only: the SMTP server's maildir outlives a test
    let run = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let ann = create_user(&env, &format!("billing-ann-{run}"), Role::User, Tier::Free, true).await;
    let bob = create_user(&env, &format!("billing-bob-{run}"), Role::User, Tier::Free, true).await;
    let ann_session = session(&api, &ann).await;
    let pool = kronos_db::pool(&env.config.database_url, 2).unwrap();
    let mut conn = pool.get().await.unwrap();

    // bad input names the field; an API key cannot buy
    for (body, field) in [(json!({"tier": "free"}), "tier"), (json!({"tier": "gold"}), "tier"), (json!({}), "tier")] {
        let (status, answer) = api.send_with(&ann_session, "POST", "/v1/billing/checkout", Some(&body)).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    let (status, _) = api.send_with(&ann.client(), "POST", "/v1/billing/checkout", Some(&json!({"tier": "pro"}))).await;
    assert_eq!(status, 403, "a key cannot start a purchase");
    let (status, answer) = api.send_with(&ann_session, "POST", "/v1/billing/portal", None).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("no_subscription")), "{answer}");

    // Stripe's refusal (its documented error object) is a 502 that says so, not a 500
    let (status, answer) =
        api.send_with(&ann_session, "POST", "/v1/billing/checkout", Some(&json!({"tier": "enterprise"}))).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (502, Some("upstream_refused")), "{answer}");

    // checkout: one customer per user, a session in subscription mode for the tier's price
    let (status, first) =
        api.send_with(&ann_session, "POST", "/v1/billing/checkout", Some(&json!({"tier": "basic"}))).await;
    assert_eq!(status, 200, "{first}");
    let (status, checkout) =
        api.send_with(&ann_session, "POST", "/v1/billing/checkout", Some(&json!({"tier": "pro"}))).await;
    assert_eq!(status, 200, "{checkout}");
    let url = checkout["url"].as_str().unwrap();
    assert!(url.starts_with("https://checkout.stripe.com/c/pay/cs_"), "{url}");
    assert_eq!(stripe.calls().iter().filter(|c| *c == "POST /v1/customers").count(), 1, "the customer is made once");
    let session_object = stripe.session_by_url(url);
    assert_eq!(session_object["mode"], "subscription");
    assert_eq!(session_object["client_reference_id"], ann.id.to_string());
    assert_eq!(session_object["metadata"]["price"], "price_pro");
    let (_, view) = api.send_with(&ann.client(), "GET", "/v1/billing/subscription", None).await;
    assert_eq!((view["tier"].as_str(), view["subscription"].is_null()), (Some("free"), true), "{view}");
    assert_eq!(view["tiers_on_sale"], json!(["basic", "pro", "enterprise"]));

    // the customer pays; Stripe sends checkout.session.completed
    let (sub_id, completed) = stripe.complete_checkout(session_object["id"].as_str().unwrap());
    let customer = completed["customer"].as_str().unwrap().to_owned();
    let event = stripe.event("checkout.session.completed", completed.clone());
    let (status, receipt) = webhook(&api, &event).await;
    assert_eq!((status, receipt["outcome"].as_str()), (200, Some("processed")), "{receipt}");
    assert_eq!(tier_of(&env, &ann).await, Tier::Pro);
    let (_, view) = api.send_with(&ann.client(), "GET", "/v1/billing/subscription", None).await;
    assert_eq!(view["subscription"]["status"], "active", "{view}");
    assert_eq!(view["subscription"]["paid_tier"], "pro");
    let started = smtp::wait_for(&ann.email, 1, MAIL_WAIT).await;
    assert_eq!(started[0].subject, "Kronos: your pro subscription is active");
    let (status, _) =
        api.send_with(&ann_session, "POST", "/v1/billing/checkout", Some(&json!({"tier": "basic"}))).await;
    assert_eq!(status, 409, "already subscribed: the portal changes plans");
    let (status, portal) = api.send_with(&ann_session, "POST", "/v1/billing/portal", None).await;
    assert_eq!(status, 200, "{portal}");
    assert!(portal["url"].as_str().unwrap().starts_with("https://billing.stripe.com/p/session/"));

    // a replay, a forgery, a stale signature, an unknown type and a malformed body change nothing
    let events_before = rows::count_events(&mut conn).await.unwrap();
    let (status, receipt) = webhook(&api, &event).await;
    assert_eq!((status, receipt["outcome"].as_str()), (200, Some("duplicate")));
    let body = stripe.event("customer.subscription.deleted", json!({"id": sub_id, "customer": customer})).to_string();
    let now = Utc::now().timestamp();
    for (why, signature) in [
        ("no signature", None),
        ("another secret", Some(sign("whsec_forged", now, &body))),
        // well outside the 300 s tolerance (the exact bounds are unit-tested in kronos-auth):
        // the request takes time, and a bound here would make the test depend on it
        ("stale", Some(sign(WEBHOOK_SECRET, now - 600, &body))),
        ("ahead", Some(sign(WEBHOOK_SECRET, now + 600, &body))),
        ("garbage", Some("t=1,v1=zz".to_owned())),
    ] {
        let (status, answer) = deliver(&api, &body, signature).await;
        assert_eq!(status, 400, "{why}: {answer}");
    }
    let tampered = body.replace("customer.subscription.deleted", "customer.subscription.updated");
    let (status, _) = deliver(&api, &tampered, Some(sign(WEBHOOK_SECRET, now, &body))).await;
    assert_eq!(status, 400, "a body other than the signed one");
    let (status, _) = deliver(&api, "{not json", Some(sign(WEBHOOK_SECRET, now, "{not json"))).await;
    assert_eq!(status, 400, "malformed");
    assert_eq!(rows::count_events(&mut conn).await.unwrap(), events_before, "refused webhooks store nothing");
    let (status, receipt) = webhook(&api, &stripe.event("charge.refunded", json!({"id": "ch_1"}))).await;
    assert_eq!((status, receipt["outcome"].as_str()), (200, Some("ignored")));
    assert_eq!(tier_of(&env, &ann).await, Tier::Pro);
    let tier_changes = |entries: &[audit::AuditEntry]| {
        entries.iter().filter(|e| e.action == AuditAction::TierChanged && e.details["by"] == "billing").count()
    };
    let filter = audit::AuditFilter { user_id: Some(ann.id), ..audit::AuditFilter::default() };
    assert_eq!(tier_changes(&audit::list(&mut conn, &filter, 100).await.unwrap()), 1, "one audited change so far");

    // a renewal fails: past due, the tier kept for the grace period, an email with the account link
    let past_due = stripe.set_subscription(&sub_id, |s| s["status"] = json!("past_due"));
    let failed = stripe.event("invoice.payment_failed", stripe.invoice(&sub_id, &customer, "open"));
    let (status, receipt) = webhook(&api, &failed).await;
    assert_eq!((status, receipt["outcome"].as_str()), (200, Some("processed")), "{receipt}");
    assert_eq!(tier_of(&env, &ann).await, Tier::Pro, "kept during the grace period");
    let (_, view) = api.send_with(&ann.client(), "GET", "/v1/billing/subscription", None).await;
    assert_eq!(view["subscription"]["status"], "past_due", "{view}");
    assert_eq!(view["subscription"]["latest_invoice_status"], "open");
    assert!(view["subscription"]["tier_until"].is_string(), "{view}");
    let mail = smtp::wait_for(&ann.email, 2, MAIL_WAIT).await;
    let notice = &mail[1];
    assert_eq!(notice.subject, "Kronos: your payment failed");
    assert!(notice.text.contains(&format!("{}/account#billing", env.config.auth.public_url)), "{}", notice.text);
    let token =
        notice.token(&format!("{}/unsubscribe?token=", env.config.auth.public_url)).expect("an unsubscribe link");

    // the grace period passes: the scheduler's review makes it free, once
    tokio::time::sleep(GRACE + Duration::from_millis(500)).await;
    let key = env.config.auth.jwt_keys[0].1.expose().as_bytes().to_vec();
    let links = Links { public_url: &env.config.auth.public_url, unsubscribe_key: &key };
    let grace = chrono::Duration::from_std(GRACE).unwrap();
    assert_eq!(grant::review_due(&mut conn, grace, links, Utc::now()).await.unwrap(), 1);
    assert_eq!(tier_of(&env, &ann).await, Tier::Free);
    assert_eq!(grant::review_due(&mut conn, grace, links, Utc::now()).await.unwrap(), 0, "reviewed once");
    let mail = smtp::wait_for(&ann.email, 3, MAIL_WAIT).await;
    assert_eq!(mail[2].subject, "Kronos: your subscription has ended");

    // Stripe's retry succeeds; an old event still saying past_due arrives late: the
    // subscription is read back, so the account follows Stripe's state, not the event's
    stripe.set_subscription(&sub_id, |s| s["status"] = json!("active"));
    let (status, _) = webhook(&api, &stripe.event("customer.subscription.updated", past_due)).await;
    assert_eq!(status, 200);
    assert_eq!(tier_of(&env, &ann).await, Tier::Pro, "active again");
    let (_, view) = api.send_with(&ann.client(), "GET", "/v1/billing/subscription", None).await;
    assert_eq!(
        (view["subscription"]["status"].as_str(), view["subscription"]["past_due_since"].is_null()),
        (Some("active"), true)
    );
    let entries = audit::list(&mut conn, &filter, 100).await.unwrap();
    assert_eq!(tier_changes(&entries), 3, "pro, free, pro: every change audited");
    let mail = smtp::wait_for(&ann.email, 4, MAIL_WAIT).await;
    assert_eq!(mail[3].subject, "Kronos: your pro subscription is active");

    // the unsubscribe link turns billing emails off (and is no credential)
    let (status, _) = api.send_with(&client_with(&token), "GET", "/v1/me", None).await;
    assert_eq!(status, 401);
    let other_kind = token.replacen(".billing.", ".alerts.", 1);
    let (status, answer) = api.send("POST", &format!("/v1/unsubscribe?token={other_kind}"), None).await;
    assert_eq!((status, answer["error"]["field"].as_str()), (422, Some("token")), "{answer}");
    let (status, answer) = api.send("POST", "/v1/unsubscribe", Some(&json!({"token": token}))).await;
    assert_eq!((status, answer["kind"].as_str()), (200, Some("billing")), "{answer}");
    let (_, me) = api.send_with(&ann.client(), "GET", "/v1/me", None).await;
    assert_eq!(me["notifications"]["billing"], false, "{me}");
    assert_eq!(me["notifications"]["alerts"], true, "only billing emails are off");
    stripe.set_subscription(&sub_id, |s| s["cancel_at_period_end"] = json!(true));
    let (status, _) = webhook(&api, &stripe.event("customer.subscription.updated", json!({"id": sub_id}))).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, view) = api.send_with(&ann.client(), "GET", "/v1/billing/subscription", None).await;
    assert_eq!(view["subscription"]["cancel_at_period_end"], true, "{view}");
    assert_eq!(smtp::messages_to(&ann.email).len(), 4, "no billing email once unsubscribed");

    // another user sees only their own
    let (_, view) = api.send_with(&bob.client(), "GET", "/v1/billing/subscription", None).await;
    assert_eq!((view["tier"].as_str(), view["subscription"].is_null()), (Some("free"), true), "{view}");
}
