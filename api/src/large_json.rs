//! Large JSON answers (thousands of bars) serialized into one buffer sized up front.
//!
//! axum's `Json` writes through a growing `BytesMut` in small pieces; for a 600 kB
//! candles answer that copied the buffer several times as it grew and spent more time
//! in small writes than in formatting numbers (profiled with `perf`).

use axum::{
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::error::ApiError;

/// A JSON answer with a size estimate in bytes.
pub struct LargeJson<T> {
    /// The value.
    pub value: T,
    /// Expected size of the encoding.
    pub size_hint: usize,
}

impl<T: Serialize> IntoResponse for LargeJson<T> {
    fn into_response(self) -> Response {
        let mut buf = Vec::with_capacity(self.size_hint);
        match serde_json::to_writer(&mut buf, &self.value) {
            Ok(()) => {
                let mut response = buf.into_response();
                response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                response
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot encode an answer");
                ApiError::internal().into_response()
            }
        }
    }
}
