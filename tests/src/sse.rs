//! A server-sent events client for tests: reads `event:`/`data:` blocks off a streamed
//! response (comments — the heartbeats — are skipped).

use std::time::Duration;

use serde_json::Value;

/// Whether an answer is an event stream (it stays open: read its events, not its body).
pub fn is_event_stream(headers: &reqwest::header::HeaderMap) -> bool {
    headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/event-stream"))
}

/// An open event stream.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

/// One event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    /// Its `event:` name (`message` when none).
    pub name: String,
    /// Its `data:` as JSON (`Null` when not JSON).
    pub data: Value,
}

impl EventStream {
    /// Opens `url` with `client`: the status, and the stream when it is one.
    pub async fn open(client: &reqwest::Client, url: &str) -> (u16, Option<EventStream>, Value) {
        let response = client.get(url).header("accept", "text/event-stream").send().await.expect("request");
        let status = response.status().as_u16();
        if is_event_stream(response.headers()) {
            (status, Some(EventStream { response, buffer: String::new() }), Value::Null)
        } else {
            (status, None, response.json().await.unwrap_or(Value::Null))
        }
    }

    /// The next event within `wait`; `None` when the stream ended or stayed silent.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?.ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// Events until one named `name` (included), within `wait` in all.
    pub async fn until(&mut self, name: &str, wait: Duration) -> Vec<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut seen = Vec::new();
        while let Some(event) = self.next(deadline.saturating_duration_since(tokio::time::Instant::now())).await {
            let last = event.name == name;
            seen.push(event);
            if last {
                break;
            }
        }
        seen
    }
}

/// An event from one block; `None` for a block of comments only.
fn parse(block: &str) -> Option<SseEvent> {
    let mut name = None;
    let mut data = Vec::new();
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            name = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v).to_owned());
        }
    }
    if name.is_none() && data.is_empty() {
        return None;
    }
    let data = serde_json::from_str(&data.join("\n")).unwrap_or(Value::Null);
    Some(SseEvent { name: name.unwrap_or_else(|| "message".into()), data })
}
