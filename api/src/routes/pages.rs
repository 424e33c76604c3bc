//! The pages the emailed links open, plain HTML without scripts: `GET /verify-email`
//! shows a button that posts the link's token and `POST /verify-email` verifies the
//! address; `GET /reset-password` asks for a new password and `POST /reset-password`
//! sets it. A `GET` never uses a token up (mail scanners open links); the token is
//! used by the form's `POST`, once.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    Form,
};
use kronos_email::escape;
use serde::Deserialize;

use crate::{accounts, auth::Client, state::AppState};

/// A link's query, or a form with only its token.
#[derive(Debug, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct LinkToken {
    /// The `token` parameter of the emailed link.
    #[serde(default)]
    pub token: String,
}

/// The reset form.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResetForm {
    /// The link's token.
    #[serde(default)]
    pub token: String,
    /// The new password.
    #[serde(default)]
    pub password: String,
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title} — Kronos</title></head>\n<body>\n<h1>{title}</h1>\n{body}\n</body></html>\n",
        title = escape(title),
    );
    (status, Html(html)).into_response()
}

/// `GET /verify-email?token=`.
#[utoipa::path(
    get,
    path = "/verify-email", operation_id = "verifyEmailPage",
    tag = "auth",
    params(LinkToken),
    responses(
        (status = 200, description = "A page whose button verifies the address", body = String, content_type = "text/html"),
        (status = "4XX", description = "A credential was sent that does not authenticate", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn verify_page(Query(link): Query<LinkToken>) -> Response {
    let body = format!(
        "<p>Confirm that this address is yours.</p>\n<form method=\"post\" action=\"/verify-email\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\"><button type=\"submit\">Verify my address</button></form>",
        escape(&link.token)
    );
    page(StatusCode::OK, "Verify your email address", &body)
}

/// `POST /verify-email` (the page's form).
#[utoipa::path(
    post,
    path = "/verify-email", operation_id = "verifyEmailForm",
    tag = "auth",
    request_body(content = LinkToken, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Verified", body = String, content_type = "text/html"),
        (status = 422, description = "The link is invalid, used or expired", body = String, content_type = "text/html"),
        (status = "4XX", description = "Refused", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn verify_form(State(state): State<AppState>, client: Client, Form(form): Form<LinkToken>) -> Response {
    match accounts::register::verify(&state, &form.token, &client).await {
        Ok(()) => {
            page(StatusCode::OK, "Address verified", "<p>Your address is verified: you can now ask for forecasts.</p>")
        }
        Err(e) if e.status().is_client_error() => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "This link does not work",
            "<p>It is invalid, was used already, or expired. Ask for a new one from your account.</p>",
        ),
        Err(e) => e.into_response(),
    }
}

/// `GET /reset-password?token=`.
#[utoipa::path(
    get,
    path = "/reset-password", operation_id = "resetPasswordPage",
    tag = "auth",
    params(LinkToken),
    responses(
        (status = 200, description = "A page that asks for the new password", body = String, content_type = "text/html"),
        (status = "4XX", description = "A credential was sent that does not authenticate", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn reset_page(Query(link): Query<LinkToken>) -> Response {
    let body = format!(
        "<form method=\"post\" action=\"/reset-password\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
         <label>New password (at least 10 characters) <input type=\"password\" name=\"password\" minlength=\"10\" \
         autocomplete=\"new-password\" required></label> <button type=\"submit\">Set the password</button></form>",
        escape(&link.token)
    );
    page(StatusCode::OK, "Choose a new password", &body)
}

/// `POST /reset-password` (the page's form).
#[utoipa::path(
    post,
    path = "/reset-password", operation_id = "resetPasswordForm",
    tag = "auth",
    request_body(content = ResetForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The password is set; every session ended", body = String, content_type = "text/html"),
        (status = 422, description = "The link does not work, or the password breaks the rule", body = String, content_type = "text/html"),
        (status = "4XX", description = "Refused", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn reset_form(State(state): State<AppState>, client: Client, Form(form): Form<ResetForm>) -> Response {
    match accounts::reset::confirm(&state, &form.token, &form.password, &client).await {
        Ok(()) => page(StatusCode::OK, "Password changed", "<p>Log in with your new password.</p>"),
        Err(e) if e.field() == Some("password") => {
            let body = format!(
                "<p>{}</p><p><a href=\"/reset-password?token={}\">Try another password</a></p>",
                escape(e.message()),
                escape(&form.token)
            );
            page(StatusCode::UNPROCESSABLE_ENTITY, "Choose another password", &body)
        }
        Err(e) if e.status().is_client_error() => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "This link does not work",
            "<p>It is invalid, was used already, or expired. Ask for a new one.</p>",
        ),
        Err(e) => e.into_response(),
    }
}
