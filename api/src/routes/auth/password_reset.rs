//! `POST /v1/auth/password-reset` (a link by email, the same answer for any address)
//! and `POST /v1/auth/password-reset/confirm` (the link's token and a new password;
//! every session ends).

use axum::{extract::State, http::StatusCode, Json};

use crate::{
    accounts,
    auth::Client,
    dto::auth::{Pending, ResetConfirm, ResetRequest},
    error::ApiResult,
    extract::ValidJson,
    state::AppState,
};

/// Handler of the request.
#[utoipa::path(
    post,
    path = "/v1/auth/password-reset", operation_id = "requestPasswordReset",
    tag = "auth",
    request_body = crate::dto::auth::ResetRequest,
    responses(
        (status = 202, description = "A reset link was sent (when the address has an account)", body = crate::dto::auth::Pending),
        (status = "4XX", description = "Refused; the body names the field (429: too many requests)", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn request(
    State(state): State<AppState>,
    client: Client,
    ValidJson { value: request, .. }: ValidJson<ResetRequest>,
) -> ApiResult<(StatusCode, Json<Pending>)> {
    accounts::reset::request(&state, &request.email, &client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Pending { status: "email_sent", message: "if the address has an account, a reset link is on its way" }),
    ))
}

/// Handler of the confirmation.
#[utoipa::path(
    post,
    path = "/v1/auth/password-reset/confirm", operation_id = "confirmPasswordReset",
    tag = "auth",
    request_body = crate::dto::auth::ResetConfirm,
    responses(
        (status = 204, description = "The password is set; every session ended"),
        (status = "4XX", description = "Refused: the link is invalid, used or expired (`token`), or the password breaks the rule (`password`)", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn confirm(
    State(state): State<AppState>,
    client: Client,
    ValidJson { value: request, .. }: ValidJson<ResetConfirm>,
) -> ApiResult<StatusCode> {
    accounts::reset::confirm(&state, &request.token, &request.password, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
