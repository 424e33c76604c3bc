//! What every answer gets, whichever part of the stack produced it: a JSON error body
//! for every 4xx/5xx (also the router's own 404s and 405s, and rejections raised
//! before a handler runs), and headers that keep browsers from sniffing, framing or
//! caching API answers.

use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::error::ApiError;

/// Longest non-JSON error body read to become the JSON error's message.
const MAX_MESSAGE_BYTES: usize = 1024;

/// Middleware: JSON error bodies and security headers on every answer.
pub async fn harden(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let mut response = json_error_body(response).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// An error answer that is not JSON becomes `{"error": {"code", "message", "field"}}`
/// with the same status; the headers that matter to clients (`Allow`, `Retry-After`)
/// are kept.
async fn json_error_body(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_MESSAGE_BYTES)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if !text.is_empty() {
        text
    } else if status == StatusCode::METHOD_NOT_ALLOWED {
        // the router adds the Allow header after this layer ran
        "this method is not allowed on this route; the Allow header lists the ones that are".to_owned()
    } else {
        status.canonical_reason().unwrap_or("error").to_ascii_lowercase()
    };
    let mut converted = ApiError::from_status(status, message).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            converted.headers_mut().insert(name, value.clone());
        }
    }
    converted
}

fn is_json(response: &Response<Body>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"))
}
