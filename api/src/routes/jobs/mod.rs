//! `/v1/jobs`.

pub mod cancel;
pub mod list;
pub mod show;

use uuid::Uuid;

use crate::error::ApiError;

/// Parses a job id from the path.
pub(crate) fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::invalid("id", format!("{raw:?} is not a job id (UUID)")))
}
