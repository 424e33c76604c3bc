//! Who may call each route: the one table every request is checked against (by the
//! `authorize` middleware, from the route template axum matched). A route missing
//! from the table answers 500 and fails the authorization matrix test, so a new route
//! cannot ship unclassified.

use std::{collections::HashMap, sync::LazyLock};

use axum::http::Method;
use kronos_types::accounts::Scope;

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; a credential, when sent, must still be valid.
    Public,
    /// The handler checks a credential of its own (`/metrics` and its token); no user
    /// credential is read.
    OwnToken,
    /// A logged-in user (session or API key) whose key carries one of the scopes.
    User(&'static [Scope]),
    /// As [`Access::User`], and the user's address is verified: job submissions.
    Verified(&'static [Scope]),
    /// A logged-in user with a session, not an API key: account management (a leaked
    /// key must not make more keys or change the password).
    Session,
    /// An admin (with a session, or a key carrying `admin`).
    Admin,
}

const READ: &[Scope] = &[Scope::Read];
const PREDICT: &[Scope] = &[Scope::Predict];
const TRAIN: &[Scope] = &[Scope::Train];
const BACKTEST: &[Scope] = &[Scope::Backtest];
/// Cancelling a job: any scope that submits jobs.
const SUBMIT_ANY: &[Scope] = &[Scope::Predict, Scope::Train, Scope::Backtest];

/// Every route: method, template, access.
pub const ROUTES: &[(&str, &str, Access)] = &[
    // the platform itself
    ("GET", "/healthz", Access::Public),
    ("GET", "/readyz", Access::Public),
    ("GET", "/metrics", Access::OwnToken),
    ("GET", "/openapi.json", Access::Public),
    ("GET", "/docs", Access::Public),
    ("GET", "/docs/assets/{*file}", Access::Public),
    // accounts
    ("POST", "/v1/auth/register", Access::Public),
    ("POST", "/v1/auth/verify-email", Access::Public),
    ("POST", "/v1/auth/login", Access::Public),
    ("POST", "/v1/auth/refresh", Access::Public),
    ("POST", "/v1/auth/logout", Access::Public),
    ("POST", "/v1/auth/password-reset", Access::Public),
    ("POST", "/v1/auth/password-reset/confirm", Access::Public),
    // the pages the emailed links open
    ("GET", "/verify-email", Access::Public),
    ("POST", "/verify-email", Access::Public),
    ("GET", "/reset-password", Access::Public),
    ("POST", "/reset-password", Access::Public),
    ("GET", "/v1/me", Access::User(READ)),
    ("PATCH", "/v1/me", Access::Session),
    ("POST", "/v1/me/password", Access::Session),
    ("POST", "/v1/me/email-verification", Access::Session),
    ("GET", "/v1/me/usage", Access::User(READ)),
    ("GET", "/v1/me/api-keys", Access::Session),
    ("POST", "/v1/me/api-keys", Access::Session),
    ("DELETE", "/v1/me/api-keys/{id}", Access::Session),
    // an emailed link's token is the credential: it turns one kind of email off
    ("POST", "/v1/unsubscribe", Access::Public),
    // alerts: the caller's own rules (another user's is a 404)
    ("GET", "/v1/alerts", Access::User(READ)),
    ("POST", "/v1/alerts", Access::User(PREDICT)),
    ("GET", "/v1/alerts/{id}", Access::User(READ)),
    ("PATCH", "/v1/alerts/{id}", Access::User(PREDICT)),
    ("DELETE", "/v1/alerts/{id}", Access::User(PREDICT)),
    ("GET", "/v1/alerts/{id}/events", Access::User(READ)),
    // bulk batches: the caller's own (another user's is a 404); the tier decides who may
    ("GET", "/v1/batches", Access::User(READ)),
    ("POST", "/v1/batches", Access::User(PREDICT)),
    ("GET", "/v1/batches/{id}", Access::User(READ)),
    ("POST", "/v1/batches/{id}/cancel", Access::User(PREDICT)),
    ("GET", "/v1/batches/{id}/results", Access::User(READ)),
    // billing: buying and managing a subscription takes a session; Stripe's webhook is
    // authenticated by its signature
    ("POST", "/v1/billing/checkout", Access::Session),
    ("POST", "/v1/billing/portal", Access::Session),
    ("GET", "/v1/billing/subscription", Access::User(READ)),
    ("POST", "/v1/billing/webhook", Access::Public),
    ("GET", "/v1/admin/users", Access::Admin),
    ("GET", "/v1/admin/users/{id}", Access::Admin),
    ("PATCH", "/v1/admin/users/{id}", Access::Admin),
    ("GET", "/v1/admin/audit", Access::Admin),
    // catalogue and market data: reads are public, writes are the admins'
    ("GET", "/v1/assets", Access::Public),
    ("POST", "/v1/assets", Access::Admin),
    ("GET", "/v1/assets/{symbol}", Access::Public),
    ("PATCH", "/v1/assets/{symbol}", Access::Admin),
    ("DELETE", "/v1/assets/{symbol}", Access::Admin),
    ("GET", "/v1/assets/{symbol}/candles", Access::Public),
    ("GET", "/v1/assets/{symbol}/indicators", Access::Public),
    ("GET", "/v1/assets/{symbol}/quality", Access::Public),
    ("GET", "/v1/assets/{symbol}/ticker", Access::Public),
    ("GET", "/v1/asset-groups", Access::Public),
    ("GET", "/v1/asset-groups/{slug}", Access::Public),
    ("PUT", "/v1/asset-groups/{slug}", Access::Admin),
    ("DELETE", "/v1/asset-groups/{slug}", Access::Admin),
    ("POST", "/v1/asset-groups/{slug}/members", Access::Admin),
    // the model registry: listing is public, changes are the admins'
    ("GET", "/v1/models", Access::Public),
    ("GET", "/v1/models/{model}", Access::Public),
    ("DELETE", "/v1/models/{model}", Access::Admin),
    ("POST", "/v1/models/{model}/promote", Access::Admin),
    ("GET", "/v1/models/{model}/assets", Access::Public),
    ("POST", "/v1/models/{model}/assets", Access::Admin),
    ("PATCH", "/v1/models/{model}/assets/{symbol}", Access::Admin),
    ("DELETE", "/v1/models/{model}/assets/{symbol}", Access::Admin),
    // work: submitted by verified users, read by their owner (and admins)
    ("POST", "/v1/predictions", Access::Verified(PREDICT)),
    ("GET", "/v1/predictions", Access::User(READ)),
    ("GET", "/v1/predictions/{id}", Access::User(READ)),
    ("POST", "/v1/trainings", Access::Verified(TRAIN)),
    ("GET", "/v1/trainings/{id}", Access::User(READ)),
    ("POST", "/v1/backtests", Access::Verified(BACKTEST)),
    ("GET", "/v1/backtests/{id}", Access::User(READ)),
    ("GET", "/v1/backtests/{id}/{table}", Access::User(READ)),
    ("POST", "/v1/evaluations", Access::Verified(BACKTEST)),
    ("GET", "/v1/evaluations/{id}", Access::User(READ)),
    ("POST", "/v1/verifications", Access::Admin),
    ("GET", "/v1/verifications/{id}", Access::Admin),
    ("GET", "/v1/accuracy", Access::User(READ)),
    ("GET", "/v1/jobs", Access::User(READ)),
    ("GET", "/v1/jobs/{id}", Access::User(READ)),
    ("GET", "/v1/jobs/events", Access::User(READ)),
    ("GET", "/v1/jobs/{id}/events", Access::User(READ)),
    ("POST", "/v1/jobs/{id}/cancel", Access::User(SUBMIT_ANY)),
    ("GET", "/v1/jobs/{id}/result", Access::User(READ)),
];

/// Route template → its methods and their access.
static TABLE: LazyLock<HashMap<&'static str, Vec<(&'static str, Access)>>> = LazyLock::new(|| {
    let mut table: HashMap<&'static str, Vec<(&'static str, Access)>> = HashMap::new();
    for (method, path, access) in ROUTES {
        table.entry(*path).or_default().push((*method, *access));
    }
    table
});

/// The methods the table has for route template `path` (empty for an unknown path).
pub fn methods(path: &str) -> Vec<&'static str> {
    let path = if path.starts_with("/docs/assets") { "/docs/assets/{*file}" } else { path };
    TABLE.get(path).map(|m| m.iter().map(|(method, _)| *method).collect()).unwrap_or_default()
}

/// The access of `method` on route template `path`; `None` for an unclassified route.
pub fn classify(method: &Method, path: &str) -> Option<Access> {
    // HEAD is answered by GET handlers
    let method = if method == Method::HEAD { "GET" } else { method.as_str() };
    // the docs' static files are served by a nested service, whatever their path
    let path = if path.starts_with("/docs/assets") { "/docs/assets/{*file}" } else { path };
    TABLE.get(path)?.iter().find(|(m, _)| *m == method).map(|(_, access)| *access)
}
