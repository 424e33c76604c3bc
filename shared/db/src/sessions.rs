//! `refresh_tokens`: sessions. A session is a family of refresh tokens; each token is
//! single-use: using it marks it used and the caller issues the next one in the same
//! family. A used token presented again means it was stolen (or replayed): the whole
//! family is revoked, and its access tokens stop working with it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{error::Result, schema::refresh_tokens};

type Moment = DateTime<Utc>;

/// A refresh token to store.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    /// Owner.
    pub user_id: i64,
    /// Session.
    pub family_id: Uuid,
    /// SHA-256 of the token.
    pub token_hash: &'a str,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Client address.
    pub ip: Option<&'a str>,
    /// Client user agent.
    pub user_agent: Option<&'a str>,
}

/// Stores a refresh token.
pub async fn insert(conn: &mut AsyncPgConnection, token: &NewRefreshToken<'_>) -> Result<()> {
    diesel::insert_into(refresh_tokens::table).values(token).execute(conn).await?;
    Ok(())
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// It was valid and is now used: issue the next one in `family`.
    Rotated {
        /// Owner.
        user_id: i64,
        /// Session.
        family: Uuid,
    },
    /// It had been used already: `family` is now revoked.
    Reused {
        /// Owner.
        user_id: i64,
        /// Session.
        family: Uuid,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Uses the refresh token whose hash is `token_hash` (see [`Presented`]).
pub async fn present(conn: &mut AsyncPgConnection, token_hash: &str) -> Result<Presented> {
    let now = Utc::now();
    let used: Option<(i64, Uuid)> = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null())
            .filter(refresh_tokens::expires_at.gt(now)),
    )
    .set(refresh_tokens::used_at.eq(now))
    .returning((refresh_tokens::user_id, refresh_tokens::family_id))
    .get_result(conn)
    .await
    .optional()?;
    if let Some((user_id, family)) = used {
        return Ok(Presented::Rotated { user_id, family });
    }
    let known: Option<(i64, Uuid, Option<Moment>, Option<Moment>)> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((
            refresh_tokens::user_id,
            refresh_tokens::family_id,
            refresh_tokens::used_at,
            refresh_tokens::revoked_at,
        ))
        .first(conn)
        .await
        .optional()?;
    match known {
        Some((user_id, family, Some(_), None)) => {
            revoke_family(conn, family).await?;
            Ok(Presented::Reused { user_id, family })
        }
        _ => Ok(Presented::Invalid),
    }
}

/// Revokes every token of session `family`; `true` when one was still live.
pub async fn revoke_family(conn: &mut AsyncPgConnection, family: Uuid) -> Result<bool> {
    let n = diesel::update(
        refresh_tokens::table.filter(refresh_tokens::family_id.eq(family)).filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(n > 0)
}

/// Revokes every session of user `user_id` (password reset, account disabled).
pub async fn revoke_all(conn: &mut AsyncPgConnection, user_id: i64) -> Result<usize> {
    revoke_all_but(conn, user_id, None).await
}

/// Revokes every session of user `user_id` but `keep` (the one that changed the
/// password).
pub async fn revoke_all_but(conn: &mut AsyncPgConnection, user_id: i64, keep: Option<Uuid>) -> Result<usize> {
    let mut query = refresh_tokens::table
        .filter(refresh_tokens::user_id.eq(user_id))
        .filter(refresh_tokens::revoked_at.is_null())
        .into_boxed();
    if let Some(keep) = keep {
        query = query.filter(refresh_tokens::family_id.ne(keep));
    }
    let ids: Vec<i64> = query.select(refresh_tokens::id).load(conn).await?;
    Ok(diesel::update(refresh_tokens::table.filter(refresh_tokens::id.eq_any(ids)))
        .set(refresh_tokens::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?)
}

/// Whether session `family` of user `user_id` is live: not revoked, and its newest
/// token not expired.
pub async fn live(conn: &mut AsyncPgConnection, user_id: i64, family: Uuid) -> Result<bool> {
    let newest: Option<(DateTime<Utc>, Option<DateTime<Utc>>)> = refresh_tokens::table
        .filter(refresh_tokens::family_id.eq(family))
        .filter(refresh_tokens::user_id.eq(user_id))
        .order(refresh_tokens::id.desc())
        .select((refresh_tokens::expires_at, refresh_tokens::revoked_at))
        .first(conn)
        .await
        .optional()?;
    Ok(matches!(newest, Some((expires, None)) if expires > Utc::now()))
}

/// The owner and session of the refresh token whose hash is `token_hash`, used or not.
pub async fn family_of(conn: &mut AsyncPgConnection, token_hash: &str) -> Result<Option<(i64, Uuid)>> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((refresh_tokens::user_id, refresh_tokens::family_id))
        .first(conn)
        .await
        .optional()?)
}
