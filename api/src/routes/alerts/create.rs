//! `POST /v1/alerts`.

use axum::{extract::State, http::StatusCode, Json};
use kronos_db::{
    alerts::{self, NewAlert},
    assets,
};
use kronos_types::Interval;

use super::{check_cooldown, check_note};
use crate::{
    auth::Caller,
    dto::alerts::{AlertView, CreateAlert},
    error::{ApiError, ApiResult},
    extract::ValidJson,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    post,
    path = "/v1/alerts", operation_id = "createAlert",
    tag = "alerts",
    request_body = crate::dto::alerts::CreateAlert,
    responses(
        (status = 201, description = "The rule", body = crate::dto::alerts::AlertView),
        (status = "4XX", description = "422: a field is wrong (named); 409: the tier's number of alerts is reached", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ValidJson { value: request, .. }: ValidJson<CreateAlert>,
) -> ApiResult<(StatusCode, Json<AlertView>)> {
    request.kind.check_threshold(request.threshold)?;
    let cooldown = check_cooldown(request.cooldown_secs.unwrap_or(3600))?;
    let note = check_note(request.note.as_deref())?;
    let interval = request.interval.unwrap_or(Interval::D1);
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let asset = assets::find_by_symbol(&mut conn, &request.symbol)
        .await?
        .ok_or_else(|| ApiError::invalid("symbol", format!("{:?} is not in the catalogue", request.symbol)))?;
    let limit = caller.tier.alert_limit();
    if alerts::count_owned(&mut conn, caller.user_id).await? >= limit as i64 && !caller.is_admin() {
        return Err(ApiError::conflict(
            "alert_limit",
            format!("the {} tier keeps at most {limit} alerts; delete one or upgrade", caller.tier),
        ));
    }
    let alert = alerts::insert(
        &mut conn,
        &NewAlert {
            owner_id: caller.user_id,
            asset_id: asset.id,
            kind: request.kind,
            threshold: request.threshold,
            interval: interval.as_str(),
            cooldown_secs: cooldown,
            enabled: request.enabled.unwrap_or(true),
            note: note.as_deref(),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(AlertView::of(&alert, &asset.symbol))))
}
