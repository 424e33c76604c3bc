//! Password resets and changes. A reset request answers the same whether or not the
//! address has an account; the emailed link works once, within its lifetime. Setting
//! a new password (by reset or change) ends every other session.

use chrono::Utc;
use diesel_async::AsyncConnection;
use kronos_auth::{address, password, secret};
use kronos_db::{
    link_tokens::{self, Purpose},
    sessions, users,
};
use kronos_types::accounts::{AuditAction, EmailKind};
use serde_json::json;

use super::{audit, emails, passwords};
use crate::{
    auth::{Client, Principal},
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Sends a reset link to `email` when it has an account (rate-limited per client
/// address and per address asked for).
pub async fn request(state: &AppState, email: &str, client: &Client) -> ApiResult<()> {
    let rate = state.config.auth.rate_password_reset;
    let email = address::parse("email", email)?;
    for what in [format!("reset:ip:{}", client.ip), format!("reset:account:{}", email.to_lowercase())] {
        if let Err(exceeded) = state.counters.hit(&what, rate).await? {
            return Err(ApiError::rate_limited("too many reset requests; try again later", exceeded.retry_after));
        }
    }
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let public_url = state.config.auth.public_url.clone();
    let valid = state.config.auth.reset_link;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let Some(user) = users::find_by_email(conn, &email).await?.filter(|u| !u.disabled) else {
            return Ok(());
        };
        let token = secret::new_link_token();
        let expires = Utc::now() + chrono::Duration::from_std(valid).unwrap_or(chrono::Duration::hours(1));
        link_tokens::issue(conn, user.id, Purpose::PasswordReset, &token.hash, expires).await?;
        let link = emails::link(&public_url, "reset-password", &token.plaintext);
        let message = kronos_email::password_reset(user.display_name.as_deref(), &link, valid.as_secs() / 60);
        emails::queue(conn, &user, None, EmailKind::PasswordReset, &message).await?;
        audit(conn, client, None, Some(user.id), AuditAction::PasswordResetRequested, json!({})).await?;
        Ok(())
    })
    .await
}

/// Sets a new password through the reset link carrying `token` (once).
pub async fn confirm(state: &AppState, token: &str, new_password: &str, client: &Client) -> ApiResult<()> {
    let token_hash = secret::hash_secret(token.trim());
    let invalid = || ApiError::invalid("token", "this reset link is invalid, used or expired; ask for a new one");
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    // the password rule needs the account's address: the link names the account
    let user_id = link_tokens::peek(&mut conn, Purpose::PasswordReset, &token_hash).await?.ok_or_else(invalid)?;
    let user = users::find(&mut conn, user_id).await?.ok_or_else(invalid)?;
    password::check_rule("password", new_password, &user.email)?;
    let hash = passwords::hash(&state.passwords, new_password).await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        // used up here, so two confirmations of one link cannot both pass
        if link_tokens::consume(conn, Purpose::PasswordReset, &token_hash).await? != Some(user_id) {
            return Err(invalid());
        }
        users::set_password(conn, user_id, &hash).await?;
        sessions::revoke_all(conn, user_id).await?;
        // a reset proves the address is theirs
        users::mark_verified(conn, user_id).await?;
        audit(conn, client, Some(user_id), Some(user_id), AuditAction::PasswordChanged, json!({ "by": "reset" }))
            .await?;
        Ok(())
    })
    .await?;
    state.auth.forget_user(user_id);
    Ok(())
}

/// Changes the caller's password, checking the current one; every other session ends.
pub async fn change(state: &AppState, caller: &Principal, current: &str, new: &str, client: &Client) -> ApiResult<()> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let user = users::find(&mut conn, caller.user_id).await?.ok_or_else(|| ApiError::not_found("account not found"))?;
    drop(conn);
    if !passwords::verify(&state.passwords, current, Some(&user.password_hash)).await? {
        return Err(ApiError::invalid("current_password", "the current password is wrong"));
    }
    password::check_rule("new_password", new, &user.email)?;
    let hash = passwords::hash(&state.passwords, new).await?;
    let keep = match caller.credential {
        crate::auth::principal::Credential::Session { family, .. } => Some(family),
        crate::auth::principal::Credential::ApiKey { .. } => None,
    };
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        users::set_password(conn, user.id, &hash).await?;
        sessions::revoke_all_but(conn, user.id, keep).await?;
        audit(conn, client, Some(user.id), Some(user.id), AuditAction::PasswordChanged, json!({ "by": "user" }))
            .await?;
        Ok(())
    })
    .await?;
    state.auth.forget_user(user.id);
    Ok(())
}
