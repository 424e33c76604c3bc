//! Submitting a job, the same way for every kind: the job belongs to the caller; the
//! client's `Idempotency-Key` (per caller, with the canonical hash of the body) and the
//! charge against the caller's daily quota go into the same transaction as the job; a
//! repeat of the same request returns the first job (`Idempotent-Replayed: true`) and
//! costs nothing; a different body under a used key is a `422`; a used-up quota is a
//! `429` naming the limit and when it resets; the answer is `202` with the job.

use axum::{
    http::{HeaderMap, HeaderValue},
    response::Response,
};
use chrono::Utc;
use kronos_db::jobs::{Charge, Inserted, NewJob};
use kronos_types::accounts::Metric;

use crate::{
    auth::{
        limits::{next_midnight, seconds_to_midnight},
        Principal,
    },
    dto::error::QuotaDetail,
    error::{ApiError, ApiResult},
    extract::canonical_hash,
    state::AppState,
};

/// Longest `Idempotency-Key` accepted.
const MAX_KEY: usize = 255;

/// The request's `Idempotency-Key`, if any (printable ASCII, 1 to 255 characters).
pub fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "Idempotency-Key must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(ApiError::invalid("Idempotency-Key", format!("Idempotency-Key must be 1 to {MAX_KEY} characters")));
    }
    Ok(Some(key.to_owned()))
}

/// Records `new` for `caller` (under the request's idempotency key, with the hash of
/// the request body `body`), charged one `metric` against their tier's daily limit
/// (admins and `None`: not charged), and answers `202 Accepted`.
pub async fn submit(
    state: &AppState,
    caller: &Principal,
    headers: &HeaderMap,
    body: &[u8],
    new: NewJob,
    metric: Option<Metric>,
) -> ApiResult<Response> {
    let charge = metric.filter(|_| !caller.is_admin()).map(|metric| Charge {
        user_id: caller.user_id,
        metric,
        limit: caller.tier.daily_limit(metric),
    });
    let mut new = new.owned(caller.user_id, charge);
    new.request_id = crate::request_id::of(headers);
    if let crate::auth::Credential::ApiKey { id, .. } = &caller.credential {
        new.api_key_id = Some(*id);
    }
    if let Some(key) = idempotency_key(headers)? {
        new.idempotency_key = Some(key);
        new.request_hash = Some(canonical_hash(body));
    }
    let (kind, hash) = (new.kind, new.request_hash.clone());
    let (job, replayed) = match state.enqueuer.enqueue(new).await? {
        Inserted::Created(job) => (job, false),
        Inserted::Existing(job) if job.request_hash == hash && job.kind == kind => (job, true),
        Inserted::Existing(_) => {
            return Err(ApiError::invalid(
                "Idempotency-Key",
                "this Idempotency-Key was already used with a different request",
            ));
        }
        Inserted::OverQuota { metric, limit } => {
            let now = Utc::now();
            let quota = QuotaDetail {
                metric,
                tier: caller.tier,
                limit,
                used: limit,
                resets_at: next_midnight(now),
                upgrade: "/pricing",
            };
            return Err(ApiError::over_quota(quota, seconds_to_midnight(now)));
        }
    };
    let mut response = crate::dto::jobs::accepted(job);
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}
