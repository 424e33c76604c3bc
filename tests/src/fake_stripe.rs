//! A local HTTP server that answers like Stripe's API, in its documented formats, for
//! what the platform calls: `POST /v1/customers`, `POST /v1/checkout/sessions`,
//! `POST /v1/billing_portal/sessions` and `GET /v1/subscriptions/{id}` (form-encoded
//! requests with a bearer secret key, `Idempotency-Key` honoured, errors as
//! `{"error": {"type", "code", "param", "message"}}`). Tests play the customer's side
//! (`complete_checkout`, `set_subscription`) and Stripe's webhooks (`event`, `sign`:
//! the documented `Stripe-Signature` scheme).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Form, Json, Router,
};
use serde_json::{json, Value};

/// The secret key the server accepts.
pub const SECRET_KEY: &str = "sk_test_kronos_fake_0123456789";
/// The webhook endpoint's signing secret the tests sign with.
pub const WEBHOOK_SECRET: &str = "whsec_kronos_fake_0123456789";

#[derive(Default)]
struct Shared {
    prices: Vec<String>,
    customers: HashMap<String, Value>,
    sessions: HashMap<String, Value>,
    subscriptions: HashMap<String, Value>,
    idempotent: HashMap<String, Value>,
    next: u64,
    /// Every API request: method and path.
    calls: Vec<String>,
}

impl Shared {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_test{:08}", self.next)
    }
}

/// A running fake Stripe.
#[derive(Clone)]
pub struct FakeStripe {
    /// Base URL (`KRONOS_STRIPE_API_BASE`).
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn error(status: StatusCode, kind: &str, code: Option<&str>, param: Option<&str>, message: &str) -> Response {
    let body = json!({"error": {"type": kind, "code": code, "param": param, "message": message,
                                "doc_url": code.map(|c| format!("https://stripe.com/docs/error-codes/{c}")),
                                "request_log_url": "https://dashboard.stripe.com/test/logs/req_test"}});
    (status, Json(body)).into_response()
}

fn missing(param: &str, what: &str, id: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("resource_missing"),
        Some(param),
        &format!("No such {what}: '{id}'"),
    )
}

