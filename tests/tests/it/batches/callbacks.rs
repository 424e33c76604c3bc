//! Completion callbacks of batches: signed, retried after a failure, and refused for
//! loopback, private and link-local targets (SSRF).

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callbacks_are_signed_retried_and_refused_for_internal_addresses() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, true).await;
    let _worker = worker(&env, &[]);
    let owner = enterprise(&env, "hooks").await;
    let client = owner.client();
    let secret: String = {
        let mut conn = api.state.pool.get().await.unwrap();
        let key: i64 = {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            kronos_db::schema::api_keys::table
                .filter(kronos_db::schema::api_keys::user_id.eq(owner.id))
                .select(kronos_db::schema::api_keys::id)
                .first(&mut conn)
                .await
                .unwrap()
        };
        kronos_db::callbacks::signing_secret(&mut conn, owner.id, Some(key)).await.unwrap()
    };
    assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");

    // SSRF: internal addresses are refused where they enter
    for url in
        ["http://169.254.169.254/latest/meta-data", "http://10.0.0.8/hook", "http://[fd00::1]/x", "ftp://example.com/"]
    {
        let body = json!({"model": "naive", "interval": "1d", "horizon": 3, "callback_url": url,
                          "series": [{"id": "a", "candles": series("a", 10, 1).candles}]});
        let response = client.post(api.url("/v1/batches")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 422, "{url}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], "callback_url", "{error}");
        let mut single = kronos_tests::sample::inline_request(30, 2, "naive");
        single["callback_url"] = json!(url);
        let response = client.post(api.url("/v1/predictions")).json(&single).send().await.unwrap();
        assert_eq!(response.status(), 422, "{url}");
    }

    // a receiver that fails once, then takes it
    let receiver = Receiver::start(&[500]).await;
    let body = json!({"model": "naive", "interval": "1d", "horizon": 3, "callback_url": receiver.url,
                      "series": [{"id": "a", "candles": series("a", 10, 1).candles},
                                 {"id": "b", "candles": series("b", 12, 2).candles}]});
    let response = client.post(api.url("/v1/batches")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let batch =
        wait_batch(&client, &api, &id, Duration::from_secs(60), |b| b["callback"]["status"] == "delivered").await;
    let attempts = batch["callback"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{batch}");
    assert_eq!((attempts[0]["status_code"].as_i64(), attempts[1]["status_code"].as_i64()), (Some(500), Some(200)));
    assert!(attempts[0]["error"].as_str().unwrap().contains("500"));
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].headers["kronos-event-id"], received[1].headers["kronos-event-id"]);
    for delivery in &received {
        let header = delivery.headers["kronos-signature"].to_str().unwrap();
        let now = Utc::now().timestamp();
        kronos_auth::signature::verify(header, &delivery.body, &[&secret], now, 300).expect("a valid signature");
        assert!(kronos_auth::signature::verify(header, &delivery.body, &["whsec_other"], now, 300).is_err());
    }
    let posted: Value = serde_json::from_slice(&received[1].body).unwrap();
    assert_eq!(posted["type"], "batch.finished");
    assert_eq!(posted["data"]["id"], id.as_str());
    assert_eq!(posted["data"]["status"], "succeeded");
    assert_eq!(posted["data"]["series_forecast"], 2);

    // a job's own callback
    let job_receiver = Receiver::start(&[]).await;
    let mut single = kronos_tests::sample::inline_request(30, 2, "naive");
    single["callback_url"] = json!(job_receiver.url);
    let response = client.post(api.url("/v1/predictions")).json(&single).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let job: Value = response.json().await.unwrap();
    let started = Instant::now();
    while job_receiver.received().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(30), "no job callback");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivery = &job_receiver.received()[0];
    let header = delivery.headers["kronos-signature"].to_str().unwrap();
    kronos_auth::signature::verify(header, &delivery.body, &[&secret], Utc::now().timestamp(), 300).unwrap();
    let posted: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!((posted["type"].as_str(), posted["data"]["status"].as_str()), (Some("job.finished"), Some("succeeded")));
    assert_eq!(posted["data"]["id"], job["job"]["id"]);
    let job_id = job["job"]["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let (_, view) = get(&client, &api, &format!("/v1/jobs/{job_id}")).await;
        if view["callback"]["status"] == "delivered" {
            assert_eq!(view["callback"]["attempts"][0]["status_code"], 200, "{view}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{view}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
