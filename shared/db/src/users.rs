//! `users`: accounts, their role and tier, and their profile. An address is unique
//! whatever its case; users are never deleted (disabled instead), so their jobs and the
//! audit log keep their owner.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, sql_types::Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use kronos_types::accounts::{Experience, RiskTolerance, Role, Tier};

use crate::{
    error::{Error, Result},
    schema::users,
    words::{MaybeWord, Word},
};

diesel::define_sql_function!(fn lower(x: Text) -> Text);

/// An account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Address, as the user wrote it.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// When the address was verified.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Role.
    #[diesel(deserialize_as = Word<Role>)]
    pub role: Role,
    /// Usage tier.
    #[diesel(deserialize_as = Word<Tier>)]
    pub tier: Tier,
    /// A disabled account cannot log in and its keys and sessions stop working.
    pub disabled: bool,
    /// Name shown.
    pub display_name: Option<String>,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// Risk tolerance.
    #[diesel(deserialize_as = MaybeWord<RiskTolerance>)]
    pub risk_tolerance: Option<RiskTolerance>,
    /// Investment experience.
    #[diesel(deserialize_as = MaybeWord<Experience>)]
    pub investment_experience: Option<Experience>,
    /// Sectors of interest.
    pub preferred_sectors: Vec<String>,
    /// `{email kind: bool}`; a kind not named takes its default.
    pub notification_preferences: serde_json::Value,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Registered.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// Whether the address was verified.
    pub fn verified(&self) -> bool {
        self.email_verified_at.is_some()
    }
}

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Address (checked by the caller).
    pub email: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// Role.
    pub role: Role,
    /// Tier.
    pub tier: Tier,
    /// Create it verified (operators' accounts).
    pub verified: bool,
}

/// Creates an account; a taken address (whatever its case) is a conflict on `email`.
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewUser<'_>) -> Result<User> {
    let verified_at = new.verified.then(Utc::now);
    diesel::insert_into(users::table)
        .values((
            users::email.eq(new.email),
            users::password_hash.eq(new.password_hash),
            users::role.eq(new.role.as_str()),
            users::tier.eq(new.tier.as_str()),
            users::email_verified_at.eq(verified_at),
        ))
        .on_conflict_do_nothing()
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(|| Error::Conflict {
            field: "email".into(),
            message: "this email address is already registered".into(),
        })
}

/// One account by id.
pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<User>> {
    Ok(users::table.find(id).select(User::as_select()).first(conn).await.optional()?)
}

