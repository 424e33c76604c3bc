//! `GET /v1/models`: the baselines and every registered model.

use axum::{extract::State, Json};
use kronos_shared::{db::models, jobs::payload::BASELINE_MODELS};
use serde_json::{json, Value};

use crate::{error::ApiResult, state::AppState};

/// Handler.
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let mut conn = state.pool.get().await.map_err(kronos_shared::Error::from)?;
    let registered = models::list(&mut conn).await?;
    let mut out: Vec<Value> =
        BASELINE_MODELS.iter().map(|name| json!({ "name": name, "family": "baseline" })).collect();
    out.extend(registered.into_iter().map(|m| {
        json!({
            "name": m.name,
            "family": m.family,
            "source": m.source,
            "parameters": m.parameters,
            "max_context": m.max_context,
            "predictor_config": m.predictor_config,
            "tokenizer_config": m.tokenizer_config,
            "weights_sha256": m.weights_sha256,
            "created_at": m.created_at,
        })
    }));
    Ok(Json(json!({ "models": out })))
}
