//! `link_tokens`: the single-use, expiring tokens of email links (address verification,
//! password reset), stored as their SHA-256.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::{error::Result, schema::link_tokens};

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Verify the account's address.
    VerifyEmail,
    /// Set a new password.
    PasswordReset,
}

impl Purpose {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
        }
    }
}

/// Stores a token of user `user_id` for `purpose`, valid until `expires_at`. Earlier
/// unused tokens of the same purpose stop working (the newest link is the one).
pub async fn issue(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    purpose: Purpose,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    diesel::update(
        link_tokens::table
            .filter(link_tokens::user_id.eq(user_id))
            .filter(link_tokens::purpose.eq(purpose.as_str()))
            .filter(link_tokens::used_at.is_null()),
    )
    .set(link_tokens::expires_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    diesel::insert_into(link_tokens::table)
        .values((
            link_tokens::token_hash.eq(token_hash),
            link_tokens::user_id.eq(user_id),
            link_tokens::purpose.eq(purpose.as_str()),
            link_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Uses the token whose hash is `token_hash` for `purpose`: its user when it was
/// unused and unexpired (it is used now), else `None`.
pub async fn consume(conn: &mut AsyncPgConnection, purpose: Purpose, token_hash: &str) -> Result<Option<i64>> {
    Ok(diesel::update(
        link_tokens::table
            .filter(link_tokens::token_hash.eq(token_hash))
            .filter(link_tokens::purpose.eq(purpose.as_str()))
            .filter(link_tokens::used_at.is_null())
            .filter(link_tokens::expires_at.gt(Utc::now())),
    )
    .set(link_tokens::used_at.eq(diesel::dsl::now))
    .returning(link_tokens::user_id)
    .get_result(conn)
    .await
    .optional()?)
}

/// The user of the unused, unexpired token whose hash is `token_hash`, without using
/// it.
pub async fn peek(conn: &mut AsyncPgConnection, purpose: Purpose, token_hash: &str) -> Result<Option<i64>> {
    Ok(link_tokens::table
        .filter(link_tokens::token_hash.eq(token_hash))
        .filter(link_tokens::purpose.eq(purpose.as_str()))
        .filter(link_tokens::used_at.is_null())
        .filter(link_tokens::expires_at.gt(Utc::now()))
        .select(link_tokens::user_id)
        .first(conn)
        .await
        .optional()?)
}
