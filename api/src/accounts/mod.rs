//! The account work handlers call: registration and address verification, sessions
//! (login, refresh with rotation and reuse detection, logout), password resets and
//! changes, and the emails they send. Each operation writes its rows, its audit entry
//! and its outbox message in one transaction.

pub mod emails;
pub mod passwords;
pub mod profile;
pub mod register;
pub mod reset;
pub mod sessions;

use kronos_db::audit::{self, NewAuditEntry};
use kronos_types::accounts::AuditAction;

use crate::auth::Client;

/// Records `action` on `user_id` by `actor_id` from `client`.
pub async fn audit(
    conn: &mut diesel_async::AsyncPgConnection,
    client: &Client,
    actor_id: Option<i64>,
    user_id: Option<i64>,
    action: AuditAction,
    details: serde_json::Value,
) -> Result<(), kronos_db::Error> {
    audit::record(
        conn,
        &NewAuditEntry {
            actor_id,
            user_id,
            action,
            ip: Some(&client.ip),
            user_agent: client.user_agent.as_deref(),
            details,
        },
    )
    .await
}
