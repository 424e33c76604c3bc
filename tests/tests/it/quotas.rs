//! Daily quotas: taken in the transaction that writes the job, so 50 concurrent
//! submissions of a free user (3 predictions a day) give exactly 3 jobs; an
//! idempotent replay is not charged twice; an over-quota answer is a 429 naming the
//! limit and the reset; API-key requests count against the tier's API calls, shared by
//! every API process; admins have no quota.

use futures::{stream, StreamExt};
use kronos_tests::{accounts::create_user, http::TestApi, sample, TestEnv};
use kronos_types::accounts::{Role, Tier};
use serde_json::{json, Value};

fn used(usage: &Value, metric: &str) -> i64 {
    usage["metrics"].as_array().expect("metrics").iter().find(|m| m["metric"] == metric).expect(metric)["used"]
        .as_i64()
        .expect("used")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_submissions_at_the_limit_give_exactly_the_quota() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    // a session (not a key): its requests are not API calls
    let user = create_user(&env, "free", Role::User, Tier::Free, true).await;
    let (_, session) = api
        .send_with(
            &reqwest::Client::new(),
            "POST",
            "/v1/auth/login",
            Some(&json!({"email": user.email, "password": kronos_tests::accounts::PASSWORD})),
        )
        .await;
    let client = kronos_tests::accounts::client_with(session["access_token"].as_str().expect("token"));
    let body = sample::inline_request(40, 3, "naive");
    let answers: Vec<(u16, Value)> = stream::iter(0..50)
        .map(|_| api.send_with(&client, "POST", "/v1/predictions", Some(&body)))
        .buffer_unordered(50)
        .collect()
        .await;
    let accepted = answers.iter().filter(|(s, _)| *s == 202).count();
    let refused: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 429).map(|(_, b)| b).collect();
    assert_eq!((accepted, refused.len()), (3, 47), "{answers:?}");
    let quota = &refused[0]["error"]["quota"];
    assert_eq!(refused[0]["error"]["code"], "quota_exceeded");
    assert_eq!(
        (quota["metric"].as_str(), quota["tier"].as_str(), quota["limit"].as_i64()),
        (Some("predictions"), Some("free"), Some(3))
    );
    assert!(quota["resets_at"].as_str().is_some_and(|t| t.ends_with("T00:00:00Z")), "{quota}");
    let (_, usage) = api.send_with(&client, "GET", "/v1/me/usage", None).await;
    assert_eq!(used(&usage, "predictions"), 3, "{usage}");
    let (_, jobs) = api.send_with(&client, "GET", "/v1/jobs", None).await;
    assert_eq!(jobs["jobs"].as_array().expect("jobs").len(), 3, "no job beyond the quota was written");
    let response = client.post(api.url("/v1/predictions")).json(&body).send().await.expect("request");
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=86_400).contains(&retry), "{retry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replays_are_free_keys_count_api_calls_and_admins_have_no_quota() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    let user = create_user(&env, "replayer", Role::User, Tier::Free, true).await;
    let client = user.client();
    let body = sample::inline_request(40, 3, "naive");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let response = client
            .post(api.url("/v1/predictions"))
            .header("Idempotency-Key", "same-request")
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 202);
        let answer: Value = response.json().await.expect("json");
        ids.push(answer["job"]["id"].clone());
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "one job: {ids:?}");
    let (_, usage) = api.send_with(&client, "GET", "/v1/me/usage", None).await;
    assert_eq!(used(&usage, "predictions"), 1, "replays cost nothing: {usage}");
    // every request with the key was an API call: 3 submissions and the usage read
    assert_eq!(used(&usage, "api_calls"), 4, "{usage}");
    let limit =
        usage["metrics"].as_array().expect("metrics").iter().find(|m| m["metric"] == "api_calls").expect("calls")
            ["limit"]
            .clone();
    assert_eq!(limit, 10);
    for _ in 0..6 {
        assert_eq!(api.send_with(&client, "GET", "/v1/me", None).await.0, 200);
    }
    let (status, over) = api.send_with(&client, "GET", "/v1/me", None).await;
    assert_eq!((status, over["error"]["quota"]["metric"].as_str()), (429, Some("api_calls")), "{over}");
    // the admin's work is not counted against any limit
    for _ in 0..5 {
        assert_eq!(api.post_json("/v1/predictions", &body).await.0, 202);
    }
    let (_, admin_usage) = api.get("/v1/me/usage").await;
    assert!(admin_usage["metrics"].as_array().expect("metrics").iter().all(|m| m["limit"].is_null()), "{admin_usage}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_processes_share_the_daily_api_call_count() {
    let env = TestEnv::new().await;
    let (a, b) = (TestApi::start(&env, false).await, TestApi::start(&env, false).await);
    let user = create_user(&env, "two-apis", Role::User, Tier::Free, true).await;
    let client = user.client();
    for _ in 0..5 {
        assert_eq!(a.send_with(&client, "GET", "/v1/me", None).await.0, 200);
    }
    // reading the usage sends this process's count first
    assert_eq!(used(&a.send_with(&client, "GET", "/v1/me/usage", None).await.1, "api_calls"), 6);
    // the other process starts from the shared count
    assert_eq!(used(&b.send_with(&client, "GET", "/v1/me/usage", None).await.1, "api_calls"), 7);
    for _ in 0..3 {
        assert_eq!(b.send_with(&client, "GET", "/v1/me", None).await.0, 200);
    }
    assert_eq!(b.send_with(&client, "GET", "/v1/me", None).await.0, 429, "10 of 10 used");
    // the first process learns the others' calls within two flushes: a call made at
    // once may pass (the documented overshoot), one made later may not
    let at_once = a.send_with(&client, "GET", "/v1/me", None).await.0;
    assert!(matches!(at_once, 200 | 429), "{at_once}");
    tokio::time::sleep(kronos_api::auth::meter::FLUSH_EVERY * 5).await;
    let (status, over) = a.send_with(&client, "GET", "/v1/me", None).await;
    assert_eq!((status, over["error"]["quota"]["metric"].as_str()), (429, Some("api_calls")), "{over}");
    let admitted = 10 + u64::from(at_once == 200);
    assert_eq!(b.state.api_calls.today(user.id).await.expect("count"), admitted, "every admitted call counted once");
}