/// One account by address, whatever its case.
pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> Result<Option<User>> {
    Ok(users::table
        .filter(lower(users::email).eq(email.to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Accounts by id, from `after` (exclusive), at most `limit`; `email` filters by a
/// case-insensitive substring.
pub async fn list(
    conn: &mut AsyncPgConnection,
    email: Option<&str>,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<User>> {
    let mut query = users::table.select(User::as_select()).order(users::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    if let Some(email) = email {
        let pattern = format!("%{}%", email.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        query = query.filter(users::email.ilike(pattern));
    }
    Ok(query.load(conn).await?)
}

/// Whether any admin exists.
pub async fn any_admin(conn: &mut AsyncPgConnection) -> Result<bool> {
    Ok(diesel::select(diesel::dsl::exists(users::table.filter(users::role.eq(Role::Admin.as_str()))))
        .get_result(conn)
        .await?)
}

/// A change of profile; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    /// Name shown.
    pub display_name: Option<Option<String>>,
    /// Avatar URL.
    pub avatar_url: Option<Option<String>>,
    /// Risk tolerance.
    pub risk_tolerance: Option<Option<RiskTolerance>>,
    /// Investment experience.
    pub investment_experience: Option<Option<Experience>>,
    /// Sectors.
    pub preferred_sectors: Option<Vec<String>>,
    /// Notification preferences (the whole document).
    pub notification_preferences: Option<serde_json::Value>,
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct ProfileRow<'a> {
    display_name: Option<Option<&'a str>>,
    avatar_url: Option<Option<&'a str>>,
    risk_tolerance: Option<Option<&'static str>>,
    investment_experience: Option<Option<&'static str>>,
    preferred_sectors: Option<&'a [String]>,
    notification_preferences: Option<&'a serde_json::Value>,
    updated_at: DateTime<Utc>,
}

/// Applies `change` to account `id`.
pub async fn update_profile(conn: &mut AsyncPgConnection, id: i64, change: &ProfileChange) -> Result<User> {
    let row = ProfileRow {
        display_name: change.display_name.as_ref().map(Option::as_deref),
        avatar_url: change.avatar_url.as_ref().map(Option::as_deref),
        risk_tolerance: change.risk_tolerance.map(|v| v.map(RiskTolerance::as_str)),
        investment_experience: change.investment_experience.map(|v| v.map(Experience::as_str)),
        preferred_sectors: change.preferred_sectors.as_deref(),
        notification_preferences: change.notification_preferences.as_ref(),
        updated_at: Utc::now(),
    };
    diesel::update(users::table.find(id))
        .set(&row)
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("user {id}")))
}

/// Sets account `id`'s password hash.
pub async fn set_password(conn: &mut AsyncPgConnection, id: i64, password_hash: &str) -> Result<()> {
    let n = diesel::update(users::table.find(id))
        .set((users::password_hash.eq(password_hash), users::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await?;
    found(n, id)
}

/// Changes account `id`'s address (unverified again); a taken address is a conflict.
pub async fn set_email(conn: &mut AsyncPgConnection, id: i64, email: &str) -> Result<User> {
    let taken = find_by_email(conn, email).await?.is_some_and(|u| u.id != id);
    if taken {
        return Err(Error::Conflict {
            field: "email".into(),
            message: "this email address is already registered".into(),
        });
    }
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(email),
            users::email_verified_at.eq(None::<DateTime<Utc>>),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("user {id}")))
}

/// Marks account `id`'s address verified (once; later calls keep the first time).
pub async fn mark_verified(conn: &mut AsyncPgConnection, id: i64) -> Result<()> {
    diesel::update(users::table.find(id).filter(users::email_verified_at.is_null()))
        .set((users::email_verified_at.eq(diesel::dsl::now), users::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await?;
    Ok(())
}

/// A change of what an account may do; `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessChange {
    /// Role.
    pub role: Option<Role>,
    /// Tier.
    pub tier: Option<Tier>,
    /// Disabled.
    pub disabled: Option<bool>,
}

/// Applies `change` to account `id`.
pub async fn set_access(conn: &mut AsyncPgConnection, id: i64, change: AccessChange) -> Result<User> {
    let row = AccessRow {
        role: change.role.map(Role::as_str),
        tier: change.tier.map(Tier::as_str),
        disabled: change.disabled,
        updated_at: Utc::now(),
    };
    diesel::update(users::table.find(id))
        .set(&row)
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("user {id}")))
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct AccessRow {
    role: Option<&'static str>,
    tier: Option<&'static str>,
    disabled: Option<bool>,
    updated_at: DateTime<Utc>,
}

/// Records a successful login of account `id`.
pub async fn touch_login(conn: &mut AsyncPgConnection, id: i64) -> Result<()> {
    diesel::update(users::table.find(id)).set(users::last_login_at.eq(diesel::dsl::now)).execute(conn).await?;
    Ok(())
}

fn found(n: usize, id: i64) -> Result<()> {
    if n == 0 {
        Err(Error::NotFound(format!("user {id}")))
    } else {
        Ok(())
    }
}

/// Active users who turned optional email kind `kind` on (`{kind: true}` in their
/// preferences), by id.
pub async fn opted_in(conn: &mut AsyncPgConnection, kind: &str) -> Result<Vec<User>> {
    Ok(users::table
        .filter(users::disabled.eq(false))
        .filter(users::notification_preferences.contains(serde_json::json!({ kind: true })))
        .order(users::id.asc())
        .select(User::as_select())
        .load(conn)
        .await?)
}
