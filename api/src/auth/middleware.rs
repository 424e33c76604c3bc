//! `authorize`: every request, before its handler. It finds the route's class in
//! [`super::access`], authenticates the credential if one was sent (a bad one is a
//! `401` even on a public route), applies the CSRF rule to cookie sessions, checks the
//! class, counts an API-key request against the daily API-call quota, and hands the
//! caller to the handler.

use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use kronos_auth::secret::constant_time_eq;
use kronos_types::accounts::Metric;

use super::{
    access::{self, Access},
    cookies,
    extract::Client,
    limits::next_midnight,
    principal::{Credential, Principal},
    resolve::Presented,
};
use crate::{dto::error::QuotaDetail, error::ApiError, state::AppState};

/// The middleware.
pub async fn authorize(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    // unmatched requests go on to the router's 404
    let Some(route) = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()) else {
        return next.run(req).await;
    };
    let Some(access) = access::classify(req.method(), &route) else {
        return unclassified(req.method(), &route);
    };
    let admin_write = access == Access::Admin && !is_safe(req.method());
    if let Err(e) = check(&state, &mut req, access).await {
        return e.into_response();
    }
    if !admin_write {
        return next.run(req).await;
    }
    // what the audit entry needs, taken only for admin writes (not on every request)
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let actor = req.extensions().get::<Principal>().map(|p| p.user_id);
    let client = Client::from_request(req.headers(), req.extensions(), state.config.auth.trusted_proxy_hops);
    let response = next.run(req).await;
    audit_admin_write(&state, &client, actor, &method, &route, &path, response.status().as_u16()).await;
    response
}

/// Records an admin's write (catalogue, groups, pools, models, verifications, users)
/// in the audit log once it was answered: who, what route, which path, what status.
/// User changes also record their own, finer entries in their transaction.
async fn audit_admin_write(
    state: &AppState,
    client: &Client,
    actor: Option<i64>,
    method: &Method,
    route: &str,
    path: &str,
    status: u16,
) {
    let details = serde_json::json!({ "method": method.as_str(), "route": route, "path": path, "status": status });
    let recorded = async {
        let mut conn = state.pool.get().await.map_err(kronos_db::Error::from)?;
        crate::accounts::audit(&mut conn, client, actor, None, kronos_types::accounts::AuditAction::AdminWrite, details)
            .await
    }
    .await;
    if let Err(e) = recorded {
        tracing::error!(error = %e, route, "could not audit an admin write");
    }
}

/// A route or method missing from the access table: a method the route does not have
/// is the `405` the router would give (answered here, before any credential); a route
/// missing from the table is a bug, refused rather than served unchecked.
fn unclassified(method: &Method, route: &str) -> Response {
    let allowed = access::methods(route);
    if allowed.is_empty() {
        tracing::error!(route, %method, "route missing from the access table");
        return ApiError::internal().into_response();
    }
    let allow = allowed.join(", ");
    let mut response = ApiError::method_not_allowed(format!("{route} allows {allow}")).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

async fn check(state: &AppState, req: &mut Request, access: Access) -> Result<(), ApiError> {
    if access == Access::OwnToken {
        return Ok(());
    }
    let principal = match presented(req)? {
        Some(presented) => Some(state.auth.authenticate(&state.pool, presented).await?),
        None => None,
    };
    if !is_safe(req.method()) {
        origin_check(state, req)?;
        if let Some(p) = &principal {
            csrf_check(req, p)?;
        }
    }
    allow(access, principal.as_ref())?;
    if let Some(p) = &principal {
        if p.api_key().is_some() {
            count_api_call(state, p).await?;
        }
    }
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    Ok(())
}

/// The credential the request carries: `Authorization: Bearer` first, else the
/// session cookie. Another authorization scheme is refused.
fn presented(req: &Request) -> Result<Option<Presented<'_>>, ApiError> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| ApiError::unauthenticated("malformed Authorization header"))?;
        let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || credential.trim().is_empty() {
            return Err(ApiError::unauthenticated("send Authorization: Bearer <access token or API key>"));
        }
        return Ok(Some(Presented::Bearer(credential.trim())));
    }
    Ok(cookies::read(req.headers(), cookies::ACCESS).map(Presented::Cookie))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A state-changing request that carries the session's cookies and names another
