//! `POST /v1/auth/verify-email`: the token of the emailed link verifies the address
//! (once).

use axum::{extract::State, Json};

use crate::{
    accounts,
    auth::Client,
    dto::auth::{Verified, VerifyEmailRequest},
    error::ApiResult,
    extract::ValidJson,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/auth/verify-email", operation_id = "verifyEmail",
    tag = "auth",
    request_body = crate::dto::auth::VerifyEmailRequest,
    responses(
        (status = 200, description = "The address is verified", body = crate::dto::auth::Verified),
        (status = "4XX", description = "Refused: the link is invalid, used or expired (field `token`)", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn verify_email(
    State(state): State<AppState>,
    client: Client,
    ValidJson { value: request, .. }: ValidJson<VerifyEmailRequest>,
) -> ApiResult<Json<Verified>> {
    accounts::register::verify(&state, &request.token, &client).await?;
    Ok(Json(Verified { verified: true }))
}
