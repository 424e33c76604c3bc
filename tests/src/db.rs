//! Per-test databases cloned from a migrated template.

use diesel::{sql_types::Text, QueryableByName};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// Server URL without a database (`KRONOS_TEST_DATABASE_URL`).
pub fn server_url() -> String {
    std::env::var("KRONOS_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

async fn admin() -> AsyncPgConnection {
    AsyncPgConnection::establish(&format!("{}/postgres", server_url())).await.expect("connect to PostgreSQL")
}

/// The template's name changes whenever the migrations (names or SQL) do, and with
/// the number of migrations this binary embeds (a binary built before a migration was
/// added must not name a template after files it does not apply).
fn template_name() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut files: Vec<_> = walk(&dir);
    files.sort();
    let mut hash = Sha256::new();
    for f in files {
        hash.update(f.to_string_lossy().as_bytes());
        hash.update(std::fs::read(&f).expect("read migration"));
    }
    let embedded = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&kronos_db::MIGRATIONS)
        .map(|m| m.len())
        .unwrap_or_default();
    hash.update(embedded.to_le_bytes());
    format!("kronos_tpl_{}", &hex::encode(hash.finalize())[..12])
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("migrations dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    datname: String,
}

async fn ensure_template() -> String {
    TEMPLATE
        .get_or_init(|| async {
            let name = template_name();
            let mut conn = admin().await;
            // serialise template creation across test processes
            diesel::sql_query("SELECT pg_advisory_lock(4242)").execute(&mut conn).await.expect("lock");
            let exists: Vec<Name> = diesel::sql_query("SELECT datname FROM pg_database WHERE datname = $1")
                .bind::<Text, _>(&name)
                .load(&mut conn)
                .await
                .expect("query");
            if exists.is_empty() {
                let building = format!("{name}_building");
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {building}"))
                    .execute(&mut conn)
                    .await
                    .expect("drop");
                diesel::sql_query(format!("CREATE DATABASE {building}")).execute(&mut conn).await.expect("create");
                kronos_db::migrate(&format!("{}/{building}", server_url())).await.expect("migrate template");
                diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("rename");
            }
            diesel::sql_query("SELECT pg_advisory_unlock(4242)").execute(&mut conn).await.expect("unlock");
            name
        })
        .await
        .clone()
}

/// A database for one test, dropped when the value is.
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl TestDb {
    /// Clones the migrated template into a fresh database.
    pub async fn create() -> Self {
        let template = ensure_template().await;
        let name = format!("kronos_t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin().await;
        let mut tries = 0;
        loop {
            match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut conn).await {
                Ok(_) => break,
                // "source database is being accessed by other users": another test is cloning it
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("create test database: {e}"),
            }
        }
        Self { url: format!("{}/{name}", server_url()), name }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = AsyncPgConnection::establish(&format!("{}/postgres", server_url())).await {
                    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}
