//! One module per subcommand.

pub mod assets;
pub mod backfill;
pub mod backtest;
pub mod candles;
pub mod forecast;
pub mod import;
pub mod jobs;
pub mod migrate;
pub mod models;
pub mod quality;
pub mod train;
pub mod users;

use diesel_async::AsyncPgConnection;
use kronos_db::audit::{self, NewAuditEntry};
use kronos_types::accounts::AuditAction;

/// Records an operator's change in the audit log, as done from the command line
/// (`user_id`: the account it concerns, if any).
pub(crate) async fn audit_cli(
    conn: &mut AsyncPgConnection,
    user_id: Option<i64>,
    action: AuditAction,
    details: serde_json::Value,
) -> anyhow::Result<()> {
    let entry = NewAuditEntry { actor_id: None, user_id, action, ip: Some("cli"), user_agent: Some("kronos"), details };
    audit::record(conn, &entry).await?;
    Ok(())
}
