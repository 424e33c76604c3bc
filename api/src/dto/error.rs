//! The error body every failure answers with.

use chrono::{DateTime, Utc};
use kronos_types::accounts::{Metric, Tier};
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
    /// `internal`, `unauthenticated`, `forbidden`, `missing_scope`, `email_not_verified`,
    /// `session_required`, `csrf`, `rate_limited`, `quota_exceeded`, …
    pub code: &'static str,
    /// What a person reads.
    pub message: String,
    /// The offending input (`horizon`, `candles[3].close`, `model.samples`), when one is
    /// to blame.
    pub field: Option<String>,
    /// The daily quota that refused the request (`quota_exceeded` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaDetail>,
}

/// A daily quota that is used up.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuotaDetail {
    /// What is counted.
    pub metric: Metric,
    /// The caller's tier.
    pub tier: Tier,
    /// The tier's daily limit.
    pub limit: i64,
    /// Used today.
    pub used: i64,
    /// When the count resets (UTC midnight).
    pub resets_at: DateTime<Utc>,
    /// Where the tiers are compared.
    #[schema(example = "/pricing")]
    pub upgrade: &'static str,
}
