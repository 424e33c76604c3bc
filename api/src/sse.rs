//! Server-sent event streams: the response (no caching, no proxy buffering, a comment
//! every [`HEARTBEAT`] so idle streams survive proxies) and the events they carry.

use std::{convert::Infallible, time::Duration};

use axum::{
    http::{header, HeaderName},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse,
    },
};
use futures::Stream;

use crate::dto::jobs::JobView;

/// The longest silence on a stream.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// The response streaming `events`.
pub fn respond(events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static) -> impl IntoResponse {
    let headers = [
        (header::CACHE_CONTROL, "no-cache"),
        // nginx and its kin pass the events on as they come
        (HeaderName::from_static("x-accel-buffering"), "no"),
    ];
    (headers, Sse::new(events).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat")))
}

/// A `job` event: the job as `GET /v1/jobs/{id}` shows it.
pub fn job_event(job: &JobView) -> Event {
    Event::default().event("job").json_data(job).unwrap_or_else(|_| Event::default().event("job").data("{}"))
}

/// The `end` event: nothing more will come on this stream.
pub fn ended() -> Event {
    Event::default().event("end").data("{}")
}
