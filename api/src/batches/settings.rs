//! A batch's shared forecast settings: every default resolved, every field checked
//! (errors name the field), the model resolved to the version that serves it, the
//! callback address checked against the SSRF guard.

use kronos_types::{
    batches::BatchSettings,
    jobs::payload::{BASELINE_MODELS, DEFAULT_CONTEXT, MAX_CONTEXT, MAX_HORIZON},
    Interval,
};

use crate::{
    dto::batches::BatchSettingsFields,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Settings ready to store, with what belongs to the batch rather than its series.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The forecast settings.
    pub settings: BatchSettings,
    /// Chunk priority.
    pub priority: i16,
    /// Checked callback address.
    pub callback_url: Option<String>,
}

/// Resolves and checks `fields`.
pub async fn resolve(state: &AppState, fields: &BatchSettingsFields) -> ApiResult<Resolved> {
    let interval: Interval =
        fields.interval.parse().map_err(|e: kronos_types::Error| ApiError::invalid("interval", e.to_string()))?;
    if fields.horizon < 1 || fields.horizon > MAX_HORIZON as i64 {
        return Err(ApiError::invalid("horizon", format!("horizon must be between 1 and {MAX_HORIZON}")));
    }
    let horizon = fields.horizon as usize;
    let priority = fields.priority.unwrap_or(0);
    if !(-100..=100).contains(&priority) {
        return Err(ApiError::invalid("priority", "priority must be between -100 and 100"));
    }
    let (kronos, model) = if BASELINE_MODELS.contains(&fields.model.as_str()) {
        if let Some(field) = fields.kronos_fields()?.first() {
            return Err(ApiError::invalid(
                field,
                format!("{field} applies to Kronos models, not the {} baseline", fields.model),
            ));
        }
        (None, fields.model.clone())
    } else {
        let sampling = fields.sampling_fields()?.resolve("")?;
        let (settings, name) =
            crate::routes::models::kronos_settings(state, &fields.model, sampling, fields.max_context, horizon).await?;
        (Some(settings), name)
    };
    let min_history = if kronos.is_some() { 1 } else { horizon + 2 };
    let context = fields.context.unwrap_or(DEFAULT_CONTEXT as i64);
    if context < min_history as i64 || context > MAX_CONTEXT as i64 {
        return Err(ApiError::invalid("context", format!("context must be between {min_history} and {MAX_CONTEXT}")));
    }
    let calendar = fields.calendar.as_deref().map(str::parse).transpose()?;
    let callback_url = match fields.callback_url.as_deref() {
        None => None,
        Some(raw) => Some(check_callback(state, raw).await?),
    };
    Ok(Resolved {
        settings: BatchSettings { model, interval, horizon, kronos, context: context as usize, calendar },
        priority,
        callback_url,
    })
}

/// A callback address a client gave: parsed, resolved, refused when any address of its
/// host is loopback, private or link-local (unless the operator allows that block).
pub async fn check_callback(state: &AppState, raw: &str) -> ApiResult<String> {
    kronos_callbacks::target::check(raw, &state.config.batches.callback_allow)
        .await
        .map(|url| url.to_string())
        .map_err(|e| ApiError::invalid("callback_url", e.to_string()))
}
