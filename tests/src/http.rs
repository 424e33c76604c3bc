//! An in-process API server on an ephemeral port, for API tests. Its `client`
//! authenticates as an admin (with an API key) unless a test asks for another caller.

use kronos_api::{
    router,
    server::{serve, ServerLimits},
    AppState,
};
use kronos_queue::{dispatcher::Dispatcher, reconciler::Reconciler};
use kronos_types::accounts::{Role, Tier};

use crate::{
    accounts::{create_user, TestUser},
    TestEnv,
};

/// A running API.
pub struct TestApi {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// HTTP client, authenticated as [`TestApi::admin`].
    pub client: reqwest::Client,
    /// The admin the client authenticates as.
    pub admin: TestUser,
    /// The state the server runs with (for direct database access in assertions).
    pub state: AppState,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl TestApi {
    /// Starts the API for `env`; `dispatch` also runs the dispatcher and reconciler.
    pub async fn start(env: &TestEnv, dispatch: bool) -> Self {
        let state = AppState::connect(env.config.clone()).await.expect("connect");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = router(state.clone());
        let limits = ServerLimits {
            header_read_timeout: env.config.api.header_read_timeout,
            max_connections: env.config.api.max_connections,
        };
        // the production server loop (timeouts and the connection cap included)
        let mut tasks = vec![tokio::spawn(async move {
            let _ = serve(listener, app, limits, std::future::pending()).await;
        })];
        if dispatch {
            let q = state.config.queue.clone();
            tasks.push(tokio::spawn(
                Dispatcher::new(
                    state.pool.clone(),
                    state.transport.clone(),
                    q.clone(),
                    state.signal.clone(),
                    state.metrics.clone(),
                )
                .run(),
            ));
            tasks.push(tokio::spawn(
                Reconciler::new(
                    state.pool.clone(),
                    state.transport.clone(),
                    q,
                    state.signal.clone(),
                    state.metrics.clone(),
                )
                .run(std::time::Duration::from_millis(500)),
            ));
        }
        // an admin of its own: a test may start more than one API on its database
        let name = format!("admin-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let admin = create_user(env, &name, Role::Admin, Tier::Enterprise, true).await;
        Self { base, client: admin.client(), admin, state, tasks }
    }

    /// `base + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs JSON, returns (status, body) after checking them against the OpenAPI
    /// document.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        self.send("POST", path, Some(body)).await
    }

    /// Sends `method` with an optional JSON body, returns (status, body) after checking
    /// them against the OpenAPI document.
    pub async fn send(&self, method: &str, path: &str, body: Option<&serde_json::Value>) -> (u16, serde_json::Value) {
        self.send_with(&self.client, method, path, body).await
    }

    /// As [`TestApi::send`], with `client` (another caller, or none).
    pub async fn send_with(
        &self,
        client: &reqwest::Client,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = client.request(method.clone(), self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        let r = request.send().await.expect("request");
        let status = r.status().as_u16();
        // an event stream stays open: its status is the answer (tests/src/sse.rs reads events)
        let body = if crate::sse::is_event_stream(r.headers()) {
            serde_json::Value::Null
        } else {
            r.json().await.unwrap_or(serde_json::Value::Null)
        };
        crate::openapi::check(method.as_str(), path, status, &body);
        (status, body)
    }

    /// GETs, returns (status, body) after checking them against the OpenAPI document.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.send("GET", path, None).await
    }
}

impl Drop for TestApi {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
