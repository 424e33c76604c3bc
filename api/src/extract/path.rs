//! Path parameters whose failures are JSON errors naming the parameter.

use axum::{
    extract::{FromRequestParts, Path, RawPathParams},
    http::request::Parts,
};
use serde::de::DeserializeOwned;

use super::text::{check_param, MAX_PATH_PARAM};
use crate::error::ApiError;

/// Like axum's `Path`, but every segment is checked first (valid UTF-8, no control
/// characters such as NUL, at most [`MAX_PATH_PARAM`] characters) and every failure is
/// a `422` naming the parameter (`symbol`, `id`, …).
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = RawPathParams::from_request_parts(parts, state).await.map_err(|e| {
            // "Invalid UTF-8 in `key`"
            let text = e.body_text();
            let key = text.split('`').nth(1).unwrap_or("path").to_owned();
            ApiError::invalid(&key, format!("{key} is not valid UTF-8"))
        })?;
        for (key, value) in &raw {
            check_param(key, value, MAX_PATH_PARAM)?;
        }
        let Path(value) = Path::<T>::from_request_parts(parts, state).await.map_err(|e| {
            let field = match e {
                axum::extract::rejection::PathRejection::FailedToDeserializePathParams(ref d) => match d.kind() {
                    axum::extract::path::ErrorKind::ParseErrorAtKey { key, .. }
                    | axum::extract::path::ErrorKind::DeserializeError { key, .. } => key.clone(),
                    _ => "path".to_owned(),
                },
                _ => "path".to_owned(),
            };
            ApiError::invalid(&field, e.body_text())
        })?;
        Ok(Self(value))
    }
}
