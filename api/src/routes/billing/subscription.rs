//! `GET /v1/billing/subscription`: the caller's tier and subscription.

use axum::{extract::State, Json};
use kronos_db::{billing as rows, users};

use crate::{
    auth::Caller,
    dto::billing::{BillingView, SubscriptionView},
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/billing/subscription", operation_id = "getSubscription",
    tag = "billing",
    responses(
        (status = 200, description = "The caller's tier, and their subscription as last read from Stripe", body = crate::dto::billing::BillingView),
        (status = "4XX", description = "401: not logged in", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn show(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<BillingView>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let user = users::find(&mut conn, caller.user_id).await?.ok_or_else(|| ApiError::not_found("user not found"))?;
    let subscription = rows::subscription_of(&mut conn, user.id).await?;
    let billing = &state.config.billing;
    Ok(Json(BillingView {
        billing_enabled: state.billing.is_some(),
        tier: user.tier,
        tiers_on_sale: if state.billing.is_some() {
            billing.prices.iter().map(|(t, _)| *t).collect()
        } else {
            Vec::new()
        },
        subscription: subscription.as_ref().map(SubscriptionView::from),
    }))
}
