//! `POST /v1/billing/portal`: a Stripe Customer Portal session (change plan, cancel,
//! update the card).

use axum::{extract::State, Json};
use kronos_db::billing as rows;

use crate::{auth::Caller, billing, dto::billing::RedirectUrl, error::ApiError, error::ApiResult, state::AppState};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/billing/portal", operation_id = "createPortalSession",
    tag = "billing",
    responses(
        (status = 200, description = "The Stripe Customer Portal page to send the browser to", body = crate::dto::billing::RedirectUrl),
        (status = "4XX", description = "409: no subscription yet (subscribe first); 404: billing is not configured; 401/403: not logged in with a session", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "503: Stripe is unavailable; 502: Stripe refused", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn portal(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<RedirectUrl>> {
    let stripe = billing::stripe(&state)?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let Some(customer) = rows::customer_of(&mut conn, caller.user_id).await? else {
        return Err(ApiError::conflict("no_subscription", "subscribe first (POST /v1/billing/checkout)"));
    };
    drop(conn);
    let url = stripe.portal_url(&customer, &format!("{}/account#billing", state.config.auth.public_url)).await?;
    Ok(Json(RedirectUrl { url }))
}
