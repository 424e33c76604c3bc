//! `kronos candles export|resample` against a real database.

use kronos_db::{assets, candles};
use kronos_market_data::import::parse_file;
use kronos_tests::{process::run_to_end, sample, TestEnv};
use kronos_types::Interval;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_round_trips_and_resample_stores_weeks() {
    let env = TestEnv::new().await;
    let series = sample::candles(60);
    let pool = kronos_db::pool(&env.config.database_url, 2).unwrap();
    let mut conn = pool.get().await.unwrap();
    let id = assets::ensure(&mut conn, "DEMO", "stock").await.unwrap();
    candles::upsert(&mut conn, id, Interval::D1, &series, "test").await.unwrap();

    for ext in ["csv", "parquet"] {
        let out = env.scratch.join(format!("demo.{ext}"));
        let run = run_to_end(
            "kronos",
            &env,
            &["candles", "export", "--symbol", "demo", "--interval", "1d", "--out", out.to_str().unwrap()],
        );
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let parsed = parse_file(&out, Some("DEMO"), None).unwrap();
        assert!(parsed.rejected.is_empty());
        assert_eq!(parsed.series["DEMO"], series, "{ext} round trip");
    }

    let run = run_to_end(
        "kronos",
        &env,
        &["candles", "resample", "--symbol", "DEMO", "--from-interval", "1d", "--to-interval", "1w"],
    );
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let weeks = candles::latest(&mut conn, id, Interval::W1, 100).await.unwrap();
    // 2024-01-01 is a Monday: 60 days = 8 full weeks + 4 days
    assert_eq!(weeks.len(), 9);
    assert_eq!(weeks[0].open, series[0].open);
    assert_eq!(weeks[0].close, series[6].close);
    assert_eq!(weeks[0].volume, series[..7].iter().map(|c| c.volume).sum::<f64>());
    let high = series[..7].iter().map(|c| c.high).fold(f64::MIN, f64::max);
    assert_eq!(weeks[0].high, high);

    let bad = run_to_end(
        "kronos",
        &env,
        &["candles", "resample", "--symbol", "DEMO", "--from-interval", "1w", "--to-interval", "1d"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot resample"));
    let unknown = run_to_end(
        "kronos",
        &env,
        &["candles", "export", "--symbol", "NOPE", "--interval", "1d", "--out", "/tmp/x.csv"],
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown symbol"));
}
