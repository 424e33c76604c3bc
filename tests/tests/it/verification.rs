//! Verification with known forecasts and actual candles: the stored results and the
//! accuracy endpoint match hand-computed errors, direction hits and p10–p90 coverage,
//! beside the naive baseline; a forecast whose candles have not all arrived waits.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use diesel_async::RunQueryDsl;
use kronos_db::{assets, jobs, jobs::NewJob, predictions, predictions::Prediction, users};
use kronos_scheduler::cron_tasks::{self, CronTask, SlotOutcome};
use kronos_tests::{
    accounts::create_user,
    http::TestApi,
    process::{run_to_end, Proc},
    smtp, TestEnv,
};
use kronos_types::{
    accounts::{Role, Tier},
    jobs::payload::ForecastRow,
};
use serde_json::{json, Value};
use uuid::Uuid;

/// Daily closes 100, 101, …, 109 from 2024-01-01 (high/low around them).
fn import_series(env: &TestEnv) {
    let mut csv = String::from("date,open,high,low,close,volume\n");
    for d in 0..10 {
        let c = 100.0 + f64::from(d);
        csv.push_str(&format!("2024-01-{:02},{c},{},{},{c},1000\n", d + 1, c + 1.0, c - 1.0));
    }
    let path = env.scratch.join("ver.csv");
    std::fs::write(&path, csv).unwrap();
    let out =
        run_to_end("kronos", env, &["import", "--file", path.to_str().unwrap(), "--symbol", "VER", "--interval", "1d"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A finished prediction job forecasting `closes` (with p10/p90) after day `last_day`.
async fn predict(env: &TestEnv, owner: i64, model: &str, last_day: u32, closes: &[(f64, f64, f64)]) -> Uuid {
    let pool = kronos_db::pool(&env.config.database_url, 1).unwrap();
    let mut conn = pool.get().await.unwrap();
    let asset = assets::find_by_symbol(&mut conn, "VER").await.unwrap().unwrap();
    let job = NewJob { owner_id: Some(owner), ..NewJob::new(kronos_types::jobs::JobKind::Prediction, json!({}), 1) };
    let id = job.id;
    jobs::insert_batch(&mut conn, &[job]).await.unwrap();
    diesel::sql_query("UPDATE jobs SET status = 'succeeded', dispatched_at = now() WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(id)
        .execute(&mut conn)
        .await
        .unwrap();
    let last_ts = Utc.with_ymd_and_hms(2024, 1, last_day, 0, 0, 0).unwrap();
    let rows: Vec<ForecastRow> = closes
        .iter()
        .enumerate()
        .map(|(i, (close, p10, p90))| ForecastRow {
            ts: last_ts + chrono::Duration::days(i as i64 + 1),
            open: *close,
            high: *close,
            low: *close,
            close: *close,
            volume: 0.0,
            amount: 0.0,
            p10: *p10,
            p50: *close,
            p90: *p90,
        })
        .collect();
    let prediction = Prediction {
        job_id: id,
        asset_id: Some(asset.id),
        interval: "1d".into(),
        model: model.into(),
        horizon: rows.len() as i32,
        last_ts,
        last_close: 100.0 + f64::from(last_day - 1),
        forecast: serde_json::to_value(&rows).unwrap(),
        prob_up: 0.5,
        artifact_key: format!("predictions/{id}.json"),
        created_at: last_ts,
        expires_at: rows.last().unwrap().ts,
        expected_return: None,
        volatility: None,
        value_at_risk_5: None,
        raw_forecast: None,
        as_of: None,
        calendar: None,
    };
    assert!(predictions::insert(&mut conn, &prediction).await.unwrap());
    id
}

fn close(a: &Value, b: f64) -> bool {
    (a.as_f64().unwrap() - b).abs() < 1e-9
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_matches_hand_computed_accuracy() {
    let env = TestEnv::new().await;
    import_series(&env);
    // after day 3 (close 102): actual 103, 104, 105
    // an address of this run only: the SMTP server's maildir outlives a test
    let name = format!("owner-{}", &Uuid::new_v4().simple().to_string()[..8]);
    let owner = create_user(&env, &name, Role::User, Tier::Pro, true).await;
    let as_owner = owner.client();
    predict(&env, owner.id, "ver-model", 3, &[(104.0, 102.0, 106.0), (103.0, 103.5, 104.5), (106.0, 100.0, 104.0)])
        .await;
    // after day 5 (close 104): actual 105, 106
    predict(&env, owner.id, "ver-model", 5, &[(103.0, 102.0, 105.0), (108.0, 104.0, 107.0)]).await;
    // after day 9 (close 108): only day 10 exists, so it waits
    predict(&env, owner.id, "ver-model", 9, &[(109.0, 108.0, 110.0), (110.0, 109.0, 111.0)]).await;

    let api = TestApi::start(&env, true).await;
    let _worker = Proc::start("kronos-worker", &env, &["--devices", "cpu", "--torch-threads", "1"], &[]);
    let (status, created) = api.post_json("/v1/verifications", &json!({})).await;
    assert_eq!(status, 202, "{created}");
    let id = created["job"]["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let job = loop {
        let (_, job) = api.get(&format!("/v1/jobs/{id}")).await;
        if job["status"] == "succeeded" {
            break job;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(job["result"], json!({"examined": 3, "verified": 2, "awaiting_candles": 1}));

    // By hand. Errors (forecast − actual): first +1, −1, +1; second −2, +2 → 5 steps.
    // MAE = 7/5, RMSE = √(1+1+1+4+4)/5 = √(11/5), MAPE = (1/103 + 1/104 + 1/105 + 2/105 + 2/106)/5.
    // Coverage: 103 ∈ [102,106] ✓, 104 ∉ [103.5,104.5]? 104 ∈ ✓, 105 ∉ [100,104] ✗;
    //           105 ∈ [102,105] ✓, 106 ∈ [104,107] ✓ → 4/5.
    // Direction: first says up (106 > 102), actual 105 > 102 up: hit; second says up
    // (108 > 104), actual 106 > 104: hit → 1.
    // Naive (last close every step): first −1, −2, −3; second −1, −2 → MAE 9/5,
    // RMSE √(1+4+9+1+4)/5 = √(19/5); direction = last bar's (always up here): hits 2/2.
    // the owner sees their accuracy; the admin sees their own (none) unless they ask
    // for everyone's
    let (status, accuracy) = api.send_with(&as_owner, "GET", "/v1/accuracy?model=ver-model", None).await;
    let (_, admins_own) = api.get("/v1/accuracy?model=ver-model").await;
    assert_eq!(admins_own["groups"], json!([]), "{admins_own}");
    let (_, everyone) = api.get("/v1/accuracy?model=ver-model&user=all").await;
    assert_eq!(everyone["groups"], accuracy["groups"], "{everyone}");
    assert_eq!(status, 200, "{accuracy}");
    let g = &accuracy["groups"][0];
    assert_eq!(g["key"], "ver-model");
    assert_eq!((g["predictions"].as_i64(), g["steps"].as_i64()), (Some(2), Some(5)));
    assert!(close(&g["model"]["mae"], 7.0 / 5.0), "{g}");
    assert!(close(&g["model"]["rmse"], (11.0f64 / 5.0).sqrt()), "{g}");
    let mape = (1.0 / 103.0 + 1.0 / 104.0 + 1.0 / 105.0 + 2.0 / 105.0 + 2.0 / 106.0) / 5.0;
    assert!(close(&g["model"]["mape"], mape), "{g}");
    assert!(close(&g["model"]["coverage_p10_p90"], 0.8), "{g}");
    assert!(close(&g["model"]["direction_accuracy"], 1.0), "{g}");
    assert!(close(&g["naive"]["mae"], 9.0 / 5.0), "{g}");
    assert!(close(&g["naive"]["rmse"], (19.0f64 / 5.0).sqrt()), "{g}");
    assert!(close(&g["naive"]["direction_accuracy"], 1.0), "{g}");
    assert_eq!(g["beats_naive_mae"], true);

    // other groupings and filters
    let (_, by_asset) = api.send_with(&as_owner, "GET", "/v1/accuracy?group_by=asset&asset=VER", None).await;
    assert_eq!(by_asset["groups"][0]["key"], "VER");
    let (_, by_user) = api.get("/v1/accuracy?group_by=user&user=all").await;
    assert_eq!(by_user["groups"][0]["key"], owner.id.to_string());
    let (_, later) = api.send_with(&as_owner, "GET", "/v1/accuracy?from=2024-01-04", None).await;
    assert_eq!(later["groups"][0]["predictions"], 1, "only the forecast made on day 5: {later}");
    // a model filter naming nothing known is a 404, not an empty list
    let (status, none) = api.send_with(&as_owner, "GET", "/v1/accuracy?model=other", None).await;
    assert_eq!(status, 404, "{none}");

    // a second run verifies nothing twice
    let (_, again) = api.post_json("/v1/verifications", &json!({"limit": 10})).await;
    let id2 = again["job"]["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    loop {
        let (_, job) = api.get(&format!("/v1/jobs/{id2}")).await;
        if job["status"] == "succeeded" {
            assert_eq!(job["result"], json!({"examined": 1, "verified": 0, "awaiting_candles": 1}));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // bad input
    for (query, field) in [
        ("group_by=colour", "group_by"),
        ("from=2024-02-01&to=2024-01-01", "from"),
        ("from=yesterday", "from"),
        ("user=abc", "user"),
    ] {
        let (status, answer) = api.get(&format!("/v1/accuracy?{query}")).await;
        assert_eq!(status, 422, "{query}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{query}: {answer}");
    }
    assert_eq!(api.get("/v1/accuracy?asset=NOPE").await.0, 404);
    let (status, answer) = api.post_json("/v1/verifications", &json!({"limit": 0})).await;
    assert_eq!((status, answer["error"]["field"].as_str()), (422, Some("limit")), "{answer}");

    // the weekly digest: the owner asks for it; the Monday slot after those forecasts
    // emails the week's verified forecasts beside naive, once however often it runs
    let pool = kronos_db::pool(&env.config.database_url, 1).unwrap();
    let mut conn = pool.get().await.unwrap();
    let change = users::ProfileChange {
        notification_preferences: Some(json!({"weekly_digest": true})),
        ..users::ProfileChange::default()
    };
    users::update_profile(&mut conn, owner.id, &change).await.unwrap();
    let key = env.config.auth.jwt_keys[0].1.expose().as_bytes().to_vec();
    let links = kronos_notify::Links { public_url: &env.config.auth.public_url, unsubscribe_key: &key };
    let settings = cron_tasks::SlotSettings { retention: chrono::Duration::days(90), links: Some(links) };
    let monday = Utc.with_ymd_and_hms(2024, 1, 8, 8, 0, 0).unwrap();
    let ran = cron_tasks::run_slot(&mut conn, CronTask::Digest, monday, false, settings).await.unwrap();
    assert_eq!(ran, SlotOutcome::Skipped("1 digests queued".into()));
    let again = cron_tasks::run_slot(&mut conn, CronTask::Digest, monday, false, settings).await.unwrap();
    assert_eq!(again, SlotOutcome::Taken, "a slot runs once");
    let mail = smtp::wait_for(&owner.email, 1, Duration::from_secs(30)).await;
    assert_eq!(mail[0].subject, "Kronos: your forecasts this week (1 models)");
    assert!(
        mail[0].text.contains("ver-model: 2 verified forecasts; MAE 1.4000 against naive 1.8000 (beats naive)"),
        "{}",
        mail[0].text
    );
    assert!(mail[0].text.contains(".weekly_digest."), "its unsubscribe link: {}", mail[0].text);
}
