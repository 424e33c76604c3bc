//! `/v1/alerts`: the caller's alert rules (another user's is a `404`) and their firings.

pub mod create;
pub mod events;
pub mod item;
pub mod list;

use crate::error::{ApiError, ApiResult};

/// An alert id from the path.
fn alert_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::invalid("id", format!("{raw:?} is not an alert id")))
}

/// Checks a cooldown (the error names `cooldown_secs`).
fn check_cooldown(secs: i32) -> ApiResult<i32> {
    if kronos_types::alerts::COOLDOWN_SECS.contains(&secs) {
        Ok(secs)
    } else {
        Err(ApiError::invalid("cooldown_secs", "a cooldown is 60 to 2592000 seconds"))
    }
}

/// Checks a note (the error names `note`).
fn check_note(note: Option<&str>) -> ApiResult<Option<String>> {
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) if n.chars().count() > 200 || n.chars().any(char::is_control) => {
            Err(ApiError::invalid("note", "a note has at most 200 characters and no control characters"))
        }
        other => Ok(other.map(str::to_owned)),
    }
}
