//! `POST /v1/billing/checkout`: a Stripe Checkout Session for a paid tier.

use axum::{extract::State, Json};
use kronos_db::{billing as rows, users};
use kronos_types::{accounts::Tier, billing::SubscriptionStatus};

use crate::{
    auth::Caller,
    billing,
    dto::billing::{CheckoutRequest, RedirectUrl},
    error::{ApiError, ApiResult},
    extract::ValidJson,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/billing/checkout", operation_id = "createCheckout",
    tag = "billing",
    request_body = crate::dto::billing::CheckoutRequest,
    responses(
        (status = 200, description = "The Stripe Checkout page to send the browser to", body = crate::dto::billing::RedirectUrl),
        (status = "4XX", description = "422: not a tier on sale; 409: already subscribed (change plan in the portal); 404: billing is not configured; 401/403: not logged in with a session", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "503: Stripe is unavailable; 502: Stripe refused", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn checkout(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ValidJson { value: request, .. }: ValidJson<CheckoutRequest>,
) -> ApiResult<Json<RedirectUrl>> {
    let stripe = billing::stripe(&state)?;
    if request.tier == Tier::Free || stripe.config().price(request.tier).is_none() {
        let on_sale: Vec<&str> = stripe.config().prices.iter().map(|(t, _)| t.as_str()).collect();
        return Err(ApiError::invalid("tier", format!("expected one of the tiers on sale: {}", on_sale.join(", "))));
    }
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let user = users::find(&mut conn, caller.user_id).await?.ok_or_else(|| ApiError::not_found("user not found"))?;
    let current = rows::subscription_of(&mut conn, user.id).await?;
    drop(conn);
    if current.is_some_and(|s| {
        matches!(s.status, SubscriptionStatus::Active | SubscriptionStatus::Trialing | SubscriptionStatus::PastDue)
    }) {
        return Err(ApiError::conflict(
            "already_subscribed",
            "you already have a subscription: change plan or cancel in the customer portal (POST /v1/billing/portal)",
        ));
    }
    let customer = billing::customer(&state, &user).await?;
    let public = &state.config.auth.public_url;
    let url = stripe
        .checkout_url(
            &customer,
            user.id,
            request.tier,
            &format!("{public}/account?checkout=done#billing"),
            &format!("{public}/account?checkout=cancelled#billing"),
        )
        .await?;
    Ok(Json(RedirectUrl { url }))
}
