//! JSON bodies whose failures are [`ApiError`]s naming the offending field.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
};
use serde::de::DeserializeOwned;

use super::text::{check_json_value, json_needs_string_check};
use crate::error::ApiError;

/// A JSON body: malformed JSON is a 400, a well-formed body of the wrong shape a 422
/// naming the field (e.g. `candles[3].close`). The raw bytes are kept for hashing.
#[derive(Debug)]
pub struct ValidJson<T> {
    /// The typed body.
    pub value: T,
    /// The body as received.
    pub bytes: Bytes,
}

impl<T> ValidJson<T> {
    /// SHA-256 of the body's canonical form (see [`canonical_hash`]).
    pub fn canonical_hash(&self) -> String {
        canonical_hash(&self.bytes)
    }
}

/// SHA-256 of a JSON body's canonical form (parsed, object keys sorted), so that the
/// same JSON with other spacing or key order hashes the same.
pub fn canonical_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let canonical = serde_json::from_slice::<serde_json::Value>(bytes).map(|v| v.to_string()).unwrap_or_default();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

impl<S, T> FromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type =
            req.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !content_type.starts_with("application/json") {
            return Err(ApiError::malformed_json("Content-Type must be application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large("request body too large")
            } else if is_timeout(&e) {
                ApiError::from_status(axum::http::StatusCode::REQUEST_TIMEOUT, "the request body stopped arriving")
            } else {
                ApiError::malformed_json(e.body_text())
            }
        })?;
        let value = parse_json(&bytes)?;
        Ok(Self { value, bytes })
    }
}

/// Parses a JSON document with the checks of [`ValidJson`]: malformed JSON is a 400,
/// a wrong shape a 422 naming the field, NUL and over-long strings are refused.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if json_needs_string_check(bytes) {
        // a NUL or an over-long string somewhere: find and name it
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| ApiError::malformed_json(format!("invalid JSON: {e}")))?;
        check_json_value(&value)?;
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        classify(e.into_inner(), path)
    })?;
    de.end().map_err(|e| classify(e, ".".into()))?;
    Ok(value)
}

/// The field serde names in "missing field `x`", "unknown field `x`" or "duplicate
/// field `x`" at the top level.
pub(super) fn named_field(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))
        .or_else(|| message.strip_prefix("duplicate field `"))?;
    rest.split_once('`').map(|(name, _)| name.to_owned())
}

/// Syntax errors are malformed JSON (400); data errors name the field (422).
fn classify(error: serde_json::Error, path: String) -> ApiError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::malformed_json(format!("invalid JSON: {error}")),
        Category::Data => {
            let message = error.to_string();
            let field = if path == "." { named_field(&message).unwrap_or_else(|| "body".to_owned()) } else { path };
            ApiError::invalid(&field, message)
        }
    }
}

/// Whether reading the body failed because it stopped arriving (`RequestBodyTimeoutLayer`).
fn is_timeout(e: &axum::extract::rejection::BytesRejection) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = err.source();
    }
    false
}
