//! Queuing an optional email with its unsubscribe links.

use diesel_async::AsyncPgConnection;
use kronos_db::{
    outbox::{self, NewEmail},
    users::User,
};
use kronos_email::{Recipient, Rendered};
use kronos_types::accounts::EmailKind;
use uuid::Uuid;

use crate::error::Result;

/// Where emails link to, and the key their unsubscribe tokens are signed with.
#[derive(Debug, Clone, Copy)]
pub struct Links<'a> {
    /// The platform's public address.
    pub public_url: &'a str,
    /// The current access-token signing key.
    pub unsubscribe_key: &'a [u8],
}

impl<'a> Links<'a> {
    /// The links of the accounts settings: the public address and the current access-token
    /// key (`None` without a key: nothing optional can be sent).
    pub fn from_auth(auth: &'a kronos_config::AuthConfig) -> Option<Self> {
        let (_, key) = auth.jwt_keys.first()?;
        Some(Self { public_url: &auth.public_url, unsubscribe_key: key.expose().as_bytes() })
    }

    /// `public_url` + `path`.
    pub fn page(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

/// Renders with `render` (given the recipient: name, `button_link`, unsubscribe page)
/// and queues an email of `kind` to `user` in the caller's transaction — unless the user
/// turned `kind` off. Whether it was queued.
pub async fn send(
    conn: &mut AsyncPgConnection,
    user: &User,
    kind: EmailKind,
    links: Links<'_>,
    button_link: &str,
    render: impl FnOnce(Recipient<'_>) -> Rendered,
) -> Result<bool> {
    if !kind.enabled_in(&user.notification_preferences) {
        return Ok(false);
    }
    let token = kronos_auth::unsubscribe::token(links.unsubscribe_key, user.id, kind.as_str())?;
    let page = links.page(&format!("/unsubscribe?token={token}"));
    let one_click = links.page(&format!("/v1/unsubscribe?token={token}"));
    let message =
        render(Recipient { name: user.display_name.as_deref(), account_link: button_link, unsubscribe_link: &page });
    outbox::queue(
        conn,
        &NewEmail {
            id: Uuid::now_v7(),
            user_id: Some(user.id),
            kind,
            to_address: &user.email,
            subject: &message.subject,
            text_body: &message.text,
            html_body: &message.html,
            unsubscribe_url: Some(&one_click),
        },
    )
    .await?;
    Ok(true)
}
