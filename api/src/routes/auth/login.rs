//! `POST /v1/auth/login`: a new session. Every failure answers the same `401`.

use axum::{extract::State, response::Response};

use super::session_response;
use crate::{accounts, auth::Client, dto::auth::LoginRequest, error::ApiResult, extract::ValidJson, state::AppState};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/auth/login", operation_id = "login",
    tag = "auth",
    request_body = crate::dto::auth::LoginRequest,
    responses(
        (status = 200, description = "Logged in: the access and refresh tokens (or cookies)", body = crate::dto::auth::Session),
        (status = "4XX", description = "401: wrong address or password; 429: too many attempts", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: Client,
    ValidJson { value: request, .. }: ValidJson<LoginRequest>,
) -> ApiResult<Response> {
    let tokens = accounts::sessions::login(&state, &request.email, &request.password, &client).await?;
    Ok(session_response(&state, tokens, request.session))
}
