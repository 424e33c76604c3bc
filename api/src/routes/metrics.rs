//! `GET /metrics`: Prometheus text format.

use axum::{extract::State, http::header, response::IntoResponse};
use kronos_db::jobs;
use kronos_types::jobs::JobKind;

use crate::state::AppState;

/// Refreshes the gauges read from PostgreSQL and Redis, then renders every metric.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
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
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
