//! `POST /v1/verifications`.

use kronos_types::jobs::payload::VerificationPayload;
use serde::Deserialize;
use utoipa::ToSchema;

/// Verify expired forecasts now (the scheduler also runs one every hour).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVerification {
    /// Most predictions examined, oldest expiry first (1–1,000,000, default 10,000).
    #[schema(minimum = 1, maximum = 1000000)]
    pub limit: Option<i64>,
}

impl CreateVerification {
    /// The job's payload.
    pub fn into_payload(self) -> VerificationPayload {
        VerificationPayload { limit: self.limit.unwrap_or(VerificationPayload::DEFAULT_LIMIT) }
    }
}
