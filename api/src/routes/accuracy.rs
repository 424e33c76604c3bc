//! `GET /v1/accuracy?model=&asset=&user=&from=&to=&group_by=`: how good the caller's
//! verified forecasts were (an admin may ask for anyone's or everyone's), per model
//! version (default), asset, user or all together, always beside the naive baseline's
//! accuracy on the same predictions.

use axum::{extract::State, Json};
use kronos_db::{assets, prediction_results, prediction_results::AccuracyFilter, prediction_results::GroupBy};
use kronos_types::jobs::payload::BASELINE_MODELS;
use serde::Deserialize;

use super::assets::parse_time;
use crate::{
    dto::accuracy::{AccuracyDefinitions, AccuracyGroup, AccuracyReport},
    error::{ApiError, ApiResult},
    extract::ApiQuery,
    state::AppState,
};

/// Query parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccuracyParams {
    /// A version name, or a lineage (all its versions).
    pub model: Option<String>,
    /// Asset symbol.
    pub asset: Option<String>,
    /// Whose predictions: the caller's (default); admins may name a user id or `all`.
    pub user: Option<String>,
    /// Predictions made at or after (RFC 3339, YYYY-MM-DD or Unix seconds).
    pub from: Option<String>,
    /// Predictions made before.
    pub to: Option<String>,
    /// `live`, `evaluation` (default: both).
    pub source: Option<String>,
    /// `model`, `asset`, `user`, `source` or `all`.
    pub group_by: Option<String>,
}

/// Handler.
#[utoipa::path(
    get,
    path = "/v1/accuracy", operation_id = "getAccuracy",
    tag = "accuracy",
    params(AccuracyParams),
    responses(
        (status = 200, description = "Verified accuracy per group, beside naive on the same predictions", body = AccuracyReport),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn accuracy(
    State(state): State<AppState>,
    crate::auth::Caller(caller): crate::auth::Caller,
    ApiQuery(params): ApiQuery<AccuracyParams>,
) -> ApiResult<Json<AccuracyReport>> {
    let group: GroupBy = params.group_by.as_deref().unwrap_or("model").parse()?;
    let from = params.from.as_deref().map(|raw| parse_time("from", raw)).transpose()?;
    let to = params.to.as_deref().map(|raw| parse_time("to", raw)).transpose()?;
    if let (Some(from), Some(to)) = (from, to) {
        if from >= to {
            return Err(ApiError::invalid("from", "from must be before to"));
        }
    }
    let owner_id = crate::routes::jobs::whose(&caller, params.user.as_deref())?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    if let Some(source) = params.source.as_deref() {
        if !["live", "evaluation"].contains(&source) {
            return Err(ApiError::invalid("source", "source must be live or evaluation"));
        }
    }
    // a filter naming nothing that exists is a 404, not an empty answer
    if let Some(symbol) = params.asset.as_deref() {
        if assets::find_by_symbol(&mut conn, symbol).await?.is_none() {
            return Err(ApiError::not_found(format!("unknown asset {symbol:?}")));
        }
    }
    if let Some(model) = params.model.as_deref() {
        let known = BASELINE_MODELS.contains(&model) || prediction_results::model_known(&mut conn, model).await?;
        if !known {
            return Err(ApiError::not_found(format!(
                "unknown model {model:?}: no baseline, version or lineage of that name"
            )));
        }
    }
    let filter = AccuracyFilter {
        model: params.model.clone(),
        asset: params.asset.clone(),
        owner_id,
        from,
        to,
        source: params.source.clone(),
    };
    let rows = prediction_results::accuracy(&mut conn, &filter, group).await?;
    Ok(Json(AccuracyReport {
        group_by: params.group_by.unwrap_or_else(|| "model".into()),
        groups: rows.iter().map(AccuracyGroup::from).collect(),
        definitions: AccuracyDefinitions::STANDARD,
    }))
}
