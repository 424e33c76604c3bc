//! The weekly digest: to every user who asked for it (`weekly_digest`), their forecasts
//! verified in the week to the slot, per model beside naive. A user with none that week
//! gets nothing.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;
use kronos_db::{
    prediction_results::{self, AccuracyFilter, GroupBy},
    users,
};
use kronos_email::digest::{weekly, ModelWeek};
use kronos_types::accounts::EmailKind;

use crate::{error::Result, send::send, Links};

/// Queues the digests of the week ending at `slot`; how many.
pub async fn send_weekly(conn: &mut AsyncPgConnection, slot: DateTime<Utc>, links: Links<'_>) -> Result<usize> {
    let mut sent = 0;
    for user in users::opted_in(conn, EmailKind::WeeklyDigest.as_str()).await? {
        let filter = AccuracyFilter {
            owner_id: Some(user.id),
            from: Some(slot - Duration::days(7)),
            to: Some(slot),
            source: Some("live".into()),
            ..AccuracyFilter::default()
        };
        let rows = prediction_results::accuracy(conn, &filter, GroupBy::Model).await?;
        if rows.is_empty() {
            continue;
        }
        let weeks: Vec<ModelWeek> = rows
            .into_iter()
            .map(|r| ModelWeek {
                model: r.key,
                forecasts: r.predictions,
                mae: (r.mae, r.naive_mae),
                direction: (r.direction_accuracy, r.naive_direction_accuracy),
                coverage: r.coverage_p10_p90,
            })
            .collect();
        let day = slot.format("%Y-%m-%d").to_string();
        let history = links.page("/history");
        if send(conn, &user, EmailKind::WeeklyDigest, links, &history, |to| weekly(to, &day, &weeks)).await? {
            sent += 1;
        }
    }
    Ok(sent)
}
