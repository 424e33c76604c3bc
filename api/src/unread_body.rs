//! Answers given before the request's body was read close their connection.
//!
//! A handler may refuse a request from its headers or query alone (a bad setting on
//! an upload, a missing key) without reading a body of megabytes. HTTP/1.1 cannot
//! carry the next request on that connection until the unread body is gone, so the
//! server drops it after answering — and a client that pooled it (the answer said
//! nothing about closing) sends its next request into a closing socket and gets a
//! broken connection instead of an answer. This middleware watches the body; when
//! the answer is ready and the body was not read to its end, the answer says
//! `Connection: close`, so the client opens a fresh connection for its next request.

use std::{
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
};

use axum::{
    body::{Body, Bytes, HttpBody},
    extract::Request,
    http::{header, HeaderValue, Version},
    middleware::Next,
    response::Response,
};
use http_body::{Frame, SizeHint};

/// The middleware.
pub async fn close_when_unread(req: Request, next: Next) -> Response {
    let http1 = matches!(req.version(), Version::HTTP_10 | Version::HTTP_11);
    if !http1 || req.body().is_end_stream() {
        return next.run(req).await;
    }
    let finished = Arc::new(AtomicBool::new(false));
    let req = req.map(|body| Body::new(Watched { inner: body, finished: finished.clone() }));
    let mut response = next.run(req).await;
    if !finished.load(Ordering::Acquire) {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A body that records when it was read to its end.
struct Watched {
    inner: Body,
    finished: Arc<AtomicBool>,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let ended = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => self.inner.is_end_stream(),
            _ => false,
        };
        if ended {
            self.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
