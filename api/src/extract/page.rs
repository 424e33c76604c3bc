//! The `limit` of a listing.

use crate::error::{ApiError, ApiResult};

/// The page size `raw` asks for: `default` when absent, else a whole number from 1 to
/// `max` (a `422` naming `limit` otherwise).
pub fn page_size(raw: Option<&str>, default: i64, max: i64) -> ApiResult<i64> {
    match raw {
        None => Ok(default),
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", format!("limit must be a whole number from 1 to {max}"))),
    }
}