/// origin is refused (a cross-site form or script).
fn origin_check(state: &AppState, req: &Request) -> Result<(), ApiError> {
    if !cookies::any_sent(req.headers()) {
        return Ok(());
    }
    match req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(origin) if origin != origin_of(&state.config.auth.public_url) => {
            Err(ApiError::forbidden("csrf", format!("requests from {origin} may not use this site's session")))
        }
        _ => Ok(()),
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    url[after_scheme..].find('/').map_or(url, |i| &url[..after_scheme + i])
}

/// A cookie session's state-changing request must echo the CSRF cookie in its header.
fn csrf_check(req: &Request, principal: &Principal) -> Result<(), ApiError> {
    if !matches!(principal.credential, Credential::Session { cookie: true, .. }) {
        return Ok(());
    }
    let cookie = cookies::read(req.headers(), cookies::CSRF);
    let header = req.headers().get(cookies::CSRF_HEADER).and_then(|v| v.to_str().ok());
    match (cookie, header) {
        (Some(c), Some(h)) if constant_time_eq(c, h) => Ok(()),
        _ => Err(ApiError::forbidden("csrf", "send the kronos_csrf cookie's value in the X-CSRF-Token header")),
    }
}

/// Whether the caller may use a route of class `access`.
pub fn allow(access: Access, principal: Option<&Principal>) -> Result<(), ApiError> {
    let needs_login = || ApiError::unauthenticated("log in or send an API key");
    match access {
        Access::Public | Access::OwnToken => Ok(()),
        Access::User(scopes) | Access::Verified(scopes) => {
            let p = principal.ok_or_else(needs_login)?;
            if !scopes.iter().any(|s| p.allows(*s)) {
                let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
                return Err(ApiError::forbidden(
                    "missing_scope",
                    format!("this API key needs the scope {}", names.join(" or ")),
                ));
            }
            if matches!(access, Access::Verified(_)) && !p.verified {
                return Err(ApiError::forbidden(
                    "email_not_verified",
                    "verify your email address first (POST /v1/me/email-verification sends the link again)",
                ));
            }
            Ok(())
        }
        Access::Session => {
            let p = principal.ok_or_else(needs_login)?;
            match p.credential {
                Credential::Session { .. } => Ok(()),
                Credential::ApiKey { .. } => Err(ApiError::forbidden(
                    "session_required",
                    "account settings need a logged-in session, not an API key",
                )),
            }
        }
        Access::Admin => {
            let p = principal.ok_or_else(needs_login)?;
            if p.acts_as_admin() {
                Ok(())
            } else {
                Err(ApiError::forbidden("forbidden", "this needs an admin"))
            }
        }
    }
}

/// Counts an API-key request against the caller's daily API calls (admins: no limit).
async fn count_api_call(state: &AppState, p: &Principal) -> Result<(), ApiError> {
    let limit = if p.is_admin() { None } else { p.tier.daily_limit(Metric::ApiCalls) };
    match state.api_calls.call(p.user_id, limit).await? {
        Ok(_) => Ok(()),
        Err(exceeded) => {
            let quota = QuotaDetail {
                metric: Metric::ApiCalls,
                tier: p.tier,
                limit: limit.unwrap_or(0),
                used: limit.unwrap_or(0),
                resets_at: next_midnight(Utc::now()),
                upgrade: "/pricing",
            };
            Err(ApiError::over_quota(quota, exceeded.retry_after))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(origin_of("https://kronos.example/app"), "https://kronos.example");
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }
}
