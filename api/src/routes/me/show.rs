//! `GET /v1/me`: the caller's account.

use axum::{extract::State, Json};
use kronos_db::users;

use crate::{
    auth::Caller,
    dto::me::MeView,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/me", operation_id = "getMe",
    tag = "me",
    responses(
        (status = 200, description = "The caller's account", body = crate::dto::me::MeView),
        (status = "4XX", description = "401: not logged in", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn show(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<MeView>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let user = users::find(&mut conn, caller.user_id).await?.ok_or_else(|| ApiError::not_found("account not found"))?;
    let mut view = MeView::from(&user);
    view.callback_secret = Some(kronos_db::callbacks::signing_secret(&mut conn, user.id, None).await?);
    Ok(Json(view))
}
