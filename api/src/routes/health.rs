//! Liveness and readiness.

use axum::{extract::State, http::StatusCode, Json};
use diesel_async::RunQueryDsl;

use crate::{
    dto::health::{Health, Readiness},
    state::AppState,
};

/// `GET /healthz`: the process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "health", tag = "operations", responses((status = 200, description = "The process is up", body = crate::dto::health::Health), (status = 401, description = "A credential was sent that does not authenticate", body = crate::dto::error::ErrorBody)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// `GET /readyz`: PostgreSQL, Redis and the object store answer.
#[utoipa::path(get, path = "/readyz", operation_id = "readiness", tag = "operations", responses((status = 200, description = "PostgreSQL, Redis and the object store answer", body = crate::dto::health::Readiness), (status = 503, description = "A dependency does not answer", body = crate::dto::health::Readiness), (status = 401, description = "A credential was sent that does not authenticate", body = crate::dto::error::ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let postgres = match state.pool.get().await {
        Ok(mut conn) => diesel::sql_query("SELECT 1").execute(&mut conn).await.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let redis = state.transport.ping().await.map_err(|e| e.to_string());
    let storage = state.storage.probe().await.map_err(|e| e.to_string());
    let ok = postgres.is_ok() && redis.is_ok() && storage.is_ok();
    let body = Readiness {
        status: if ok { "ok" } else { "unavailable" },
        postgres: postgres.into(),
        redis: redis.into(),
        object_store: storage.into(),
    };
    (if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}
