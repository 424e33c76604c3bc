//! `POST /v1/auth/register`: create an account; a verification link goes to the
//! address. The answer is the same whether or not the address was registered.

use axum::{extract::State, http::StatusCode, Json};

use crate::{
    accounts,
    auth::Client,
    dto::auth::{Pending, RegisterRequest},
    error::ApiResult,
    extract::ValidJson,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/auth/register", operation_id = "register",
    tag = "auth",
    request_body = crate::dto::auth::RegisterRequest,
    responses(
        (status = 202, description = "A verification link was sent (when the address is new)", body = crate::dto::auth::Pending),
        (status = "4XX", description = "Refused; the body names the field (429: too many registrations from this address)", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    client: Client,
    ValidJson { value: request, .. }: ValidJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<Pending>)> {
    accounts::register::register(&state, &request, &client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Pending {
            status: "email_sent",
            message: "if the address can be registered, a verification link is on its way; follow it, then log in",
        }),
    ))
}
