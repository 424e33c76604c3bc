//! Alerts end to end: rules made through the API (bad input names the field; another
//! user's rule is a 404), a refresh whose latest bar crosses a price threshold sends
//! exactly one email to the SMTP server, a later refresh of the same bar sends none, the
//! model pools' scheduled forecasts are enqueued once per member per bar however many
//! schedulers run, and a forecast rule fires on that scheduled forecast — once per
//! cooldown, however many forecasts follow.

use std::time::Duration;

use chrono::Utc;
use kronos_db::{
    assets, candles,
    jobs::{self, NewJob},
    model_pools, models, users,
};
use kronos_scheduler::pool_forecasts;
use kronos_tests::{
    accounts::create_user,
    fake_exchange::FakeExchange,
    http::TestApi,
    process::{run_to_end, Proc},
    smtp, TestEnv,
};
use kronos_types::{
    accounts::{Role, Tier},
    catalogue::AssetSpec,
    jobs::{payload::RefreshPayload, JobKind},
    Interval,
};
use serde_json::{json, Value};
use uuid::Uuid;

const MAIL_WAIT: Duration = Duration::from_secs(60);

async fn wait_for_job(api: &TestApi, id: Uuid) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let (_, job) = api.get(&format!("/v1/jobs/{id}")).await;
        if ["succeeded", "failed", "cancelled"].contains(&job["status"].as_str().unwrap_or("")) {
            assert_eq!(job["status"], "succeeded", "{job}");
            return job;
        }
        assert!(std::time::Instant::now() < deadline, "job did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn refresh(api: &TestApi, interval: Interval) {
    let payload = RefreshPayload { interval, symbols: vec!["BTCUSDT".into()], since: None };
    let job = NewJob::new(JobKind::Refresh, serde_json::to_value(&payload).unwrap(), 3);
    let mut conn = api.state.pool.get().await.unwrap();
    let id = match jobs::insert_batch(&mut conn, &[job]).await.unwrap().pop() {
        Some(jobs::Inserted::Created(row)) => row.id,
        other => panic!("refresh not created: {other:?}"),
    };
    drop(conn);
    api.state.signal.wake();
    wait_for_job(api, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn price_and_forecast_alerts_fire_once_by_email() {
    let mut env = TestEnv::new().await;
    let exchange = FakeExchange::start().await;
    env.config.exchanges.binance_url = exchange.url.clone();
    env.config.exchanges.okx_url = exchange.url.clone();
    env.config.exchanges.coingecko_url = exchange.url.clone();
    let pool = kronos_db::pool(&env.config.database_url, 2).unwrap();
    let mut conn = pool.get().await.unwrap();
    let btc = AssetSpec {
        symbol: "BTCUSDT".into(),
        name: None,
        class: "crypto".into(),
        exchange: None,
        category: None,
        binance_symbol: Some("BTCUSDT".into()),
        okx_symbol: None,
        coingecko_id: None,
        market_cap_rank: None,
    };
    assets::upsert(&mut conn, &btc).await.unwrap();
    let asset = assets::find_by_symbol(&mut conn, "BTCUSDT").await.unwrap().unwrap();
    let api = TestApi::start(&env, true).await;
    let _worker = Proc::start("kronos-worker", &env, &["--devices", "cpu", "--torch-threads", "1"], &[]);
    let run = &Uuid::new_v4().simple().to_string()[..8];
    let ann = create_user(&env, &format!("alerts-ann-{run}"), Role::User, Tier::Pro, true).await;
    let bob = create_user(&env, &format!("alerts-bob-{run}"), Role::User, Tier::Pro, true).await;

    // bad input names the field
    for (body, field) in [
        (json!({"symbol": "BTCUSDT", "kind": "price_sideways", "threshold": 1.0}), "kind"),
        (json!({"symbol": "BTCUSDT", "kind": "price_above", "threshold": -1.0}), "threshold"),
        (json!({"symbol": "BTCUSDT", "kind": "prob_up_above", "threshold": 1.5}), "threshold"),
        (json!({"symbol": "NOPE", "kind": "price_above", "threshold": 1.0}), "symbol"),
        (json!({"symbol": "BTCUSDT", "kind": "price_above", "threshold": 1.0, "cooldown_secs": 5}), "cooldown_secs"),
        (json!({"symbol": "BTCUSDT", "kind": "price_above", "threshold": 1.0, "interval": "7m"}), "interval"),
        (json!({"symbol": "BTCUSDT", "kind": "price_above", "threshold": 1.0, "note": "x".repeat(201)}), "note"),
    ] {
        let (status, answer) = api.send_with(&ann.client(), "POST", "/v1/alerts", Some(&body)).await;
        assert_eq!((status, answer["error"]["field"].as_str()), (422, Some(field)), "{body}: {answer}");
    }

    // the hourly bars are stored; a rule just under the last close fires on the next refresh
    refresh(&api, Interval::H1).await;
    let close = candles::latest(&mut conn, asset.id, Interval::H1, 1).await.unwrap().pop().unwrap().close;
    let above = json!({"symbol": "BTCUSDT", "kind": "price_above", "threshold": close - 0.01, "interval": "1h",
                       "note": "take profit"});
    let (status, rule) = api.send_with(&ann.client(), "POST", "/v1/alerts", Some(&above)).await;
    assert_eq!(status, 201, "{rule}");
    let rule_id = rule["id"].as_i64().unwrap();
    let below = json!({"symbol": "BTCUSDT", "kind": "price_below", "threshold": close / 2.0, "interval": "1h"});
    let (status, quiet) = api.send_with(&ann.client(), "POST", "/v1/alerts", Some(&below)).await;
    assert_eq!(status, 201, "{quiet}");
    refresh(&api, Interval::H1).await;
    let mail = smtp::wait_for(&ann.email, 1, MAIL_WAIT).await;
    assert!(mail[0].subject.starts_with("Kronos alert: BTCUSDT closed at or above"), "{}", mail[0].subject);
    assert!(mail[0].text.contains("take profit") && mail[0].text.contains("/unsubscribe?token="), "{}", mail[0].text);
    let (_, events) = api.send_with(&ann.client(), "GET", &format!("/v1/alerts/{rule_id}/events"), None).await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1, "{events}");
    assert!(events["events"][0]["source"].as_str().unwrap().starts_with("candle:1h:"));
    let (_, events) = api.send_with(&ann.client(), "GET", &format!("/v1/alerts/{}/events", quiet["id"]), None).await;
    assert!(events["events"].as_array().is_some_and(Vec::is_empty), "{events}");
    // the same bar again: nothing new
    refresh(&api, Interval::H1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp::messages_to(&ann.email).len(), 1, "one email for one crossing");

    // a change is checked like a new rule
    for (body, field) in [
        (json!({"threshold": 0.0}), "threshold"),
        (json!({"cooldown_secs": 10}), "cooldown_secs"),
        (json!({"enabled": "yes"}), "enabled"),
    ] {
        let (status, answer) =
            api.send_with(&ann.client(), "PATCH", &format!("/v1/alerts/{rule_id}"), Some(&body)).await;
        assert_eq!((status, answer["error"]["field"].as_str()), (422, Some(field)), "{body}: {answer}");
    }
    let (status, answer) = api.send_with(&ann.client(), "GET", "/v1/alerts/abc", None).await;
    assert_eq!((status, answer["error"]["field"].as_str()), (422, Some("id")), "{answer}");

    // another user's rule is a 404, whatever the method
    for (method, path) in [
        ("GET", format!("/v1/alerts/{rule_id}")),
        ("PATCH", format!("/v1/alerts/{rule_id}")),
        ("DELETE", format!("/v1/alerts/{rule_id}")),
        ("GET", format!("/v1/alerts/{rule_id}/events")),
    ] {
        let body = (method == "PATCH").then(|| json!({"enabled": false}));
        let (status, _) = api.send_with(&bob.client(), method, &path, body.as_ref()).await;
        assert_eq!(status, 404, "{method} {path}");
    }
    let (_, listed) = api.send_with(&bob.client(), "GET", "/v1/alerts", None).await;
    assert!(listed["alerts"].as_array().unwrap().is_empty());

    // the pools' scheduled forecasts: a production Kronos with BTCUSDT in its pool, daily bars
    let fixtures = kronos_tests::fixtures::kronos_tiny_dir();
    let (tok, pred) = (fixtures.join("tokenizer"), fixtures.join("predictor"));
    let imported = run_to_end(
        "kronos",
        &env,
        &[
            "models",
            "import",
            "--name",
            "tiny",
            "--tokenizer",
            tok.to_str().unwrap(),
            "--predictor",
            pred.to_str().unwrap(),
        ],
    );
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let model = models::find_by_name(&mut conn, "tiny").await.unwrap().unwrap();
    model_pools::add_symbols(&mut conn, model.id, &["BTCUSDT".to_owned()], 1.0).await.unwrap();
    refresh(&api, Interval::D1).await;
    let forecast_rule = json!({"symbol": "BTCUSDT", "kind": "prob_up_above", "threshold": 0.0, "cooldown_secs": 3600});
    let (status, forecast_rule) = api.send_with(&ann.client(), "POST", "/v1/alerts", Some(&forecast_rule)).await;
    assert_eq!(status, 201, "{forecast_rule}");
    // two schedulers at the same moment: one job per member and bar
    let settle = chrono::Duration::seconds(30);
    let now = Utc::now();
    let mut other = pool.get().await.unwrap();
    let (mut memo_a, mut memo_b) = (Vec::new(), Vec::new());
    let (a, b) = tokio::join!(
        pool_forecasts::enqueue_due(&mut conn, now, settle, 3, &mut memo_a),
        pool_forecasts::enqueue_due(&mut other, now, settle, 3, &mut memo_b),
    );
    let first: Vec<Uuid> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    assert_eq!(first.len(), 1, "one job per member per bar, however many schedulers");
    let later = pool_forecasts::enqueue_due(&mut other, now + chrono::Duration::minutes(5), settle, 3, &mut memo_b);
    assert!(later.await.unwrap().is_empty(), "the same bar later: nothing");
    api.state.signal.wake();
    wait_for_job(&api, first[0]).await;
    let job = jobs::find(&mut conn, first[0]).await.unwrap().unwrap();
    assert_eq!(job.owner_id, None, "owned by the platform");
    let mail = smtp::wait_for(&ann.email, 2, MAIL_WAIT).await;
    assert!(mail[1].subject.contains("a forecast of BTCUSDT gives prob_up"), "{}", mail[1].subject);

    // Ann's own forecast meets the rule too, inside the cooldown: no second email
    let (status, created) = api
        .send_with(
            &ann.client(),
            "POST",
            "/v1/predictions",
            Some(&json!({"symbol": "BTCUSDT", "interval": "1d", "horizon": 3, "model": "tiny", "samples": 2})),
        )
        .await;
    assert_eq!(status, 202, "{created}");
    wait_for_job(&api, created["job"]["id"].as_str().unwrap().parse().unwrap()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(smtp::messages_to(&ann.email).len(), 2, "the cooldown holds");
    let (_, events) =
        api.send_with(&ann.client(), "GET", &format!("/v1/alerts/{}/events", forecast_rule["id"]), None).await;
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["source"], format!("prediction:{}", first[0]));

    // Bob asked to hear when his predictions finish (Ann did not: her forecast above
    // sent her nothing): one email, linking his history
    let preferences = json!({"prediction_jobs": true});
    let change =
        users::ProfileChange { notification_preferences: Some(preferences), ..users::ProfileChange::default() };
    users::update_profile(&mut conn, bob.id, &change).await.unwrap();
    let (status, created) = api
        .send_with(
            &bob.client(),
            "POST",
            "/v1/predictions",
            Some(&json!({"symbol": "BTCUSDT", "interval": "1d", "horizon": 2, "model": "naive"})),
        )
        .await;
    assert_eq!(status, 202, "{created}");
    let job_id = created["job"]["id"].as_str().unwrap().to_owned();
    wait_for_job(&api, job_id.parse().unwrap()).await;
    let mail = smtp::wait_for(&bob.email, 1, MAIL_WAIT).await;
    assert_eq!(mail[0].subject, "Kronos: your prediction is ready");
    assert!(mail[0].text.contains(&job_id) && mail[0].text.contains("/history"), "{}", mail[0].text);

    // rules can be changed and deleted by their owner
    let (status, changed) = api
        .send_with(
            &ann.client(),
            "PATCH",
            &format!("/v1/alerts/{rule_id}"),
            Some(&json!({"enabled": false, "note": null})),
        )
        .await;
    assert_eq!(
        (status, changed["enabled"].as_bool(), changed["note"].is_null()),
        (200, Some(false), true),
        "{changed}"
    );
    let (status, _) = api.send_with(&ann.client(), "DELETE", &format!("/v1/alerts/{rule_id}"), None).await;
    assert_eq!(status, 204);
}
