use kronos_db::{assets, candles};
use kronos_tests::{http::TestApi, sample, TestEnv};
use kronos_types::Interval;
use serde_json::json;

async fn api() -> (TestEnv, TestApi) {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    (env, api)
}

fn assert_error(body: &serde_json::Value, code: &str, field: Option<&str>) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    match field {
        Some(f) => assert_eq!(body["error"]["field"], f, "{body}"),
        None => assert!(body["error"]["field"].is_null(), "{body}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepts_inline_prediction_with_location_and_job_status() {
    let (_env, api) = api().await;
    let r =
        api.client.post(api.url("/v1/predictions")).json(&sample::inline_request(50, 5, "naive")).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let body: serde_json::Value = r.json().await.unwrap();
    let id = body["job"]["id"].as_str().unwrap();
    assert_eq!(location, format!("/v1/jobs/{id}"));
    assert_eq!(body["job"]["status"], "queued");
    assert_eq!(body["job"]["kind"], "prediction");
    let (status, job) = api.get(&location).await;
    assert_eq!(status, 200);
    assert_eq!(job["id"], id);
    assert_eq!(job["attempts"], 0);
    assert_eq!(job["max_attempts"], 3);
    assert_eq!(job["links"]["result"], format!("/v1/predictions/{id}"));
    let (status, body) = api.get(&format!("/v1/predictions/{id}")).await;
    assert_eq!(status, 409, "not ready yet: {body}");
    assert_error(&body, "not_ready", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_a_400() {
    let (_env, api) = api().await;
    let r = api
        .client
        .post(api.url("/v1/predictions"))
        .header("content-type", "application/json")
        .body("{\"symbol\": \"AAPL\", ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_error(&body, "malformed_json", None);
    let r = api.client.post(api.url("/v1/predictions")).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 400, "missing content type");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_shapes_name_the_field() {
    let (_env, api) = api().await;
    let (s, b) = api
        .post_json("/v1/predictions", &json!({"symbol": "AAPL", "interval": "1d", "horizon": "ten", "model": "naive"}))
        .await;
    assert_eq!(s, 422);
    assert_error(&b, "invalid_field", Some("horizon"));
    let mut body = sample::inline_request(20, 2, "naive");
    body["candles"][3]["close"] = json!("x");
    let (s, b) = api.post_json("/v1/predictions", &body).await;
    assert_eq!(s, 422);
    assert_error(&b, "invalid_field", Some("candles[3].close"));
    let (s, b) = api
        .post_json(
            "/v1/predictions",
            &json!({"symbol": "AAPL", "interval": "1d", "horizon": 3, "model": "naive", "colour": 1}),
        )
        .await;
    assert_eq!(s, 422);
    assert!(b["error"]["message"].as_str().unwrap().contains("colour"), "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_unknown_symbol_model_interval_and_bad_horizon() {
    let (_env, api) = api().await;
    let cases = [
        (json!({"symbol": "NOPE", "interval": "1d", "horizon": 5, "model": "naive"}), "symbol"),
        (json!({"symbol": "NOPE", "interval": "1d", "horizon": 0, "model": "naive"}), "horizon"),
        (json!({"symbol": "NOPE", "interval": "1d", "horizon": 513, "model": "naive"}), "horizon"),
        (json!({"symbol": "NOPE", "interval": "2d", "horizon": 5, "model": "naive"}), "interval"),
        (json!({"symbol": "NOPE", "interval": "1d", "horizon": 5, "model": "oracle"}), "model"),
        (json!({"interval": "1d", "horizon": 5, "model": "naive"}), "symbol"),
    ];
    for (body, field) in cases {
        let (s, b) = api.post_json("/v1/predictions", &body).await;
        assert_eq!(s, 422, "{body} -> {b}");
        assert_error(&b, "invalid_field", Some(field));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_symbol_needs_enough_candles() {
    let (_env, api) = api().await;
    let mut conn = api.state.pool.get().await.unwrap();
    let id = assets::ensure(&mut conn, "abc", "stock").await.unwrap();
    candles::upsert(&mut conn, id, Interval::D1, &sample::candles(10), "test").await.unwrap();
    let (s, b) = api
        .post_json("/v1/predictions", &json!({"symbol": "ABC", "interval": "1d", "horizon": 20, "model": "drift"}))
        .await;
    assert_eq!(s, 422);
    assert_error(&b, "invalid_field", Some("symbol"));
    assert!(b["error"]["message"].as_str().unwrap().contains("10 stored"), "{b}");
    let (s, b) = api
        .post_json("/v1/predictions", &json!({"symbol": "abc", "interval": "1d", "horizon": 5, "model": "drift"}))
        .await;
    assert_eq!(s, 202, "{b}");
    let (s, b) = api
        .post_json("/v1/predictions", &json!({"symbol": "abc", "interval": "1h", "horizon": 5, "model": "drift"}))
        .await;
    assert_eq!(s, 422, "no hourly candles: {b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_or_too_few_or_unordered_inline_candles() {
    let (_env, api) = api().await;
    let (s, b) = api.post_json("/v1/predictions", &sample::inline_request(1001, 5, "naive")).await;
    assert_eq!(s, 422);
    assert_error(&b, "invalid_field", Some("candles"));
    assert!(b["error"]["message"].as_str().unwrap().contains("too many"), "{b}");
    let (s, b) = api.post_json("/v1/predictions", &sample::inline_request(6, 5, "naive")).await;
    assert_eq!(s, 422);
    assert_error(&b, "invalid_field", Some("candles"));
    let mut body = sample::inline_request(30, 5, "naive");
    body["candles"][7]["ts"] = body["candles"][2]["ts"].clone();
    let (s, b) = api.post_json("/v1/predictions", &body).await;
    assert_eq!(s, 422);
    assert_error(&b, "invalid_field", Some("candles[7].ts"));
    let mut body = sample::inline_request(30, 5, "naive");
    body["candles"][4]["low"] = json!(1e9);
    let (s, b) = api.post_json("/v1/predictions", &body).await;
    assert_eq!(s, 422);
    assert_error(&b, "invalid_field", Some("candles[4]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_replays_same_body_and_rejects_a_different_one() {
    let (_env, api) = api().await;
    let body = sample::inline_request(40, 3, "naive");
    let send = |b: serde_json::Value, key: &'static str| {
        let req = api.client.post(api.url("/v1/predictions")).header("Idempotency-Key", key).json(&b);
        async move {
            let r = req.send().await.unwrap();
            let replayed = r.headers().contains_key("idempotent-replayed");
            (r.status().as_u16(), replayed, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (s1, r1, b1) = send(body.clone(), "order-42").await;
    let (s2, r2, b2) = send(body.clone(), "order-42").await;
    assert_eq!((s1, r1), (202, false));
    assert_eq!((s2, r2), (202, true));
    assert_eq!(b1["job"]["id"], b2["job"]["id"]);
    let other = sample::inline_request(40, 4, "naive");
    let (s3, _, b3) = send(other, "order-42").await;
    assert_eq!(s3, 422);
    assert_error(&b3, "invalid_field", Some("Idempotency-Key"));
    let (s4, _, b4) = send(body, "order-43").await;
    assert_eq!(s4, 202);
    assert_ne!(b4["job"]["id"], b1["job"]["id"]);
    let mut conn = api.state.pool.get().await.unwrap();
    let all = kronos_db::jobs::list(&mut conn, &Default::default(), 100).await.unwrap();
    assert_eq!(all.len(), 2, "the rejected reuse stored nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_jobs_with_filters_and_cursor() {
    let (_env, api) = api().await;
    let mut ids = Vec::new();
    for _ in 0..7 {
        let (_, b) = api.post_json("/v1/predictions", &sample::inline_request(20, 2, "drift")).await;
        ids.push(b["job"]["id"].as_str().unwrap().to_owned());
    }
    let (s, page1) = api.get("/v1/jobs?kind=prediction&status=queued&limit=3").await;
    assert_eq!(s, 200);
    let got: Vec<&str> = page1["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(got, vec![ids[6].as_str(), ids[5].as_str(), ids[4].as_str()], "newest first");
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = api.get(&format!("/v1/jobs?limit=3&cursor={cursor}")).await;
    let got2: Vec<&str> = page2["jobs"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(got2, vec![ids[3].as_str(), ids[2].as_str(), ids[1].as_str()]);
    let (_, none) = api.get("/v1/jobs?status=succeeded").await;
    assert_eq!(none["jobs"].as_array().unwrap().len(), 0);
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("kind=nope", "kind"),
        ("status=done", "status"),
        ("cursor=zzz", "cursor"),
    ] {
        let (s, b) = api.get(&format!("/v1/jobs?{q}")).await;
        assert_eq!(s, 422, "{q}");
        assert_error(&b, "invalid_field", Some(field));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancels_queued_jobs_and_refuses_finished_ones() {
    let (_env, api) = api().await;
    let (_, b) = api.post_json("/v1/predictions", &sample::inline_request(20, 2, "naive")).await;
    let id = b["job"]["id"].as_str().unwrap().to_owned();
    let (s, job) = api.post_json(&format!("/v1/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(job["status"], "cancelled");
    assert!(job["finished_at"].is_string());
    let (s, b) = api.post_json(&format!("/v1/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!(s, 409);
    assert_error(&b, "already_finished", None);
    let (s, _) = api.post_json(&format!("/v1/jobs/{}/cancel", uuid::Uuid::now_v7()), &json!({})).await;
    assert_eq!(s, 404);
    let (s, b) = api.get("/v1/jobs/not-a-uuid").await;
    assert_eq!(s, 422);
    assert_error(&b, "invalid_field", Some("id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let (_env, api) = api().await;
    assert_eq!(api.get("/healthz").await.0, 200);
    let (s, b) = api.get("/readyz").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["postgres"]["status"], "ok");
    assert_eq!(b["redis"]["status"], "ok");
    assert_eq!(b["object_store"]["status"], "ok");
    api.post_json("/v1/predictions", &sample::inline_request(20, 2, "naive")).await;
    let text = api.client.get(api.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("kronos_jobs{kind=\"prediction\",status=\"queued\"} 1"), "{text}");
    assert!(
        text.contains("kronos_http_requests_total{method=\"POST\",route=\"/v1/predictions\",status=\"202\"} 1"),
        "{text}"
    );
    assert!(text.contains("kronos_queue_depth{kind=\"prediction\"}"), "{text}");
    assert!(text.contains("kronos_http_request_duration_seconds_bucket"), "{text}");
}
