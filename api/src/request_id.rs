//! Request ids: every request gets an `X-Request-Id` — the client's when it is sane (1
//! to 128 letters, digits, `.`, `_`, `:` or `-`), else a fresh one — set on the request
//! (so handlers and the jobs they create carry it), answered in the response, and on
//! every log line of the request's work (its tracing span).

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use tracing::Instrument as _;

/// The header.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Whether a client's id can be kept.
pub fn sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The request's id (after the middleware ran: always there).
pub fn of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers.get(&HEADER).and_then(|v| v.to_str().ok()).filter(|id| sane(id)).map(str::to_owned)
}

/// The middleware (outermost, so every answer has the header).
pub async fn assign(mut req: Request, next: Next) -> Response {
    let id = of(req.headers()).unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    req.headers_mut().insert(HEADER.clone(), value.clone());
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let mut response = next.run(req).instrument(span).await;
    response.headers_mut().insert(HEADER.clone(), value);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_others_are_not() {
        for good in ["abc", "0192a3b4-0000-7000-8000-000000000000", "trace:1.2_x"] {
            assert!(sane(good), "{good}");
        }
        for bad in ["", "has space", "semi;colon", "é", &"x".repeat(129)] {
            assert!(!sane(bad), "{bad}");
        }
    }
}