impl FakeStripe {
    /// Starts a server selling `prices` (price ids).
    pub async fn start(prices: &[&str]) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            prices: prices.iter().map(|p| (*p).to_owned()).collect(),
            ..Shared::default()
        }));
        let app = Router::new()
            .route("/v1/customers", post(create_customer))
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/billing_portal/sessions", post(create_portal))
            .route("/v1/subscriptions/{id}", get(retrieve_subscription))
            .layer(axum::middleware::from_fn_with_state(shared.clone(), authenticate))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake stripe");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared }
    }

    /// The customer pays at the Checkout Session: its subscription starts (`active`,
    /// a month paid for). Returns the subscription's id and the session object.
    pub fn complete_checkout(&self, session_id: &str) -> (String, Value) {
        let mut s = self.shared.lock().expect("lock");
        let session = s.sessions.get(session_id).cloned().expect("a session of this server");
        let sub_id = s.id("sub");
        let item_id = s.id("si");
        let price = session["metadata"]["price"].as_str().expect("price").to_owned();
        let (start, end) = (now(), now() + 30 * 86_400);
        let plan = json!({"id": price, "object": "plan", "active": true, "amount": 9900, "amount_decimal": "9900",
            "billing_scheme": "per_unit", "created": start, "currency": "usd", "interval": "month",
            "interval_count": 1, "livemode": false, "metadata": {}, "meter": null, "nickname": null,
            "product": "prod_test_kronos", "tiers_mode": null, "transform_usage": null,
            "trial_period_days": null, "usage_type": "licensed"});
        let price_object = json!({"id": price, "object": "price", "active": true, "billing_scheme": "per_unit",
            "created": start, "currency": "usd", "custom_unit_amount": null, "livemode": false,
            "lookup_key": null, "metadata": {}, "nickname": null, "product": "prod_test_kronos",
            "recurring": {"interval": "month", "interval_count": 1, "meter": null,
                          "trial_period_days": null, "usage_type": "licensed"},
            "tax_behavior": "unspecified", "tiers_mode": null, "transform_quantity": null,
            "type": "recurring", "unit_amount": 9900, "unit_amount_decimal": "9900"});
        let item = json!({
            "id": item_id, "object": "subscription_item", "billing_thresholds": null, "created": start,
            "current_period_end": end, "current_period_start": start, "discounts": [], "metadata": {},
            "plan": plan, "price": price_object, "quantity": 1, "subscription": sub_id, "tax_rates": []
        });
        let subscription = json!({
            "id": sub_id, "object": "subscription", "application": null, "application_fee_percent": null,
            "automatic_tax": {"enabled": false, "disabled_reason": null, "liability": null},
            "billing_cycle_anchor": start, "billing_cycle_anchor_config": null,
            "billing_mode": {"type": "classic", "flexible": null, "updated_at": null}, "billing_schedules": [],
            "billing_thresholds": null, "cancel_at": null, "cancel_at_period_end": false, "canceled_at": null,
            "cancellation_details": {"comment": null, "feedback": null, "reason": null},
            "collection_method": "charge_automatically", "created": start, "currency": "usd",
            "customer": session["customer"], "days_until_due": null, "default_payment_method": "pm_test_card",
            "default_source": null, "default_tax_rates": [], "description": null, "discounts": [], "ended_at": null,
            "invoice_settings": {"account_tax_ids": null, "issuer": {"type": "self"}},
            "items": {"object": "list", "has_more": false, "url": format!("/v1/subscription_items?subscription={sub_id}"),
                      "data": [item]},
            "latest_invoice": "in_test_first", "livemode": false, "metadata": {},
            "next_pending_invoice_item_invoice": null, "on_behalf_of": null, "pause_collection": null,
            "payment_settings": {"payment_method_options": null, "payment_method_types": null,
                                 "save_default_payment_method": "off"},
            "pending_invoice_item_interval": null, "pending_setup_intent": null, "pending_update": null,
            "schedule": null, "start_date": start, "status": "active", "test_clock": null,
            "transfer_data": null, "trial_end": null, "trial_settings": null, "trial_start": null
        });
        s.subscriptions.insert(sub_id.clone(), subscription);
        let mut completed = session.clone();
        completed["status"] = json!("complete");
        completed["payment_status"] = json!("paid");
        completed["subscription"] = json!(sub_id);
        s.sessions.insert(session_id.to_owned(), completed.clone());
        (sub_id, completed)
    }

    /// Changes a subscription as Stripe would (status, price, cancellation).
    pub fn set_subscription(&self, id: &str, change: impl FnOnce(&mut Value)) -> Value {
        let mut s = self.shared.lock().expect("lock");
        let sub = s.subscriptions.get_mut(id).expect("a subscription of this server");
        change(sub);
        sub.clone()
    }

    /// The Checkout Session at `url`.
    pub fn session_by_url(&self, url: &str) -> Value {
        let s = self.shared.lock().expect("lock");
        s.sessions.values().find(|v| v["url"] == url).cloned().expect("a session with this url")
    }

    /// Every API call so far (`METHOD /path`).
    pub fn calls(&self) -> Vec<String> {
        self.shared.lock().expect("lock").calls.clone()
    }

    /// A webhook event of `kind` about `object`, as Stripe sends it.
    pub fn event(&self, kind: &str, object: Value) -> Value {
        let id = self.shared.lock().expect("lock").id("evt");
        json!({"id": id, "object": "event", "api_version": "2025-09-30.clover", "created": now(),
               "data": {"object": object, "previous_attributes": null}, "livemode": false, "pending_webhooks": 1,
               "request": {"id": null, "idempotency_key": null}, "type": kind})
    }

    /// An invoice of `subscription` with `status`, in the current API version's shape.
    pub fn invoice(&self, subscription: &str, customer: &str, status: &str) -> Value {
        let id = self.shared.lock().expect("lock").id("in");
        json!({"id": id, "object": "invoice", "customer": customer, "status": status, "amount_due": 9900,
               "amount_paid": if status == "paid" { 9900 } else { 0 }, "currency": "usd", "created": now(),
               "attempt_count": 1, "attempted": true, "billing_reason": "subscription_cycle",
               "parent": {"type": "subscription_details", "quote_details": null,
                          "subscription_details": {"metadata": {}, "subscription": subscription}}})
    }
}

/// The documented `Stripe-Signature` header of `body` signed with `secret` at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    kronos_auth::signature::sign(secret, timestamp, body.as_bytes())
}

async fn authenticate(
    State(shared): State<Arc<Mutex<Shared>>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let call = format!("{} {}", req.method(), req.uri().path());
    let authorized =
        req.headers().get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {SECRET_KEY}"));
    shared.lock().expect("lock").calls.push(call);
    if !authorized {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            None,
            "Invalid API Key provided: sk_test_****",
        );
    }
    next.run(req).await
}

/// Replays the answer of an earlier request with the same `Idempotency-Key`.
fn replay(s: &Shared, headers: &HeaderMap) -> Option<Response> {
    let key = headers.get("idempotency-key")?.to_str().ok()?;
    s.idempotent.get(key).map(|v| Json(v.clone()).into_response())
}

fn remember(s: &mut Shared, headers: &HeaderMap, answer: &Value) {
    if let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        s.idempotent.insert(key.to_owned(), answer.clone());
    }
}

