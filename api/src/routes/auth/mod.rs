//! `/v1/auth/*`: registration, address verification, login, refresh, logout and
//! password reset. Public routes: each does its own checks (rate limits, tokens).

pub mod login;
pub mod logout;
pub mod password_reset;
pub mod refresh;
pub mod register;
pub mod verify_email;

use axum::{
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use crate::{
    accounts::sessions::Tokens,
    auth::cookies::{self, SessionCookies},
    dto::{
        auth::{Session, SessionMode},
        me::MeView,
    },
    error::ApiError,
    state::AppState,
};

/// The answer to a login or a refresh: the tokens in the body, or in cookies.
pub(crate) fn session_response(state: &AppState, tokens: Tokens, mode: SessionMode) -> Response {
    let cookie = mode == SessionMode::Cookie;
    let body = Session {
        token_type: "Bearer",
        access_token: (!cookie).then(|| tokens.access.clone()),
        expires_in: tokens.access_ttl.as_secs(),
        refresh_token: (!cookie).then(|| tokens.refresh.clone()),
        refresh_expires_in: tokens.refresh_ttl.as_secs(),
        user: MeView::from(&tokens.user),
    };
    let mut response = (StatusCode::OK, Json(body)).into_response();
    if cookie {
        SessionCookies {
            access: &tokens.access,
            access_ttl: tokens.access_ttl,
            refresh: &tokens.refresh,
            refresh_ttl: tokens.refresh_ttl,
            csrf: &tokens.csrf,
            secure: state.config.auth.secure_cookies,
        }
        .apply(response.headers_mut());
    }
    response
}

/// The refresh token of a request: the body's, else the cookie's (which, like every
/// cookie-authenticated change, must echo the CSRF cookie).
pub(crate) fn refresh_token<'a>(
    body: Option<&'a str>,
    headers: &'a HeaderMap,
) -> Result<Option<(&'a str, SessionMode)>, ApiError> {
    if let Some(token) = body {
        return Ok(Some((token, SessionMode::Token)));
    }
    let Some(token) = cookies::read(headers, cookies::REFRESH) else { return Ok(None) };
    let csrf_cookie = cookies::read(headers, cookies::CSRF);
    let csrf_header = headers.get(cookies::CSRF_HEADER).and_then(|v| v.to_str().ok());
    match (csrf_cookie, csrf_header) {
        (Some(c), Some(h)) if kronos_auth::secret::constant_time_eq(c, h) => Ok(Some((token, SessionMode::Cookie))),
        _ => Err(ApiError::forbidden("csrf", "send the kronos_csrf cookie's value in the X-CSRF-Token header")),
    }
}
