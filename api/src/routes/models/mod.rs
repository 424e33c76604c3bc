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
use kronos_types::{
    jobs::payload::{BASELINE_MODELS, MAX_CONTEXT},
    registry::ModelFamily,
};

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

/// A registered model's settings for a forecast of `horizon` steps: the serving
/// version resolved (a lineage means its production version), `max_context` checked
/// against the horizon (default: the model's). Returns the settings and the version's
/// name. Predictions and bulk batches alike.
pub(crate) async fn kronos_settings(
    state: &AppState,
    name: &str,
    sampling: kronos_types::jobs::payload::Sampling,
    max_context: Option<i64>,
    horizon: usize,
) -> ApiResult<(kronos_types::jobs::payload::KronosSettings, String)> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let model = servable(state, &mut conn, name, "model").await?;
    let max_context = max_context.unwrap_or(i64::from(model.max_context));
    if max_context < horizon as i64 || max_context > MAX_CONTEXT as i64 {
        return Err(ApiError::invalid(
            "max_context",
            format!("max_context must be between the horizon ({horizon}) and {MAX_CONTEXT}"),
        ));
    }
    Ok((
        kronos_types::jobs::payload::KronosSettings {
            model_id: model.id,
            samples: sampling.samples,
            temperature: sampling.temperature,
            top_k: sampling.top_k,
            top_p: sampling.top_p,
            seed: sampling.seed,
            max_context: max_context as usize,
        },
        model.name,
    ))
}
