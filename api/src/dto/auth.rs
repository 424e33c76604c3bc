//! `/v1/auth/*`: registration, address verification, login, token refresh, logout and
//! password reset.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::me::MeView;

/// `POST /v1/auth/register`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Email address (the login); a verification link is sent to it.
    #[schema(example = "ann@example.com")]
    pub email: String,
    /// At least 10 characters, at most 128 bytes, 3 different characters or more, not a
    /// common password and not containing the address's name part.
    #[schema(example = "a long enough phrase")]
    pub password: String,
    /// Name shown.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// The answer to a registration or a reset request: the same whether or not the
/// address has an account, so that neither tells who is registered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pending {
    /// `email_sent`.
    #[schema(example = "email_sent")]
    pub status: &'static str,
    /// What happens next.
    pub message: &'static str,
}

/// `POST /v1/auth/verify-email` and `POST /v1/auth/password-reset/confirm` take the
/// token of the emailed link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    /// The `token` parameter of the emailed link.
    pub token: String,
}

/// An address verified.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verified {
    /// Always true.
    pub verified: bool,
}

/// `POST /v1/auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
    /// `token` (default): the tokens come in the body. `cookie`: they come as
    /// `HttpOnly` cookies (for the browser) and the body holds none; state-changing
    /// requests then send the `kronos_csrf` cookie's value in `X-CSRF-Token`.
    #[serde(default)]
    pub session: SessionMode,
}

/// Where a session's tokens travel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionMode {
    /// In the body; the client sends `Authorization: Bearer`.
    #[default]
    Token,
    /// In cookies.
    Cookie,
}

/// `POST /v1/auth/refresh` and `POST /v1/auth/logout` (a cookie session sends an empty
/// object: the refresh token is in its cookie).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token (single-use: each refresh returns the next one).
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// A session's tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// `Bearer`.
    pub token_type: &'static str,
    /// The access token (absent in cookie mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// The refresh token (absent in cookie mode): single-use, each refresh returns the
    /// next; using one twice ends the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds the refresh token lives.
    pub refresh_expires_in: u64,
    /// The account.
    pub user: MeView,
}

/// `POST /v1/auth/password-reset`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The account's address; a reset link is sent when it has one.
    pub email: String,
}

/// `POST /v1/auth/password-reset/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    /// The `token` parameter of the emailed link.
    pub token: String,
    /// The new password (the registration rule).
    pub password: String,
}
