//! `POST /v1/billing/webhook`: Stripe's events. The `Stripe-Signature` header is
//! verified against the raw body before anything is read or stored (a forged, stale
//! or malformed request is a `400` and changes nothing); each event is then applied
//! once (`crate::billing::handle`). A failure to apply answers `5xx`, so Stripe retries.

use axum::{body::Bytes, extract::State, http::HeaderMap, Json};
use chrono::Utc;
use kronos_auth::signature::{self, DEFAULT_TOLERANCE_SECS};
use kronos_billing::event::Event;

use crate::{
    billing::{self, Outcome},
    dto::billing::WebhookReceipt,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/billing/webhook", operation_id = "stripeWebhook",
    tag = "billing",
    request_body(content = Object, description = "A Stripe event, as Stripe sends it (signed in `Stripe-Signature`)", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256 of 't.body'>`")),
    responses(
        (status = 200, description = "Received (processed now, processed before, or a type not acted on)", body = crate::dto::billing::WebhookReceipt),
        (status = "4XX", description = "400: no valid signature, or not an event; 404: billing is not configured", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "503: Stripe is unavailable (Stripe retries)", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<WebhookReceipt>> {
    billing::stripe(&state)?;
    let secrets: Vec<&str> = state.config.billing.webhook_secrets.iter().map(|s| s.expose()).collect();
    if secrets.is_empty() {
        return Err(ApiError::billing_disabled());
    }
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::from_status(axum::http::StatusCode::BAD_REQUEST, "no Stripe-Signature header"))?;
    if let Err(why) = signature::verify(header, &body, &secrets, Utc::now().timestamp(), DEFAULT_TOLERANCE_SECS) {
        tracing::warn!(%why, "webhook refused");
        return Err(ApiError::from_status(axum::http::StatusCode::BAD_REQUEST, format!("webhook refused: {why}")));
    }
    let event = Event::parse(&body)
        .map_err(|e| ApiError::from_status(axum::http::StatusCode::BAD_REQUEST, format!("webhook refused: {e}")))?;
    let outcome = billing::handle(&state, &event).await?;
    tracing::info!(event = %event.id, kind = %event.event_type, ?outcome, "webhook");
    let outcome = match outcome {
        Outcome::Processed => "processed",
        Outcome::Duplicate => "duplicate",
        Outcome::Ignored => "ignored",
    };
    Ok(Json(WebhookReceipt { received: true, outcome: outcome.to_owned() }))
}
