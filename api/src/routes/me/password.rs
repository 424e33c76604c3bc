//! `POST /v1/me/password`: change the password (the current one is checked); every
//! other session ends.

use axum::{extract::State, http::StatusCode};

use crate::{
    accounts,
    auth::{Caller, Client},
    dto::me::ChangePassword,
    error::ApiResult,
    extract::ValidJson,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/me/password", operation_id = "changePassword",
    tag = "me",
    request_body = crate::dto::me::ChangePassword,
    responses(
        (status = 204, description = "Changed; every other session ended"),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn change(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: Client,
    ValidJson { value: request, .. }: ValidJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    accounts::reset::change(&state, &caller, &request.current_password, &request.new_password, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
