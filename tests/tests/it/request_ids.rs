//! Request ids: every answer carries an `X-Request-Id` — the client's when sane, else a
//! fresh one — and a job keeps the id of the request that made it (the worker's log
//! lines of the job carry it too).

use diesel::{sql_types::Uuid as SqlUuid, QueryableByName};
use diesel_async::RunQueryDsl;
use kronos_tests::{http::TestApi, TestEnv};
use serde_json::json;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    request_id: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_carry_an_id_into_their_answers_and_jobs() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    let client = reqwest::Client::new();
    let id_of =
        |r: &reqwest::Response| r.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);

    let fresh = client.get(api.url("/healthz")).send().await.unwrap();
    let generated = id_of(&fresh).expect("an id");
    assert_eq!(generated.len(), 32, "{generated}");
    let other = id_of(&client.get(api.url("/healthz")).send().await.unwrap()).unwrap();
    assert_ne!(generated, other, "one per request");
    let kept = client.get(api.url("/v1/assets")).header("x-request-id", "client-trace:1.a_b").send().await.unwrap();
    assert_eq!(id_of(&kept).as_deref(), Some("client-trace:1.a_b"));
    let replaced = client.get(api.url("/healthz")).header("x-request-id", "no spaces; please").send().await.unwrap();
    assert_ne!(id_of(&replaced).as_deref(), Some("no spaces; please"));
    let refused = client.get(api.url("/v1/jobs/nope")).send().await.unwrap();
    assert!(id_of(&refused).is_some(), "errors carry it too");

    let response = api
        .client
        .post(api.url("/v1/predictions"))
        .header("x-request-id", "submit-42")
        .json(&json!({"candles": kronos_tests::sample::candles(30), "interval": "1d", "horizon": 2, "model": "naive"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(id_of(&response).as_deref(), Some("submit-42"));
    let body: serde_json::Value = response.json().await.unwrap();
    let job: uuid::Uuid = body["job"]["id"].as_str().unwrap().parse().unwrap();
    let mut conn = api.state.pool.get().await.unwrap();
    let row: Row = diesel::sql_query("SELECT request_id FROM jobs WHERE id = $1")
        .bind::<SqlUuid, _>(job)
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.request_id.as_deref(), Some("submit-42"));
}
