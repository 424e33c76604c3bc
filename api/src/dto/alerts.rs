//! The alerts contract: rules on an asset, and their firings.

use chrono::{DateTime, Utc};
use kronos_db::alerts::{Alert, AlertEvent};
use kronos_types::{alerts::AlertKind, Interval};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::me::present;

/// `POST /v1/alerts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAlert {
    /// The asset (catalogue symbol).
    pub symbol: String,
    /// `price_above`, `price_below` (a price), `change_24h` (percent, either way),
    /// `prob_up_above`, `prob_up_below` (0–1), `expected_move` (percent, either way).
    pub kind: AlertKind,
    /// The threshold, in the kind's unit.
    pub threshold: f64,
    /// The candles price rules read (default `1d`).
    pub interval: Option<Interval>,
    /// Least seconds between two firings, 60 to 2,592,000 (default 3,600).
    pub cooldown_secs: Option<i32>,
    /// On (default true).
    pub enabled: Option<bool>,
    /// A note shown in the email (at most 200 characters).
    pub note: Option<String>,
}

/// `PATCH /v1/alerts/{id}`: the fields to change (a changed rule starts afresh).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAlert {
    /// Threshold.
    pub threshold: Option<f64>,
    /// Cooldown in seconds.
    pub cooldown_secs: Option<i32>,
    /// On or off.
    pub enabled: Option<bool>,
    /// Note (`null` clears it).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Option<String>>,
}

/// A rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    /// Id.
    pub id: i64,
    /// The asset.
    pub symbol: String,
    /// What it watches.
    pub kind: AlertKind,
    /// Threshold.
    pub threshold: f64,
    /// The candles price rules read.
    pub interval: String,
    /// Least seconds between two firings.
    pub cooldown_secs: i32,
    /// On.
    pub enabled: bool,
    /// Note.
    pub note: Option<String>,
    /// Last firing.
    pub last_fired_at: Option<DateTime<Utc>>,
    /// Made.
    pub created_at: DateTime<Utc>,
}

impl AlertView {
    /// The view of `alert` on `symbol`.
    pub fn of(alert: &Alert, symbol: &str) -> Self {
        Self {
            id: alert.id,
            symbol: symbol.to_owned(),
            kind: alert.kind,
            threshold: alert.threshold,
            interval: alert.interval.clone(),
            cooldown_secs: alert.cooldown_secs,
            enabled: alert.enabled,
            note: alert.note.clone(),
            last_fired_at: alert.last_fired_at,
            created_at: alert.created_at,
        }
    }
}

/// The caller's rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertList {
    /// Newest first.
    pub alerts: Vec<AlertView>,
    /// How many the caller's tier allows.
    pub limit: usize,
}

/// A firing.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertEventView {
    /// Id.
    pub id: i64,
    /// When.
    pub fired_at: DateTime<Utc>,
    /// What fired it (`candle:<interval>:<unix>`, `prediction:<job id>`).
    pub source: String,
    /// The value that met the rule.
    pub value: f64,
    /// The threshold then.
    pub threshold: f64,
    /// The rule and what was seen, in words (as emailed).
    pub rule: String,
    /// What was seen.
    pub seen: String,
}

impl From<&AlertEvent> for AlertEventView {
    fn from(e: &AlertEvent) -> Self {
        let text = |key: &str| e.detail.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        Self {
            id: e.id,
            fired_at: e.fired_at,
            source: e.source.clone(),
            value: e.value,
            threshold: e.threshold,
            rule: text("rule"),
            seen: text("seen"),
        }
    }
}

/// A rule's firings.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertEventList {
    /// Newest first (at most 200).
    pub events: Vec<AlertEventView>,
}
