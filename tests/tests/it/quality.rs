//! Data quality: refused rows (bad prices, OHLC inconsistencies, duplicate timestamps)
//! land in the quarantine with their reason, and the report shows them with gaps,
//! outliers and stale runs — through the API and the CLI.

use kronos_tests::{http::TestApi, process::run_to_end, TestEnv};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_quarantines_bad_rows_and_the_report_shows_them() {
    let env = TestEnv::new().await;
    // weekdays from Mon 2024-03-04; Thu 03-07 missing (a gap), a duplicate of 03-05,
    // a negative price, high below low, then a flat run of 6 identical bars
    let mut text = String::from("Date,Open,High,Low,Close,Volume\n");
    text.push_str("2024-03-04,10,11,9,10.5,100\n");
    text.push_str("2024-03-05,10.5,11,10,10.8,100\n");
    text.push_str("2024-03-05,10.5,11,10,10.9,100\n");
    text.push_str("2024-03-06,10.9,11.2,10.7,11,90\n");
    text.push_str("2024-03-08,-1,11.2,10.7,11,90\n");
    text.push_str("2024-03-11,11,10,10.5,10.8,90\n");
    for day in ["2024-03-12", "2024-03-13", "2024-03-14", "2024-03-15", "2024-03-18", "2024-03-19"] {
        text.push_str(&format!("{day},11,11,11,11,50\n"));
    }
    let file = env.scratch.join("acme.csv");
    std::fs::write(&file, text).unwrap();
    let out = run_to_end(
        "kronos",
        &env,
        &["import", "--file", file.to_str().unwrap(), "--symbol", "ACME", "--interval", "1d"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("3 rejected (3 kept in candle_quarantine)"), "{stdout}");

    let api = TestApi::start(&env, false).await;
    let (status, report) = api.get("/v1/assets/ACME/quality?interval=1d").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["candles"], 9);
    assert_eq!(report["calendar"], "weekdays");
    // 03-07, 03-08 (quarantined) and 03-11 (quarantined) are missing between 03-06 and 03-12
    assert_eq!(report["missing_bars"], 3);
    assert_eq!(report["gap_count"], 1);
    assert_eq!(report["stale_run_count"], 1);
    assert_eq!(report["stale_runs"][0]["bars"], 6);
    assert_eq!(report["invalid_rows"], 0);
    let quarantined = report["quarantined"].as_object().unwrap();
    assert_eq!(quarantined.values().map(|v| v.as_i64().unwrap()).sum::<i64>(), 3, "{quarantined:?}");
    assert_eq!(quarantined["duplicate timestamp"], 1, "{quarantined:?}");
    assert!(quarantined.keys().any(|k| k.contains("open must be positive")), "{quarantined:?}");
    assert!(quarantined.keys().any(|k| k.contains("high")), "{quarantined:?}");

    // the refused rows keep their raw content and row numbers
    let mut conn = api.state.pool.get().await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Int4>)]
        row_number: Option<i32>,
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        raw: Value,
    }
    let rows: Vec<Row> = diesel_async::RunQueryDsl::load(
        diesel::sql_query("SELECT row_number, raw FROM candle_quarantine WHERE symbol = 'ACME' ORDER BY row_number"),
        &mut conn,
    )
    .await
    .unwrap();
    assert_eq!(rows.iter().map(|r| r.row_number.unwrap()).collect::<Vec<_>>(), vec![2, 5, 6]);
    assert_eq!(rows[1].raw["Open"], "-1", "the row as it was in the file");

    let cli = run_to_end("kronos", &env, &["quality", "--symbol", "acme", "--interval", "1d", "--json"]);
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let from_cli: Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(from_cli, report);

    for (path, status) in [("/v1/assets/ACME/quality", 422), ("/v1/assets/NOPE/quality?interval=1d", 404)] {
        assert_eq!(api.get(path).await.0, status, "{path}");
    }
    let bad = run_to_end("kronos", &env, &["quality", "--symbol", "NOPE", "--interval", "1d"]);
    assert!(!bad.status.success());
}
