//! Alert rules evaluated: price rules after a refresh stored an asset's candles (they
//! fire when the condition becomes true), forecast rules after a forecast of the asset
//! by the platform's scheduled forecasts or by the rule's owner. Each evaluation takes
//! the rule's row lock; a firing is recorded once per source (a candle, a forecast) and
//! at most once per cooldown, and its email goes through the outbox in the same
//! transaction.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use kronos_db::{
    alerts::{self as rows, Alert},
    candles, users,
};
use kronos_email::alerts::{fired, Firing};
use kronos_types::{accounts::EmailKind, alerts::AlertKind, Interval};
use serde_json::json;
use uuid::Uuid;

use crate::{error::Result, send::send, Links};

/// An asset, as rules name it.
#[derive(Debug, Clone, Copy)]
pub struct Watched<'a> {
    /// Id.
    pub asset_id: i64,
    /// Symbol.
    pub symbol: &'a str,
}

/// A forecast, as rules read it.
#[derive(Debug, Clone)]
pub struct ForecastFacts {
    /// The prediction job.
    pub job_id: Uuid,
    /// Whose it is (`None`: the platform's scheduled forecasts).
    pub owner_id: Option<i64>,
    /// The model.
    pub model: String,
    /// Interval of its bars.
    pub interval: Interval,
    /// Steps ahead.
    pub horizon: usize,
    /// Probability that the last step closes above the last close.
    pub prob_up: f64,
    /// Expected return over the horizon (a fraction).
    pub expected_return: f64,
}

/// What a rule saw.
struct Seen {
    value: f64,
    source: String,
    words: String,
}

fn cooled(alert: &Alert, now: DateTime<Utc>) -> bool {
    alert.last_fired_at.is_none_or(|at| now - at >= Duration::seconds(i64::from(alert.cooldown_secs)))
}

fn rule_words(kind: AlertKind, symbol: &str, threshold: f64) -> String {
    match kind {
        AlertKind::PriceAbove => format!("{symbol} closed at or above {threshold}"),
        AlertKind::PriceBelow => format!("{symbol} closed at or below {threshold}"),
        AlertKind::Change24h => format!("{symbol} moved {threshold}% or more in 24 hours"),
        AlertKind::ProbUpAbove => format!("a forecast of {symbol} gives prob_up of at least {threshold}"),
        AlertKind::ProbUpBelow => format!("a forecast of {symbol} gives prob_up of at most {threshold}"),
        AlertKind::ExpectedMove => format!("a forecast of {symbol} expects a move of {threshold}% or more"),
    }
}

/// Evaluates the price rules on `asset`'s `interval` candles; how many fired.
pub async fn after_refresh(
    conn: &mut AsyncPgConnection,
    asset: Watched<'_>,
    interval: Interval,
    links: Links<'_>,
    now: DateTime<Utc>,
) -> Result<usize> {
    let rules: Vec<Alert> = rows::enabled_for_asset(conn, asset.asset_id, false)
        .await?
        .into_iter()
        .filter(|a| a.interval == interval.as_str())
        .collect();
    if rules.is_empty() {
        return Ok(0);
    }
    let Some(last) = candles::latest(conn, asset.asset_id, interval, 1).await?.pop() else { return Ok(0) };
    let day_before =
        candles::newest_first(conn, asset.asset_id, interval, None, Some(last.ts - Duration::hours(24)), 1)
            .await?
            .pop();
    let stamp = last.ts.format("%Y-%m-%d %H:%M UTC");
    let mut fired_count = 0;
    for rule in rules {
        let seen = match rule.kind {
            AlertKind::Change24h => {
                let Some(before) = day_before.as_ref().filter(|b| b.close > 0.0) else { continue };
                let change = (last.close / before.close - 1.0) * 100.0;
                Seen {
                    value: change,
                    source: format!("candle:{interval}:{}", last.ts.timestamp()),
                    words: format!(
                        "the {interval} close of {stamp} was {} against {} 24 hours before ({change:+.2}%)",
                        last.close, before.close
                    ),
                }
            }
            _ => Seen {
                value: last.close,
                source: format!("candle:{interval}:{}", last.ts.timestamp()),
                words: format!("the {interval} close of {stamp} was {}", last.close),
            },
        };
        if evaluate(conn, rule.id, asset, seen, true, links, now).await? {
            fired_count += 1;
        }
    }
    Ok(fired_count)
}

/// Evaluates the forecast rules on `asset` for one forecast; how many fired.
pub async fn after_forecast(
    conn: &mut AsyncPgConnection,
    asset: Watched<'_>,
    forecast: &ForecastFacts,
    links: Links<'_>,
    now: DateTime<Utc>,
) -> Result<usize> {
    let rules = rows::enabled_for_asset(conn, asset.asset_id, true).await?;
    let mut fired_count = 0;
    for rule in rules {
        // the platform's forecasts, or the owner's own
        if forecast.owner_id.is_some_and(|owner| owner != rule.owner_id) {
            continue;
        }
        let value = match rule.kind {
            AlertKind::ExpectedMove => forecast.expected_return * 100.0,
            _ => forecast.prob_up,
        };
        let seen = Seen {
            value,
            source: format!("prediction:{}", forecast.job_id),
            words: format!(
                "{} forecast {} steps of {} ahead: prob_up {:.2}, expected move {:+.2}%",
                forecast.model,
                forecast.horizon,
                forecast.interval,
                forecast.prob_up,
                forecast.expected_return * 100.0
            ),
        };
        if evaluate(conn, rule.id, asset, seen, false, links, now).await? {
            fired_count += 1;
        }
    }
    Ok(fired_count)
}

/// One rule against what was seen, under its lock: records the condition (price rules
/// fire on a crossing), fires when due, emails. Whether it fired.
async fn evaluate(
    conn: &mut AsyncPgConnection,
    rule_id: i64,
    asset: Watched<'_>,
    seen: Seen,
    crossing: bool,
    links: Links<'_>,
    now: DateTime<Utc>,
) -> Result<bool> {
    conn.transaction::<_, crate::Error, _>(async |conn| {
        let Some(rule) = rows::lock(conn, rule_id).await? else { return Ok(false) };
        if !rule.enabled {
            return Ok(false);
        }
        let met = rule.kind.met(seen.value, rule.threshold);
        let was = rule.last_met.unwrap_or(false);
        if crossing {
            rows::set_met(conn, rule.id, met).await?;
        }
        if !met || (crossing && was) || !cooled(&rule, now) {
            return Ok(false);
        }
        let words = rule_words(rule.kind, asset.symbol, rule.threshold);
        let detail = json!({"rule": words, "seen": seen.words});
        let Some(_event) = rows::fire(conn, &rule, &seen.source, seen.value, &detail, now).await? else {
            return Ok(false);
        };
        if let Some(user) = users::find(conn, rule.owner_id).await? {
            let firing = Firing { symbol: asset.symbol, rule: &words, seen: &seen.words, note: rule.note.as_deref() };
            let page = links.page(&format!("/assets/{}", asset.symbol));
            send(conn, &user, EmailKind::Alerts, links, &page, |to| fired(to, firing)).await?;
        }
        Ok(true)
    })
    .await
}
