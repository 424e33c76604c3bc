//! `api_keys`: keys for scripts and enterprise clients, stored as the SHA-256 of the
//! key; a key belongs to one user and carries scopes, an optional expiry and the time
//! it was last used. Revoked keys stay (listings show them revoked).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use kronos_types::accounts::Scope;

use crate::{error::Result, schema::api_keys, words::WordList};

/// A stored key (never the key itself).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// The owner's name for it.
    pub name: String,
    /// Its first characters (`kr_live_AbCdEfGh`), to recognise it.
    pub shown: String,
    /// What it may do.
    #[diesel(deserialize_as = WordList<Scope>)]
    pub scopes: Vec<Scope>,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last request made with it (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl ApiKey {
    /// Whether it still works at `now`.
    pub fn usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    /// Owner.
    pub user_id: i64,
    /// Name.
    pub name: &'a str,
    /// What listings show.
    pub shown: &'a str,
    /// SHA-256 of the key.
    pub key_hash: &'a str,
    /// Scopes.
    pub scopes: &'a [Scope],
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Stores a key.
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewApiKey<'_>) -> Result<ApiKey> {
    let scopes: Vec<&str> = new.scopes.iter().map(|s| s.as_str()).collect();
    Ok(diesel::insert_into(api_keys::table)
        .values((
            api_keys::user_id.eq(new.user_id),
            api_keys::name.eq(new.name),
            api_keys::shown.eq(new.shown),
            api_keys::key_hash.eq(new.key_hash),
            api_keys::scopes.eq(scopes),
            api_keys::expires_at.eq(new.expires_at),
        ))
        .returning(ApiKey::as_returning())
        .get_result(conn)
        .await?)
}

/// User `user_id`'s keys, newest first.
pub async fn list(conn: &mut AsyncPgConnection, user_id: i64) -> Result<Vec<ApiKey>> {
    Ok(api_keys::table
        .filter(api_keys::user_id.eq(user_id))
        .order(api_keys::id.desc())
        .select(ApiKey::as_select())
        .load(conn)
        .await?)
}

/// Revokes user `user_id`'s key `id`; `None` when they have no such key (another
/// user's key is not theirs), else the key (revoked now or earlier).
pub async fn revoke(conn: &mut AsyncPgConnection, user_id: i64, id: i64) -> Result<Option<ApiKey>> {
    let revoked = diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::user_id.eq(user_id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(diesel::dsl::now))
    .returning(ApiKey::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    if revoked.is_some() {
        return Ok(revoked);
    }
    Ok(api_keys::table
        .filter(api_keys::id.eq(id))
        .filter(api_keys::user_id.eq(user_id))
        .select(ApiKey::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The key whose hash is `key_hash`, usable or not.
pub async fn find_by_hash(conn: &mut AsyncPgConnection, key_hash: &str) -> Result<Option<ApiKey>> {
    Ok(api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .select(ApiKey::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Records a use of key `id` (at most one write a minute per key).
pub async fn touch(conn: &mut AsyncPgConnection, id: i64) -> Result<()> {
    let minute_ago = Utc::now() - chrono::Duration::minutes(1);
    diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::last_used_at.is_null().or(api_keys::last_used_at.lt(minute_ago))),
    )
    .set(api_keys::last_used_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(())
}
