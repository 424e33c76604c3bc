//! `PATCH /v1/me`: profile, notification preferences and address.

use axum::{extract::State, Json};

use crate::{
    accounts,
    auth::{Caller, Client},
    dto::me::{MeView, UpdateMe},
    error::ApiResult,
    extract::ValidJson,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    patch,
    path = "/v1/me", operation_id = "updateMe",
    tag = "me",
    request_body = crate::dto::me::UpdateMe,
    responses(
        (status = 200, description = "The account as changed", body = crate::dto::me::MeView),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: Client,
    ValidJson { value: request, .. }: ValidJson<UpdateMe>,
) -> ApiResult<Json<MeView>> {
    let user = accounts::profile::update(&state, &caller, &request, &client).await?;
    Ok(Json(MeView::from(&user)))
}
