//! Writing an email: the rendered message goes to the outbox and an `email` job that
//! delivers it is written beside it, in the caller's transaction (so the message exists
//! exactly when the event that caused it does).

use diesel_async::AsyncPgConnection;
use kronos_db::{
    outbox::{self, NewEmail},
    users::User,
};
use kronos_email::Rendered;
use kronos_types::accounts::EmailKind;
use uuid::Uuid;

/// Queues `message` of `kind` to `user` (at `to`, default their address).
pub async fn queue(
    conn: &mut AsyncPgConnection,
    user: &User,
    to: Option<&str>,
    kind: EmailKind,
    message: &Rendered,
) -> Result<Uuid, kronos_db::Error> {
    let id = Uuid::now_v7();
    outbox::queue(
        conn,
        &NewEmail {
            id,
            user_id: Some(user.id),
            kind,
            to_address: to.unwrap_or(&user.email),
            subject: &message.subject,
            text_body: &message.text,
            html_body: &message.html,
            unsubscribe_url: None,
        },
    )
    .await?;
    Ok(id)
}

/// The link to the web page at `path` carrying `token`.
pub fn link(public_url: &str, path: &str, token: &str) -> String {
    format!("{public_url}/{path}?token={token}")
}
