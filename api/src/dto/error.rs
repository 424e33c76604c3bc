//! The error body every failure answers with.

use serde::Serialize;
use utoipa::ToSchema;

/// `{"error": {"code", "message", "field"}}`: the body of every 4xx and 5xx answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "invalid_field", "message": "horizon must be between 1 and 512", "field": "horizon"}))]
pub struct ErrorDetail {
    /// Machine-readable code: `invalid_field`, `malformed_json`, `not_found`, `conflict`,
    /// `not_finished`, `in_use`, `already_exists`, `payload_too_large`, `unavailable`,
    /// `internal`, …
    pub code: &'static str,
    /// What a person reads.
    pub message: String,
    /// The offending input (`horizon`, `candles[3].close`, `model.samples`), when one is
    /// to blame.
    pub field: Option<String>,
}
