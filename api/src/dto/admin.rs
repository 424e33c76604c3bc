//! `/v1/admin/*`: user management and the audit log.

use chrono::{DateTime, Utc};
use kronos_db::audit::AuditEntry;
use kronos_types::accounts::{AuditAction, Role, Tier};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::me::MeView;

/// A page of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    /// Accounts by id.
    pub users: Vec<MeView>,
    /// The `after` of the next page (`null` on the last).
    pub next_after: Option<i64>,
}

/// `PATCH /v1/admin/users/{id}`: fields sent change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// `user` or `admin`.
    #[serde(default)]
    pub role: Option<Role>,
    /// `free`, `basic`, `pro` or `enterprise`.
    #[serde(default)]
    pub tier: Option<Tier>,
    /// Disable (sessions and keys stop working) or enable the account.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// One audited action.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    /// Id (the page cursor).
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who acted (`null`: not logged in).
    pub actor_id: Option<i64>,
    /// The account acted upon.
    pub user_id: Option<i64>,
    /// What.
    pub action: AuditAction,
    /// Client address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Details.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor_id: e.actor_id,
            user_id: e.user_id,
            action: e.action,
            ip: e.ip,
            user_agent: e.user_agent,
            details: e.details,
        }
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Entries.
    pub entries: Vec<AuditView>,
    /// The `cursor` of the next page (`null` on the last).
    pub next_cursor: Option<i64>,
}
