//! `GET /metrics`: Prometheus text format; behind its own bearer token when
//! `KRONOS_METRICS_TOKEN` is set.

use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};
use kronos_auth::secret::constant_time_eq;
use kronos_db::jobs;
use kronos_types::jobs::JobKind;

use crate::{error::ApiError, state::AppState};

/// Refreshes the gauges read from PostgreSQL and Redis, then renders every metric.
#[utoipa::path(
    get,
    path = "/metrics", operation_id = "metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "`KRONOS_METRICS_TOKEN` is set and the request did not send it as a bearer token", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn render(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.auth.metrics_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !constant_time_eq(sent.trim(), token.expose()) {
            return ApiError::unauthenticated("send the metrics token as a bearer token").into_response();
        }
    }
    if let Ok(mut conn) = state.pool.get().await {
        if let Ok(counts) = jobs::counts_by_kind_status(&mut conn).await {
            state.metrics.jobs.reset();
            for (kind, status, n) in counts {
                state.metrics.jobs.with_label_values(&[&kind, &status]).set(n);
            }
        }
    }
    for kind in JobKind::ALL {
        if let Ok(depth) = state.transport.depth(kind).await {
            state.metrics.queue_depth.with_label_values(&[kind.as_str()]).set(depth);
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
