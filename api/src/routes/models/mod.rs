//! `/v1/models`: the registry. Versions of a lineage move candidate → production →
//! archived; `{model}` in paths is a numeric id, `lineage@N`, a lineage (its
//! production version) or a version's name.

pub mod delete;
pub mod list;
pub mod promote;
pub mod show;

use diesel_async::AsyncPgConnection;
use kronos_db::{models, models::RegisteredModel};
use kronos_storage::{model_files, ModelPart};
use kronos_types::{jobs::payload::BASELINE_MODELS, registry::ModelFamily};
use serde_json::{json, Value};

use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// The model a path names, or 404.
pub async fn find(conn: &mut AsyncPgConnection, key: &str) -> ApiResult<RegisteredModel> {
    let found = match key.parse::<i64>() {
        Ok(id) => models::find(conn, id).await?,
        Err(_) => models::resolve(conn, key).await?,
    };
    found.ok_or_else(|| ApiError::not_found(format!("no registered model {key:?}")))
}

/// The registered Kronos version that serves forecasts under `name` (a lineage means
/// its production version); a 422 naming `field` for unknown names, regressors (which
/// are measured in the registry but not served) and models whose weights are missing
/// from the object store.
pub async fn servable(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    name: &str,
    field: &str,
) -> ApiResult<RegisteredModel> {
    let Some(model) = models::resolve(conn, name).await? else {
        return Err(ApiError::invalid(
            field,
            format!(
                "unknown model {name:?}; use a baseline ({}) or a registered model (GET /v1/models)",
                BASELINE_MODELS.join(", ")
            ),
        ));
    };
    if model.family != ModelFamily::Kronos {
        return Err(ApiError::invalid(
            field,
            format!(
                "{} is a {} baseline regressor; its accuracy is in the registry, but forecasts are served by Kronos models and the naive and drift baselines",
                model.name, model.family
            ),
        ));
    }
    if !state.weights_present.contains(model.id) {
        let missing = model_files::missing(&state.storage, &model.storage_prefix, &ModelPart::ALL).await?;
        if let Some(first) = missing.first() {
            return Err(ApiError::invalid(
                field,
                format!(
                    "{} is registered, but its weights are missing from the object store ({} not found in {}); it was probably registered with another storage configuration: delete it (DELETE /v1/models/{}) and register it again",
                    model.name,
                    first,
                    state.storage.describe(),
                    model.name
                ),
            ));
        }
        state.weights_present.insert(model.id);
    }
    Ok(model)
}

/// A baseline as the API shows it (`GET /v1/models/naive`).
pub fn baseline_view(name: &str) -> Option<Value> {
    let description = match name {
        "naive" => "random walk: every step forecasts the last close; the band is the empirical distribution of past h-step log returns, re-centred on zero",
        "drift" => "random walk with drift: the close grows by the average log return of the history per step; the band is the empirical distribution of past h-step log returns, re-centred on the drift",
        _ => return None,
    };
    Some(json!({
        "name": name,
        "family": "baseline",
        "status": "builtin",
        "description": description,
        "parameters": 0,
        "min_history": "horizon + 2 candles",
        "settings": "none (samples, temperature, top_k, top_p, seed and max_context are Kronos settings)",
    }))
}

/// A version as the API shows it.
pub fn view(m: &RegisteredModel) -> Value {
    json!({
        "id": m.id,
        "name": m.name,
        "lineage": m.lineage,
        "version": m.version,
        "status": m.status,
        "family": m.family,
        "source": m.source,
        "parent_id": m.parent_id,
        "parameters": m.parameters,
        "max_context": m.max_context,
        "trained_on": m.trained_interval.as_ref().map(|interval| json!({
            "interval": interval,
            "symbols": m.trained_symbols,
            "from": m.trained_from,
            "to": m.trained_to,
        })),
        "training_job_id": m.training_job_id,
        "training_config": m.training_config,
        "metrics": m.metrics,
        // trained versions only: lower MAE and RMSE than naive on their validation windows
        "beats_naive": m.metrics.as_ref().and_then(|x| x.get("beats_naive")),
        "predictor_config": m.predictor_config,
        "tokenizer_config": m.tokenizer_config,
        "weights_sha256": m.weights_sha256,
        "storage_prefix": m.storage_prefix,
        "created_at": m.created_at,
        "promoted_at": m.promoted_at,
    })
}
