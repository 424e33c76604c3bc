//! Profile changes (`PATCH /v1/me`): each field checked and named when refused; a new
//! address needs the current password, must be verified again, and gets a link.

use diesel_async::AsyncConnection;
use kronos_auth::address;
use kronos_db::users::{self, ProfileChange, User};
use kronos_types::accounts::{AuditAction, EmailKind};
use serde_json::json;

use super::{audit, passwords, register};
use crate::{
    auth::{Client, Principal},
    dto::me::UpdateMe,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Most sectors in a profile.
const MAX_SECTORS: usize = 20;
/// Longest sector name.
const MAX_SECTOR: usize = 50;
/// Longest avatar URL.
const MAX_URL: usize = 2048;

fn avatar(raw: &str) -> ApiResult<String> {
    let url = raw.trim();
    let ok = url.starts_with("https://")
        && url.len() > "https://".len()
        && url.len() <= MAX_URL
        && !url.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>');
    if !ok {
        return Err(ApiError::invalid(
            "avatar_url",
            format!("the avatar must be an https:// URL of at most {MAX_URL} characters"),
        ));
    }
    Ok(url.to_owned())
}

fn sectors(raw: &[String]) -> ApiResult<Vec<String>> {
    if raw.len() > MAX_SECTORS {
        return Err(ApiError::invalid("preferred_sectors", format!("at most {MAX_SECTORS} sectors")));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, s) in raw.iter().enumerate() {
        let s = s.trim();
        if s.is_empty() || s.chars().count() > MAX_SECTOR || s.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                &format!("preferred_sectors[{i}]"),
                format!("a sector has 1 to {MAX_SECTOR} characters"),
            ));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(s)) {
            out.push(s.to_owned());
        }
    }
    Ok(out)
}

fn notifications(
    current: &serde_json::Value,
    raw: &std::collections::BTreeMap<String, bool>,
) -> ApiResult<serde_json::Value> {
    let mut doc = current.as_object().cloned().unwrap_or_default();
    for (name, on) in raw {
        let kind: EmailKind = name
            .parse()
            .map_err(|_| ApiError::invalid(&format!("notifications.{name}"), format!("unknown email kind {name:?}")))?;
        if !kind.optional() {
            return Err(ApiError::invalid(&format!("notifications.{name}"), "account emails cannot be turned off"));
        }
        doc.insert(kind.as_str().to_owned(), json!(on));
    }
    Ok(serde_json::Value::Object(doc))
}

/// Applies `req` to the caller's account.
pub async fn update(state: &AppState, caller: &Principal, req: &UpdateMe, client: &Client) -> ApiResult<User> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let user = users::find(&mut conn, caller.user_id).await?.ok_or_else(|| ApiError::not_found("account not found"))?;
    let change = ProfileChange {
        display_name: req
            .display_name
            .as_ref()
            .map(|v| v.as_deref().map(register::display_name).transpose())
            .transpose()?,
        avatar_url: req.avatar_url.as_ref().map(|v| v.as_deref().map(avatar).transpose()).transpose()?,
        risk_tolerance: req.risk_tolerance,
        investment_experience: req.investment_experience,
        preferred_sectors: req.preferred_sectors.as_deref().map(sectors).transpose()?,
        notification_preferences: req
            .notifications
            .as_ref()
            .map(|n| notifications(&user.notification_preferences, n))
            .transpose()?,
    };
    let new_email = match req.email.as_deref() {
        Some(raw) => {
            let email = address::parse("email", raw)?;
            (!email.eq_ignore_ascii_case(&user.email)).then_some(email)
        }
        None => None,
    };
    if new_email.is_some() {
        let current = req
            .current_password
            .as_deref()
            .ok_or_else(|| ApiError::invalid("current_password", "changing the address needs the current password"))?;
        drop(conn);
        if !passwords::verify(&state.passwords, current, Some(&user.password_hash)).await? {
            return Err(ApiError::invalid("current_password", "the current password is wrong"));
        }
        conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    }
    let public_url = state.config.auth.public_url.clone();
    let valid = state.config.auth.verify_link;
    let updated = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let mut updated = users::update_profile(conn, user.id, &change).await?;
            if let Some(email) = new_email {
                updated = users::set_email(conn, user.id, &email).await?;
                audit(
                    conn,
                    client,
                    Some(user.id),
                    Some(user.id),
                    AuditAction::EmailChanged,
                    json!({ "from": user.email, "to": email }),
                )
                .await?;
                register::send_verification(conn, &updated, &public_url, valid).await?;
            }
            Ok(updated)
        })
        .await?;
    state.auth.forget_user(updated.id);
    Ok(updated)
}
