//! `GET /v1/me/usage`: today's use against the tier's daily limits.

use axum::{extract::State, Json};
use chrono::Utc;
use kronos_db::usage;
use kronos_types::accounts::Metric;

use crate::{
    auth::{limits::next_midnight, Caller},
    dto::me::{MetricUsage, Usage},
    error::ApiResult,
    state::AppState,
};

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/me/usage", operation_id = "getUsage",
    tag = "me",
    responses(
        (status = 200, description = "Today's use (UTC) per metric, beside the limit", body = crate::dto::me::Usage),
        (status = "4XX", description = "401: not logged in", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn usage(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<Usage>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let counted = usage::today_counts(&mut conn, caller.user_id).await?;
    drop(conn);
    let api_calls = i64::try_from(state.api_calls.today(caller.user_id).await?).unwrap_or(i64::MAX);
    let metrics = Metric::ALL
        .iter()
        .map(|&metric| MetricUsage {
            metric,
            used: if metric == Metric::ApiCalls {
                api_calls
            } else {
                counted.iter().find(|(m, _)| *m == metric).map_or(0, |(_, n)| *n)
            },
            limit: if caller.is_admin() { None } else { caller.tier.daily_limit(metric) },
        })
        .collect();
    let now = Utc::now();
    Ok(Json(Usage { tier: caller.tier, day: now.date_naive(), resets_at: next_midnight(now), metrics }))
}
