//! `POST /v1/unsubscribe`: turns one kind of email off for the user an email's link
//! names, without logging in. The token comes in `?token=` (the one-click
//! `List-Unsubscribe` address mail clients POST to) or in a JSON body (the web page).

use axum::{body::Bytes, extract::State, Json};
use kronos_db::users::{self, ProfileChange};
use kronos_types::accounts::EmailKind;
use serde::Deserialize;

use crate::{
    dto::billing::{UnsubscribeRequest, Unsubscribed},
    error::{ApiError, ApiResult},
    extract::ApiQuery,
    state::AppState,
};

/// `?token=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TokenQuery {
    /// The token of the email's link.
    pub token: Option<String>,
}

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/unsubscribe", operation_id = "unsubscribe",
    tag = "me",
    params(TokenQuery),
    request_body(content = Option<crate::dto::billing::UnsubscribeRequest>, description = "The token, unless it is in `?token=` (a one-click form body is ignored)"),
    responses(
        (status = 200, description = "The kind is off", body = crate::dto::billing::Unsubscribed),
        (status = "4XX", description = "422: not a valid token", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn unsubscribe(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<TokenQuery>,
    body: Bytes,
) -> ApiResult<Json<Unsubscribed>> {
    let token = match query.token {
        Some(token) => token,
        None => {
            let request: UnsubscribeRequest = serde_json::from_slice(&body)
                .map_err(|_| ApiError::invalid("token", "give the token of the email's link"))?;
            request.token
        }
    };
    let keys: Vec<&[u8]> = state.config.auth.jwt_keys.iter().map(|(_, s)| s.expose().as_bytes()).collect();
    let (user_id, kind) = kronos_auth::unsubscribe::read(&keys, &token)?;
    let kind: EmailKind = kind.parse().map_err(|_| ApiError::invalid("token", "not an unsubscribe token"))?;
    if !kind.optional() {
        return Err(ApiError::invalid("token", "not an unsubscribe token"));
    }
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let user =
        users::find(&mut conn, user_id).await?.ok_or_else(|| ApiError::invalid("token", "not an unsubscribe token"))?;
    let mut preferences = user.notification_preferences.clone();
    if !preferences.is_object() {
        preferences = serde_json::json!({});
    }
    preferences[kind.as_str()] = serde_json::Value::Bool(false);
    users::update_profile(
        &mut conn,
        user.id,
        &ProfileChange { notification_preferences: Some(preferences), ..ProfileChange::default() },
    )
    .await?;
    Ok(Json(Unsubscribed { kind: kind.as_str().to_owned(), enabled: false }))
}
