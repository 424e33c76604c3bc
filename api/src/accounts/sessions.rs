//! Sessions: a login starts one (a refresh-token family) and issues an access token
//! and a refresh token; a refresh uses the refresh token up and issues the next pair
//! in the same family; a used refresh token presented again revokes its family (it was
//! stolen, or replayed); logout revokes the family.

use std::time::Duration;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use kronos_auth::{address, secret};
use kronos_db::{
    sessions::{self, NewRefreshToken, Presented},
    users::{self, User},
};
use kronos_types::accounts::AuditAction;
use serde_json::json;
use uuid::Uuid;

use super::{audit, passwords};
use crate::{
    auth::{Client, Principal},
    error::{ApiError, ApiResult},
    state::AppState,
};

/// A session's new tokens.
#[derive(Debug)]
pub struct Tokens {
    /// The access token.
    pub access: String,
    /// Its lifetime.
    pub access_ttl: Duration,
    /// The refresh token.
    pub refresh: String,
    /// Its lifetime.
    pub refresh_ttl: Duration,
    /// The CSRF token of a cookie session.
    pub csrf: String,
    /// The account.
    pub user: User,
}

/// The one answer to every failed login, whatever failed.
fn login_refused() -> ApiError {
    ApiError::unauthenticated("wrong email address or password")
}

/// Logs `email` in with `password` from `client` (rate-limited per address and per
/// account; every attempt audited).
pub async fn login(state: &AppState, email: &str, password: &str, client: &Client) -> ApiResult<Tokens> {
    let rate = state.config.auth.rate_login;
    let account = email.trim().to_lowercase();
    for what in [format!("login:ip:{}", client.ip), format!("login:account:{account}")] {
        if let Err(exceeded) = state.counters.hit(&what, rate).await? {
            return Err(ApiError::rate_limited("too many login attempts; try again later", exceeded.retry_after));
        }
    }
    // a malformed address is refused like an unknown one, after the same work
    let email = address::parse("email", email).ok();
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let user = match &email {
        Some(email) => users::find_by_email(&mut conn, email).await?,
        None => None,
    };
    drop(conn);
    let matched =
        passwords::verify(&state.passwords, password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let user = match user {
        Some(user) if matched && !user.disabled => user,
        other => {
            let why = match &other {
                None => "unknown address",
                Some(u) if u.disabled => "account disabled",
                Some(_) => "wrong password",
            };
            let user_id = other.as_ref().map(|u| u.id);
            audit(&mut conn, client, None, user_id, AuditAction::LoginFailed, json!({ "reason": why })).await?;
            return Err(login_refused());
        }
    };
    if state.passwords.needs_rehash(&user.password_hash) {
        let hash = passwords::hash(&state.passwords, password).await?;
        users::set_password(&mut conn, user.id, &hash).await?;
    }
    users::touch_login(&mut conn, user.id).await?;
    audit(&mut conn, client, Some(user.id), Some(user.id), AuditAction::LoginSucceeded, json!({})).await?;
    issue(state, &mut conn, user, Uuid::now_v7(), client).await
}

/// Uses refresh token `token` up and issues the next pair of its session.
pub async fn refresh(state: &AppState, token: &str, client: &Client) -> ApiResult<Tokens> {
    let hash = secret::hash_secret(token.trim());
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let refused = || ApiError::unauthenticated("the refresh token is invalid, used or expired; log in again");
    match sessions::present(&mut conn, &hash).await? {
        Presented::Rotated { user_id, family } => {
            let user = users::find(&mut conn, user_id).await?.filter(|u| !u.disabled).ok_or_else(refused)?;
            issue(state, &mut conn, user, family, client).await
        }
        Presented::Reused { user_id, family } => {
            audit(&mut conn, client, None, Some(user_id), AuditAction::RefreshReused, json!({ "session": family }))
                .await?;
            tracing::warn!(user.id = user_id, session = %family, "a used refresh token came back: session revoked");
            state.auth.forget_user(user_id);
            Err(refused())
        }
        Presented::Invalid => Err(refused()),
    }
}

/// Ends the session of refresh token `token`, or else the caller's session.
pub async fn logout(
    state: &AppState,
    token: Option<&str>,
    caller: Option<&Principal>,
    client: &Client,
) -> ApiResult<()> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let session = match token {
        Some(token) => sessions::family_of(&mut conn, &secret::hash_secret(token.trim())).await?,
        None => caller.and_then(|p| match p.credential {
            crate::auth::principal::Credential::Session { family, .. } => Some((p.user_id, family)),
            crate::auth::principal::Credential::ApiKey { .. } => None,
        }),
    };
    if let Some((user_id, family)) = session {
        sessions::revoke_family(&mut conn, family).await?;
        audit(&mut conn, client, Some(user_id), Some(user_id), AuditAction::Logout, json!({ "session": family }))
            .await?;
        state.auth.forget_user(user_id);
    }
    Ok(())
}

/// Issues an access token and a refresh token of session `family` for `user`.
async fn issue(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    user: User,
    family: Uuid,
    client: &Client,
) -> ApiResult<Tokens> {
    let refresh_ttl = state.config.auth.refresh_ttl;
    let refresh = secret::new_refresh_token();
    let expires_at = Utc::now() + chrono::Duration::from_std(refresh_ttl).unwrap_or(chrono::Duration::days(30));
    sessions::insert(
        conn,
        &NewRefreshToken {
            user_id: user.id,
            family_id: family,
            token_hash: &refresh.hash,
            expires_at,
            ip: Some(&client.ip),
            user_agent: client.user_agent.as_deref(),
        },
    )
    .await?;
    let (access, _) = state.auth.keys().issue(user.id, &family.to_string())?;
    Ok(Tokens {
        access,
        access_ttl: state.auth.keys().ttl(),
        refresh: refresh.plaintext,
        refresh_ttl,
        csrf: secret::random_token(),
        user,
    })
}
