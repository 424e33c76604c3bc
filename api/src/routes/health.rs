//! Liveness and readiness.

use axum::{extract::State, http::StatusCode, Json};
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: PostgreSQL, Redis and the object store answer.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let postgres = match state.pool.get().await {
        Ok(mut conn) => diesel::sql_query("SELECT 1").execute(&mut conn).await.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let redis = state.transport.ping().await.map_err(|e| e.to_string());
    let storage = state.storage.probe().await.map_err(|e| e.to_string());
    let ok = postgres.is_ok() && redis.is_ok() && storage.is_ok();
    let show =
        |r: Result<(), String>| r.map_or_else(|e| json!({"status": "error", "error": e}), |_| json!({"status": "ok"}));
    let body = json!({
        "status": if ok { "ok" } else { "unavailable" },
        "postgres": show(postgres),
        "redis": show(redis),
        "object_store": show(storage),
    });
    (if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}