async fn create_customer(
    State(shared): State<Arc<Mutex<Shared>>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut s = shared.lock().expect("lock");
    if let Some(answer) = replay(&s, &headers) {
        return answer;
    }
    let id = s.id("cus");
    let customer = json!({
        "id": id, "object": "customer", "address": null, "balance": 0, "created": now(), "currency": null,
        "default_source": null, "delinquent": false, "description": null, "discount": null,
        "email": form.get("email"), "invoice_prefix": "KRNS0001",
        "invoice_settings": {"custom_fields": null, "default_payment_method": null, "footer": null, "rendering_options": null},
        "livemode": false, "metadata": {"kronos_user_id": form.get("metadata[kronos_user_id]")}, "name": null,
        "next_invoice_sequence": 1, "phone": null, "preferred_locales": [], "shipping": null, "tax_exempt": "none",
        "test_clock": null
    });
    s.customers.insert(id, customer.clone());
    remember(&mut s, &headers, &customer);
    Json(customer).into_response()
}

/// The request's `customer`, when this server made it; else Stripe's `resource_missing`.
fn known_customer(s: &Shared, form: &HashMap<String, String>) -> Result<String, Box<Response>> {
    let customer = form.get("customer").cloned().unwrap_or_default();
    if s.customers.contains_key(&customer) {
        Ok(customer)
    } else {
        Err(Box::new(missing("customer", "customer", &customer)))
    }
}

async fn create_session(
    State(shared): State<Arc<Mutex<Shared>>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut s = shared.lock().expect("lock");
    let customer = match known_customer(&s, &form) {
        Ok(customer) => customer,
        Err(answer) => return *answer,
    };
    if form.get("mode").map(String::as_str) != Some("subscription") {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("parameter_invalid_empty"),
            Some("mode"),
            "mode: expected subscription",
        );
    }
    let price = form.get("line_items[0][price]").cloned().unwrap_or_default();
    if !s.prices.contains(&price) {
        return missing("line_items[0][price]", "price", &price);
    }
    let id = s.id("cs");
    let session = json!({
        "id": id, "object": "checkout.session", "adaptive_pricing": null, "after_expiration": null,
        "allow_promotion_codes": null, "amount_subtotal": 9900, "amount_total": 9900,
        "automatic_tax": {"enabled": false, "liability": null, "provider": null, "status": null},
        "billing_address_collection": null, "cancel_url": form.get("cancel_url"),
        "client_reference_id": form.get("client_reference_id"), "client_secret": null, "consent": null,
        "consent_collection": null, "created": now(), "currency": "usd", "custom_fields": [],
        "custom_text": {"after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null},
        "customer": customer, "customer_creation": null, "customer_details": null, "customer_email": null,
        "expires_at": now() + 86_400, "invoice": null, "invoice_creation": null, "livemode": false, "locale": null,
        "metadata": {"kronos_user_id": form.get("metadata[kronos_user_id]"), "price": price},
        "mode": "subscription", "payment_intent": null, "payment_link": null,
        "payment_method_collection": "always", "payment_method_configuration_details": null,
        "payment_method_options": {}, "payment_method_types": ["card"], "payment_status": "unpaid",
        "phone_number_collection": {"enabled": false}, "recovered_from": null, "saved_payment_method_options": null,
        "setup_intent": null, "shipping_address_collection": null, "shipping_cost": null, "shipping_options": [],
        "status": "open", "submit_type": null, "subscription": null, "success_url": form.get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}, "ui_mode": "hosted",
        "url": format!("https://checkout.stripe.com/c/pay/{id}")
    });
    s.sessions.insert(id, session.clone());
    Json(session).into_response()
}

async fn create_portal(
    State(shared): State<Arc<Mutex<Shared>>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut s = shared.lock().expect("lock");
    let customer = match known_customer(&s, &form) {
        Ok(customer) => customer,
        Err(answer) => return *answer,
    };
    let id = s.id("bps");
    Json(json!({
        "id": id, "object": "billing_portal.session", "configuration": "bpc_test_default", "created": now(),
        "customer": customer, "flow": null, "livemode": false, "locale": null, "on_behalf_of": null,
        "return_url": form.get("return_url"), "url": format!("https://billing.stripe.com/p/session/{id}")
    }))
    .into_response()
}

async fn retrieve_subscription(State(shared): State<Arc<Mutex<Shared>>>, Path(id): Path<String>) -> Response {
    let s = shared.lock().expect("lock");
    match s.subscriptions.get(&id) {
        Some(sub) => Json(sub.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("resource_missing"),
            Some("id"),
            &format!("No such subscription: '{id}'"),
        ),
    }
}
