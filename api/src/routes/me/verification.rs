//! `POST /v1/me/email-verification`: send the verification link again.

use axum::{extract::State, http::StatusCode, Json};
use kronos_db::users;

use crate::{
    accounts,
    auth::Caller,
    dto::auth::Pending,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/me/email-verification", operation_id = "resendVerification",
    tag = "me",
    responses(
        (status = 202, description = "A new link is on its way (earlier links stop working)", body = crate::dto::auth::Pending),
        (status = "4XX", description = "409: the address is already verified", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn resend(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<(StatusCode, Json<Pending>)> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let user = users::find(&mut conn, caller.user_id).await?.ok_or_else(|| ApiError::not_found("account not found"))?;
    if user.verified() {
        return Err(ApiError::conflict("already_verified", "this address is already verified"));
    }
    accounts::register::send_verification(
        &mut conn,
        &user,
        &state.config.auth.public_url,
        state.config.auth.verify_link,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(Pending { status: "email_sent", message: "a new verification link is on its way" })))
}
