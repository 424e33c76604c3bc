//! `alerts` and `alert_events`: users' rules on assets, and each time one fired. An
//! event is unique per (alert, source), so the same candle or forecast never fires a
//! rule twice; evaluation takes the alert's row lock, so two workers agree.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use kronos_types::alerts::AlertKind;

use crate::{
    error::Result,
    schema::{alert_events, alerts, assets},
    words::Word,
};

/// A rule.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = alerts)]
pub struct Alert {
    /// Id.
    pub id: i64,
    /// Its user.
    pub owner_id: i64,
    /// The asset watched.
    pub asset_id: i64,
    /// What it watches.
    #[diesel(deserialize_as = Word<AlertKind>)]
    pub kind: AlertKind,
    /// The threshold (a price, a percentage or a probability, by kind).
    pub threshold: f64,
    /// The candles price rules read.
    pub interval: String,
    /// Least time between two firings.
    pub cooldown_secs: i32,
    /// Off: never evaluated.
    pub enabled: bool,
    /// The user's note.
    pub note: Option<String>,
    /// Whether the price condition held at the last evaluation.
    pub last_met: Option<bool>,
    /// Last firing.
    pub last_fired_at: Option<DateTime<Utc>>,
    /// Made.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A rule to make.
#[derive(Debug, Clone)]
pub struct NewAlert<'a> {
    /// Its user.
    pub owner_id: i64,
    /// The asset.
    pub asset_id: i64,
    /// Kind.
    pub kind: AlertKind,
    /// Threshold.
    pub threshold: f64,
    /// Interval of the candles.
    pub interval: &'a str,
    /// Cooldown.
    pub cooldown_secs: i32,
    /// On.
    pub enabled: bool,
    /// Note.
    pub note: Option<&'a str>,
}

/// A change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AlertChange {
    /// Threshold.
    pub threshold: Option<f64>,
    /// Cooldown.
    pub cooldown_secs: Option<i32>,
    /// On or off.
    pub enabled: Option<bool>,
    /// Note (`Some(None)` clears it).
    pub note: Option<Option<String>>,
}

/// One firing.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = alert_events)]
pub struct AlertEvent {
    /// Id.
    pub id: i64,
    /// The rule.
    pub alert_id: i64,
    /// When.
    pub fired_at: DateTime<Utc>,
    /// What fired it.
    pub source: String,
    /// The value that met the rule.
    pub value: f64,
    /// The threshold then.
    pub threshold: f64,
    /// What the email said.
    pub detail: serde_json::Value,
}

/// Makes a rule.
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewAlert<'_>) -> Result<Alert> {
    Ok(diesel::insert_into(alerts::table)
        .values((
            alerts::owner_id.eq(new.owner_id),
            alerts::asset_id.eq(new.asset_id),
            alerts::kind.eq(new.kind.as_str()),
            alerts::threshold.eq(new.threshold),
            alerts::interval.eq(new.interval),
            alerts::cooldown_secs.eq(new.cooldown_secs),
            alerts::enabled.eq(new.enabled),
            alerts::note.eq(new.note),
        ))
        .returning(Alert::as_returning())
        .get_result(conn)
        .await?)
}

/// How many rules `owner` has.
pub async fn count_owned(conn: &mut AsyncPgConnection, owner: i64) -> Result<i64> {
    Ok(alerts::table.filter(alerts::owner_id.eq(owner)).count().get_result(conn).await?)
}

/// `owner`'s rules with their asset's symbol, newest first.
pub async fn list_owned(conn: &mut AsyncPgConnection, owner: i64) -> Result<Vec<(Alert, String)>> {
    Ok(alerts::table
        .inner_join(assets::table)
        .filter(alerts::owner_id.eq(owner))
        .order(alerts::id.desc())
        .select((Alert::as_select(), assets::symbol))
        .load(conn)
        .await?)
}

