//! `/v1/assets…`: the catalogue and per-asset market data (candles, indicators).

pub mod candles;
pub mod catalogue;
pub mod indicators;
pub mod list;
pub mod quality;
pub mod ticker;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use kronos_db::{assets, assets::Asset};
use kronos_types::Interval;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};

/// Query parameters shared by the per-asset series endpoints.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesParams {
    /// Candle interval (required).
    #[param(value_type = Option<Interval>)]
    pub interval: Option<String>,
    /// Earliest bar time (RFC 3339, `YYYY-MM-DD` or Unix seconds).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// Latest bar time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
    /// Most bars returned.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub limit: Option<String>,
    /// Indicator names (indicators endpoint), comma-separated.
    pub names: Option<String>,
}

/// A validated series request.
pub struct SeriesQuery {
    /// The asset.
    pub asset: Asset,
    /// The interval.
    pub interval: Interval,
    /// Lower bound.
    pub from: Option<DateTime<Utc>>,
    /// Upper bound.
    pub to: Option<DateTime<Utc>>,
    /// Most bars.
    pub limit: i64,
}

/// Default and largest `limit`.
pub const DEFAULT_LIMIT: i64 = 1000;
/// Largest `limit`.
pub const MAX_LIMIT: i64 = 5000;

/// Validates the parameters (422 naming the field; 404 for an unknown symbol), looking
/// the asset up on the handler's connection (one pool checkout per request).
pub async fn resolve(conn: &mut AsyncPgConnection, symbol: &str, params: &SeriesParams) -> ApiResult<SeriesQuery> {
    let raw_interval =
        params.interval.as_deref().ok_or_else(|| ApiError::invalid("interval", "interval is required"))?;
    let interval: Interval =
        raw_interval.parse().map_err(|e: kronos_types::Error| ApiError::invalid("interval", e.to_string()))?;
    let from = params.from.as_deref().map(|raw| parse_time("from", raw)).transpose()?;
    let to = params.to.as_deref().map(|raw| parse_time("to", raw)).transpose()?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(ApiError::invalid("from", "from is after to"));
        }
    }
    let limit =
        match params.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(raw) => raw.parse::<i64>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                ApiError::invalid("limit", format!("limit must be a whole number from 1 to {MAX_LIMIT}"))
            })?,
        };
    let asset = assets::find_by_symbol(conn, symbol)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("unknown symbol {symbol:?}")))?;
    Ok(SeriesQuery { asset, interval, from, to, limit })
}

/// A time parameter: RFC 3339, a date (midnight UTC) or Unix seconds (see
/// `kronos_types::time`).
pub fn parse_time(field: &str, raw: &str) -> ApiResult<DateTime<Utc>> {
    Ok(kronos_types::time::parse(field, raw)?)
}
