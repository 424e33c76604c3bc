//! A local callback receiver: records every POST (headers and raw body) and answers
//! with the statuses it is told, in order (then 200).

use std::sync::{Arc, Mutex};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its raw body.
    pub body: Bytes,
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    answers: Vec<u16>,
}

/// The receiver.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    /// Its address, `http://127.0.0.1:<port>/hook`.
    pub url: String,
}

impl Receiver {
    /// Starts one answering `answers` first (e.g. `[500]`: one failure, then 200s).
    pub async fn start(answers: &[u16]) -> Self {
        let inner =
            Arc::new(Mutex::new(Inner { received: Vec::new(), answers: answers.iter().rev().copied().collect() }));
        let app = Router::new().route("/hook", post(receive)).with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { inner, url }
    }

    /// What it got so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("lock").received.clone()
    }
}

async fn receive(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut inner = inner.lock().expect("lock");
    inner.received.push(Received { headers, body });
    StatusCode::from_u16(inner.answers.pop().unwrap_or(200)).unwrap_or(StatusCode::OK)
}