/// Rule `id` if `owner`'s (another user's rule is `None`, as a missing one).
pub async fn find_owned(conn: &mut AsyncPgConnection, owner: i64, id: i64) -> Result<Option<(Alert, String)>> {
    Ok(alerts::table
        .inner_join(assets::table)
        .filter(alerts::id.eq(id).and(alerts::owner_id.eq(owner)))
        .select((Alert::as_select(), assets::symbol))
        .first(conn)
        .await
        .optional()?)
}

/// Applies `change` to `owner`'s rule `id`; a changed rule starts afresh (its last
/// condition is forgotten, so the next evaluation that meets it may fire).
pub async fn update_owned(
    conn: &mut AsyncPgConnection,
    owner: i64,
    id: i64,
    change: &AlertChange,
) -> Result<Option<Alert>> {
    let target = alerts::table.filter(alerts::id.eq(id).and(alerts::owner_id.eq(owner)));
    Ok(diesel::update(target)
        .set((
            change.threshold.map(|t| alerts::threshold.eq(t)),
            change.cooldown_secs.map(|c| alerts::cooldown_secs.eq(c)),
            change.enabled.map(|e| alerts::enabled.eq(e)),
            change.note.clone().map(|n| alerts::note.eq(n)),
            alerts::last_met.eq(None::<bool>),
            alerts::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Alert::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Deletes `owner`'s rule `id` (with its events); whether there was one.
pub async fn delete_owned(conn: &mut AsyncPgConnection, owner: i64, id: i64) -> Result<bool> {
    let n =
        diesel::delete(alerts::table.filter(alerts::id.eq(id).and(alerts::owner_id.eq(owner)))).execute(conn).await?;
    Ok(n > 0)
}

/// The enabled rules on `asset_id` that read forecasts (`true`) or candles (`false`).
pub async fn enabled_for_asset(conn: &mut AsyncPgConnection, asset_id: i64, forecasts: bool) -> Result<Vec<Alert>> {
    let kinds: Vec<&str> =
        AlertKind::ALL.iter().filter(|k| k.on_forecasts() == forecasts).map(|k| k.as_str()).collect();
    Ok(alerts::table
        .filter(alerts::asset_id.eq(asset_id).and(alerts::enabled.eq(true)).and(alerts::kind.eq_any(kinds)))
        .order(alerts::id.asc())
        .select(Alert::as_select())
        .load(conn)
        .await?)
}

/// Rule `id`, locked until the transaction ends.
pub async fn lock(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<Alert>> {
    Ok(alerts::table.find(id).for_update().select(Alert::as_select()).first(conn).await.optional()?)
}

/// Records whether the price condition held.
pub async fn set_met(conn: &mut AsyncPgConnection, id: i64, met: bool) -> Result<()> {
    diesel::update(alerts::table.find(id)).set(alerts::last_met.eq(met)).execute(conn).await?;
    Ok(())
}

/// Records a firing from `source`; `None` when that source fired this rule before.
pub async fn fire(
    conn: &mut AsyncPgConnection,
    alert: &Alert,
    source: &str,
    value: f64,
    detail: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<Option<AlertEvent>> {
    let event = diesel::insert_into(alert_events::table)
        .values((
            alert_events::alert_id.eq(alert.id),
            alert_events::fired_at.eq(at),
            alert_events::source.eq(source),
            alert_events::value.eq(value),
            alert_events::threshold.eq(alert.threshold),
            alert_events::detail.eq(detail),
        ))
        .on_conflict_do_nothing()
        .returning(AlertEvent::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if event.is_some() {
        diesel::update(alerts::table.find(alert.id)).set(alerts::last_fired_at.eq(at)).execute(conn).await?;
    }
    Ok(event)
}

/// Rule `alert_id`'s firings, newest first.
pub async fn events(conn: &mut AsyncPgConnection, alert_id: i64, limit: i64) -> Result<Vec<AlertEvent>> {
    Ok(alert_events::table
        .filter(alert_events::alert_id.eq(alert_id))
        .order(alert_events::id.desc())
        .limit(limit)
        .select(AlertEvent::as_select())
        .load(conn)
        .await?)
}
