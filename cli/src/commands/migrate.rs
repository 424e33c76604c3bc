//! `kronos migrate`.

use kronos_config::Config;

/// Applies pending migrations and says which.
pub async fn run(config: &Config) -> anyhow::Result<()> {
    let applied = kronos_db::migrate(&config.database_url).await?;
    if applied.is_empty() {
        println!("database is up to date");
    } else {
        for version in applied {
            println!("applied {version}");
        }
    }
    Ok(())
}
