//! `POST /v1/auth/refresh`: the next access and refresh tokens of a session (the
//! refresh token is single-use; presenting a used one ends the session).

use axum::{extract::State, http::HeaderMap, response::Response};

use super::{refresh_token, session_response};
use crate::{
    accounts,
    auth::Client,
    dto::auth::RefreshRequest,
    error::{ApiError, ApiResult},
    extract::ValidJson,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/auth/refresh", operation_id = "refreshSession",
    tag = "auth",
    request_body = crate::dto::auth::RefreshRequest,
    responses(
        (status = 200, description = "The session's next tokens", body = crate::dto::auth::Session),
        (status = "4XX", description = "401: the refresh token is invalid, used (the session is now revoked) or expired", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    ValidJson { value: request, .. }: ValidJson<RefreshRequest>,
) -> ApiResult<Response> {
    let (token, mode) = refresh_token(request.refresh_token.as_deref(), &headers)?
        .ok_or_else(|| ApiError::invalid("refresh_token", "send the refresh token (or the session cookie)"))?;
    let tokens = accounts::sessions::refresh(&state, token, &client).await?;
    Ok(session_response(&state, tokens, mode))
}
