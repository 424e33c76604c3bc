//! `email_outbox`: messages written in the transaction of the event that causes them
//! (a registration, a reset request), each delivered by one `email` job. A message is
//! delivered when `sent_at` is set; a job that finds it set does nothing, so a retried
//! or repeated job does not send it twice.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use kronos_types::{
    accounts::EmailKind,
    jobs::{payload::EmailPayload, JobKind},
};
use uuid::Uuid;

use crate::jobs::NewJob;

use crate::{error::Result, schema::email_outbox, words::Word};

/// A message to deliver.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_outbox)]
pub struct OutboxEmail {
    /// Id (also the message's `Message-ID` local part).
    pub id: Uuid,
    /// Recipient account.
    pub user_id: Option<i64>,
    /// What it is.
    #[diesel(deserialize_as = Word<EmailKind>)]
    pub kind: EmailKind,
    /// Recipient address.
    pub to_address: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub text_body: String,
    /// HTML body.
    pub html_body: String,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Delivered.
    pub sent_at: Option<DateTime<Utc>>,
    /// Delivery attempts.
    pub attempts: i32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The one-click unsubscribe address (`List-Unsubscribe`) of an optional email.
    pub unsubscribe_url: Option<String>,
}

/// A message to write.
#[derive(Debug, Clone)]
pub struct NewEmail<'a> {
    /// Id (the email job's payload names it).
    pub id: Uuid,
    /// Recipient account.
    pub user_id: Option<i64>,
    /// What it is.
    pub kind: EmailKind,
    /// Recipient address.
    pub to_address: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// Plain-text body.
    pub text_body: &'a str,
    /// HTML body.
    pub html_body: &'a str,
    /// The one-click unsubscribe address of an optional email.
    pub unsubscribe_url: Option<&'a str>,
}

/// Attempts an email job gets (SMTP outages are retried with backoff).
const EMAIL_ATTEMPTS: i32 = 8;

/// Writes a message and the `email` job that delivers it, in the caller's transaction
/// (so the message exists exactly when the event that caused it does).
pub async fn queue(conn: &mut AsyncPgConnection, email: &NewEmail<'_>) -> Result<()> {
    insert(conn, email).await?;
    let payload = serde_json::to_value(EmailPayload { outbox_id: email.id })?;
    let mut job = NewJob::new(JobKind::Email, payload, EMAIL_ATTEMPTS);
    job.owner_id = email.user_id;
    crate::jobs::insert_many(conn, &[job]).await?;
    Ok(())
}

/// Writes a message.
pub async fn insert(conn: &mut AsyncPgConnection, email: &NewEmail<'_>) -> Result<()> {
    diesel::insert_into(email_outbox::table)
        .values((
            email_outbox::id.eq(email.id),
            email_outbox::user_id.eq(email.user_id),
            email_outbox::kind.eq(email.kind.as_str()),
            email_outbox::to_address.eq(email.to_address),
            email_outbox::subject.eq(email.subject),
            email_outbox::text_body.eq(email.text_body),
            email_outbox::html_body.eq(email.html_body),
            email_outbox::unsubscribe_url.eq(email.unsubscribe_url),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Message `id`.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Option<OutboxEmail>> {
    Ok(email_outbox::table.find(id).select(OutboxEmail::as_select()).first(conn).await.optional()?)
}

/// Counts a delivery attempt of message `id`.
pub async fn attempt(conn: &mut AsyncPgConnection, id: Uuid) -> Result<()> {
    diesel::update(email_outbox::table.find(id))
        .set(email_outbox::attempts.eq(email_outbox::attempts + 1))
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks message `id` delivered.
pub async fn mark_sent(conn: &mut AsyncPgConnection, id: Uuid) -> Result<()> {
    diesel::update(email_outbox::table.find(id).filter(email_outbox::sent_at.is_null()))
        .set((email_outbox::sent_at.eq(diesel::dsl::now), email_outbox::last_error.eq(None::<String>)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records why delivering message `id` failed.
pub async fn mark_failed(conn: &mut AsyncPgConnection, id: Uuid, error: &str) -> Result<()> {
    diesel::update(email_outbox::table.find(id)).set(email_outbox::last_error.eq(error)).execute(conn).await?;
    Ok(())
}
