//! `audit_log`: an append-only record of who did what (a trigger refuses updates and
//! deletes). Rows are written in the transaction of the action they record.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use kronos_types::accounts::AuditAction;

use crate::{error::Result, schema::audit_log, words::Word};

/// A recorded action.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    /// Id (increasing).
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who acted (`None`: someone not logged in, e.g. a failed login).
    pub actor_id: Option<i64>,
    /// The account acted upon.
    pub user_id: Option<i64>,
    /// What.
    #[diesel(deserialize_as = Word<AuditAction>)]
    pub action: AuditAction,
    /// Client address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Details (never a secret).
    pub details: serde_json::Value,
}

/// An action to record.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    /// Who acted.
    pub actor_id: Option<i64>,
    /// The account acted upon.
    pub user_id: Option<i64>,
    /// What.
    pub action: AuditAction,
    /// Client address.
    pub ip: Option<&'a str>,
    /// Client user agent.
    pub user_agent: Option<&'a str>,
    /// Details.
    pub details: serde_json::Value,
}

/// Records an action.
pub async fn record(conn: &mut AsyncPgConnection, entry: &NewAuditEntry<'_>) -> Result<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor_id.eq(entry.actor_id),
            audit_log::user_id.eq(entry.user_id),
            audit_log::action.eq(entry.action.as_str()),
            audit_log::ip.eq(entry.ip),
            audit_log::user_agent.eq(entry.user_agent),
            audit_log::details.eq(&entry.details),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Acted upon or by this account.
    pub user_id: Option<i64>,
    /// This action.
    pub action: Option<AuditAction>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
    /// Entries older than this id (the previous page's last).
    pub before_id: Option<i64>,
}

/// Entries matching `filter`, newest first, at most `limit`.
pub async fn list(conn: &mut AsyncPgConnection, filter: &AuditFilter, limit: i64) -> Result<Vec<AuditEntry>> {
    let mut query =
        audit_log::table.select(AuditEntry::as_select()).order(audit_log::id.desc()).limit(limit).into_boxed();
    if let Some(user) = filter.user_id {
        query = query.filter(audit_log::user_id.eq(user).or(audit_log::actor_id.eq(user)));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_log::action.eq(action.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_log::at.lt(to));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(audit_log::id.lt(before));
    }
    Ok(query.load(conn).await?)
}
