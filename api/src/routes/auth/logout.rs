//! `POST /v1/auth/logout`: ends the session of the refresh token sent (or of the
//! caller's access token) and clears the session cookies.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};

use super::refresh_token;
use crate::{
    accounts,
    auth::{cookies::SessionCookies, extract::MaybeCaller, Client},
    dto::auth::RefreshRequest,
    error::ApiResult,
    extract::ValidJson,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/auth/logout", operation_id = "logout",
    tag = "auth",
    request_body = crate::dto::auth::RefreshRequest,
    responses(
        (status = 204, description = "The session is over (also when it already was)"),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    client: Client,
    headers: HeaderMap,
    ValidJson { value: request, .. }: ValidJson<RefreshRequest>,
) -> ApiResult<Response> {
    let token = refresh_token(request.refresh_token.as_deref(), &headers)?.map(|(t, _)| t);
    accounts::sessions::logout(&state, token, caller.as_ref(), &client).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    SessionCookies::cleared(state.config.auth.secure_cookies).apply(response.headers_mut());
    Ok(response)
}
