//! `/v1/me/api-keys`: the caller's keys. A new key is shown once; only its hash is
//! stored. Revocation takes effect at once on this replica and within the auth cache
//! time (`KRONOS_AUTH_CACHE_SECS`, 5 s) on the others.

use axum::{extract::State, http::StatusCode, Json};
use chrono::Utc;
use kronos_auth::secret;
use kronos_db::api_keys::{self, NewApiKey};
use kronos_types::accounts::{AuditAction, Scope};
use serde_json::json;

use crate::{
    accounts::audit,
    auth::{Caller, Client},
    dto::me::{ApiKeyList, ApiKeyView, CreateApiKey, CreatedApiKey},
    error::{ApiError, ApiResult},
    extract::{ApiPath, ValidJson},
    state::AppState,
};

/// Most live keys per user.
const MAX_KEYS: usize = 50;

/// `GET /v1/me/api-keys`.
#[utoipa::path(
    get,
    path = "/v1/me/api-keys", operation_id = "listApiKeys",
    tag = "me",
    responses(
        (status = 200, description = "The caller's keys, newest first (never the keys themselves)", body = crate::dto::me::ApiKeyList),
        (status = "4XX", description = "401: not logged in; 403: an API key cannot manage keys", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<ApiKeyList>> {
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let keys = api_keys::list(&mut conn, caller.user_id).await?;
    Ok(Json(ApiKeyList { keys: keys.iter().map(ApiKeyView::from).collect() }))
}

/// `POST /v1/me/api-keys`.
#[utoipa::path(
    post,
    path = "/v1/me/api-keys", operation_id = "createApiKey",
    tag = "me",
    request_body = crate::dto::me::CreateApiKey,
    responses(
        (status = 201, description = "The new key, shown this once", body = crate::dto::me::CreatedApiKey),
        (status = "4XX", description = "Refused; the body names the field", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: Client,
    ValidJson { value: request, .. }: ValidJson<CreateApiKey>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid("name", "the name must have 1 to 100 characters"));
    }
    let mut scopes: Vec<Scope> = Vec::new();
    for scope in &request.scopes {
        if !scopes.contains(scope) {
            scopes.push(*scope);
        }
    }
    if scopes.is_empty() {
        return Err(ApiError::invalid("scopes", "name at least one scope: read, predict, train, backtest or admin"));
    }
    if scopes.contains(&Scope::Admin) && !caller.is_admin() {
        return Err(ApiError::invalid("scopes", "only an admin's key may carry the admin scope"));
    }
    if request.expires_at.is_some_and(|e| e <= Utc::now()) {
        return Err(ApiError::invalid("expires_at", "the expiry must be in the future"));
    }
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let live = api_keys::list(&mut conn, caller.user_id).await?.iter().filter(|k| k.usable(Utc::now())).count();
    if live >= MAX_KEYS {
        return Err(ApiError::conflict("too_many_keys", format!("at most {MAX_KEYS} live keys; revoke one first")));
    }
    let issued = secret::new_api_key();
    let new = NewApiKey {
        user_id: caller.user_id,
        name,
        shown: &issued.shown,
        key_hash: &issued.hash,
        scopes: &scopes,
        expires_at: request.expires_at,
    };
    let key = api_keys::insert(&mut conn, &new).await?;
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    audit(
        &mut conn,
        &client,
        Some(caller.user_id),
        Some(caller.user_id),
        AuditAction::ApiKeyCreated,
        json!({ "key": key.id, "prefix": key.shown, "scopes": names }),
    )
    .await?;
    let callback_secret = kronos_db::callbacks::signing_secret(&mut conn, caller.user_id, Some(key.id)).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey { key: issued.plaintext, callback_secret, view: ApiKeyView::from(&key) }),
    ))
}

/// `DELETE /v1/me/api-keys/{id}`.
#[utoipa::path(
    delete,
    path = "/v1/me/api-keys/{id}", operation_id = "revokeApiKey",
    tag = "me",
    params(("id" = i64, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked (also when it already was)"),
        (status = "4XX", description = "404: the caller has no such key", body = crate::dto::error::ErrorBody),
        (status = "5XX", description = "Unavailable or failed", body = crate::dto::error::ErrorBody),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    client: Client,
    ApiPath(raw): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let id: i64 = raw.parse().map_err(|_| ApiError::invalid("id", format!("{raw:?} is not a key id")))?;
    let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
    let key = api_keys::revoke(&mut conn, caller.user_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("API key {id} not found")))?;
    audit(
        &mut conn,
        &client,
        Some(caller.user_id),
        Some(caller.user_id),
        AuditAction::ApiKeyRevoked,
        json!({ "key": key.id, "prefix": key.shown }),
    )
    .await?;
    state.auth.forget_user(caller.user_id);
    Ok(StatusCode::NO_CONTENT)
}
