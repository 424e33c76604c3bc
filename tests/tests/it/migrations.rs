//! Every migration's down.sql works: revert everything, then apply again.

use diesel::{sql_types::BigInt, QueryableByName};
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::MigrationHarness;
use kronos_db::MIGRATIONS;
use kronos_tests::TestEnv;

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn tables(url: &str) -> i64 {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let row: N = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    row.n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_revert_and_reapply() {
    let env = TestEnv::new().await;
    let url = env.config.database_url.clone();
    assert_eq!(tables(&url).await, 28);
    let conn = AsyncPgConnection::establish(&url).await.unwrap();
    let mut harness = AsyncMigrationHarness::new(conn);
    let reverted = harness.revert_all_migrations(MIGRATIONS).unwrap().len();
    assert!(reverted > 0);
    drop(harness);
    assert_eq!(tables(&url).await, 0);
    let applied = kronos_db::migrate(&url).await.unwrap();
    assert_eq!(applied.len(), reverted);
    assert_eq!(tables(&url).await, 28);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candles_only_reference_existing_assets_and_assets_with_candles_stay() {
    let env = TestEnv::new().await;
    let mut conn = AsyncPgConnection::establish(&env.config.database_url).await.unwrap();
    let run = |sql: &'static str| diesel::sql_query(sql);
    run("INSERT INTO assets (id, symbol, name, class) VALUES (901, 'KEEP', 'Keep', 'stock'), (902, 'BARE', 'Bare', 'stock')")
        .execute(&mut conn)
        .await
        .unwrap();
    let insert = "INSERT INTO candles (asset_id, interval, ts, open, high, low, close) VALUES
        (901, '1d', '2024-01-01', 1, 2, 1, 1), (901, '1d', '2024-01-02', 1, 2, 1, 1)";
    run(insert).execute(&mut conn).await.unwrap();
    // one unknown asset in a statement refuses the whole statement
    let err = run("INSERT INTO candles (asset_id, interval, ts, open, high, low, close) VALUES
        (901, '1d', '2024-01-03', 1, 2, 1, 1), (999, '1d', '2024-01-03', 1, 2, 1, 1)")
    .execute(&mut conn)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("asset 999 which does not exist"), "{err}");
    let err = run("UPDATE candles SET asset_id = 998 WHERE ts = '2024-01-02'").execute(&mut conn).await.unwrap_err();
    assert!(err.to_string().contains("998"), "{err}");
    let n: N = run("SELECT count(*) AS n FROM candles").get_result(&mut conn).await.unwrap();
    assert_eq!(n.n, 2, "refused statements wrote nothing");
    // an asset with candles stays; one without can go
    let err = run("DELETE FROM assets WHERE id = 901").execute(&mut conn).await.unwrap_err();
    assert!(err.to_string().contains("has candles"), "{err}");
    assert_eq!(run("DELETE FROM assets WHERE id = 902").execute(&mut conn).await.unwrap(), 1);
}

/// The text columns read into enums allow exactly the enums' words: a word the code
/// does not know cannot be stored, and every word the code writes can be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_constraints_allow_exactly_the_enums_words() {
    use std::collections::BTreeSet;

    use diesel::sql_types::Text;
    use kronos_types::{
        alerts::AlertKind,
        billing::SubscriptionStatus,
        jobs::{JobKind, JobStatus},
        registry::{ModelFamily, ModelSource, ModelStatus},
    };

    #[derive(QueryableByName)]
    struct Def {
        #[diesel(sql_type = Text)]
        def: String,
    }
    let env = TestEnv::new().await;
    let mut conn = AsyncPgConnection::establish(&env.config.database_url).await.unwrap();
    let words = |all: Vec<&'static str>| all.into_iter().map(str::to_owned).collect::<BTreeSet<_>>();
    let cases = [
        ("jobs_kind_check", words(JobKind::ALL.iter().map(|k| k.as_str()).collect())),
        ("jobs_status_check", words(JobStatus::ALL.iter().map(|s| s.as_str()).collect())),
        ("models_family_check", words(ModelFamily::ALL.iter().map(|f| f.as_str()).collect())),
        ("models_status_check", words(ModelStatus::ALL.iter().map(|s| s.as_str()).collect())),
        ("models_source_check", words(ModelSource::ALL.iter().map(|s| s.as_str()).collect())),
        ("subscriptions_status_check", words(SubscriptionStatus::ALL.iter().map(|s| s.as_str()).collect())),
        ("alerts_kind_check", words(AlertKind::ALL.iter().map(|k| k.as_str()).collect())),
    ];
    for (constraint, expected) in cases {
        let row: Def =
            diesel::sql_query("SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = $1")
                .bind::<Text, _>(constraint)
                .get_result(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{constraint}: {e}"));
        let allowed: BTreeSet<String> = row.def.split('\'').skip(1).step_by(2).map(str::to_owned).collect();
        assert_eq!(allowed, expected, "{constraint}: {}", row.def);
    }
}
