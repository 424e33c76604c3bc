//! Registration and address verification. A registration answers the same whether or
//! not the address has an account (and costs the same password hash), so it tells
//! nobody who is registered; a new account gets a verification link by email.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use kronos_auth::{address, password, secret};
use kronos_db::{
    link_tokens::{self, Purpose},
    users::{self, NewUser, ProfileChange, User},
};
use kronos_types::accounts::{AuditAction, EmailKind, Role, Tier};
use serde_json::json;

use super::{audit, emails, passwords};
use crate::{
    auth::Client,
    dto::auth::RegisterRequest,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Longest display name.
pub const MAX_NAME: usize = 100;

/// A display name, trimmed: 1 to 100 characters without control characters.
pub fn display_name(raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "display_name",
            format!("the name must have 1 to {MAX_NAME} characters, none of them control characters"),
        ));
    }
    Ok(name.to_owned())
}

/// Registers `req` from `client` (rate-limited per client address and per email
/// address).
pub async fn register(state: &AppState, req: &RegisterRequest, client: &Client) -> ApiResult<()> {
    let rate = state.config.auth.rate_register;
    if let Err(exceeded) = state.counters.hit(&format!("register:ip:{}", client.ip), rate).await? {
        return Err(ApiError::rate_limited(
            "too many registrations from this address; try again later",
            exceeded.retry_after,
        ));
    }
    let email = address::parse("email", &req.email)?;
    if let Err(exceeded) = state.counters.hit(&format!("register:account:{}", email.to_lowercase()), rate).await? {
        return Err(ApiError::rate_limited(
            "too many registrations of this email address; try again later",
            exceeded.retry_after,
        ));
    }
    password::check_rule("password", &req.password, &email)?;
    let name = req.display_name.as_deref().map(display_name).transpose()?;
    let hash = passwords::hash(&state.passwords, &req.password).await?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let public_url = state.config.auth.public_url.clone();
    let valid = state.config.auth.verify_link;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        if users::find_by_email(conn, &email).await?.is_some() {
            return Ok(());
        }
        let new = NewUser { email: &email, password_hash: &hash, role: Role::User, tier: Tier::Free, verified: false };
        let user = match users::insert(conn, &new).await {
            Ok(user) => user,
            // registered by a concurrent request since the check
            Err(kronos_db::Error::Conflict { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let user = match name {
            Some(name) => {
                let change = ProfileChange { display_name: Some(Some(name)), ..ProfileChange::default() };
                users::update_profile(conn, user.id, &change).await?
            }
            None => user,
        };
        send_verification(conn, &user, &public_url, valid).await?;
        audit(conn, client, Some(user.id), Some(user.id), AuditAction::Register, json!({})).await?;
        Ok(())
    })
    .await
}

/// Issues a verification link for `user` and queues the email carrying it.
pub async fn send_verification(
    conn: &mut AsyncPgConnection,
    user: &User,
    public_url: &str,
    valid: std::time::Duration,
) -> Result<(), kronos_db::Error> {
    let token = secret::new_link_token();
    let expires = Utc::now() + chrono::Duration::from_std(valid).unwrap_or(chrono::Duration::hours(24));
    link_tokens::issue(conn, user.id, Purpose::VerifyEmail, &token.hash, expires).await?;
    let link = emails::link(public_url, "verify-email", &token.plaintext);
    let message = kronos_email::verification(user.display_name.as_deref(), &link, valid.as_secs() / 3600);
    emails::queue(conn, user, None, EmailKind::Verification, &message).await?;
    Ok(())
}

/// Verifies the address whose link carried `token` (once).
pub async fn verify(state: &AppState, token: &str, client: &Client) -> ApiResult<()> {
    let hash = secret::hash_secret(token.trim());
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let user_id = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let Some(user_id) = link_tokens::consume(conn, Purpose::VerifyEmail, &hash).await? else {
                return Err(ApiError::invalid(
                    "token",
                    "this verification link is invalid, used or expired; ask for a new one",
                ));
            };
            users::mark_verified(conn, user_id).await?;
            audit(conn, client, Some(user_id), Some(user_id), AuditAction::EmailVerified, json!({})).await?;
            Ok(user_id)
        })
        .await?;
    state.auth.forget_user(user_id);
    Ok(())
}
