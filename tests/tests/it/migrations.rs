//! Every migration's down.sql works: revert everything, then apply again.

use diesel::{sql_types::BigInt, QueryableByName};
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::MigrationHarness;
use kronos_shared::db::MIGRATIONS;
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
    assert_eq!(tables(&url).await, 13);
    let conn = AsyncPgConnection::establish(&url).await.unwrap();
    let mut harness = AsyncMigrationHarness::new(conn);
    let reverted = harness.revert_all_migrations(MIGRATIONS).unwrap().len();
    assert!(reverted > 0);
    drop(harness);
    assert_eq!(tables(&url).await, 0);
    let applied = kronos_shared::db::migrate(&url).await.unwrap();
    assert_eq!(applied.len(), reverted);
    assert_eq!(tables(&url).await, 13);
}
