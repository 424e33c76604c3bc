//! Extractors whose failures are [`ApiError`]s naming the offending field.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body: malformed JSON is a 400, a well-formed body of the wrong shape a 422
/// naming the field (e.g. `candles[3].close`). The parsed value is kept too, for hashing.
#[derive(Debug)]
pub struct ValidJson<T> {
    /// The typed body.
    pub value: T,
    /// The body as a JSON value (canonical: object keys sorted).
    pub raw: serde_json::Value,
}

impl<S, T> FromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.starts_with("application/json") {
            return Err(ApiError::malformed_json("Content-Type must be application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large("request body too large")
            } else {
                ApiError::malformed_json(e.body_text())
            }
        })?;
        let raw: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::malformed_json(format!("invalid JSON: {e}")))?;
        let value = serde_path_to_error::deserialize(&raw).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { "body".to_owned() } else { path };
            ApiError::invalid(&field, e.into_inner().to_string())
        })?;
        Ok(Self { value, raw })
    }
}
