//! The OpenAPI 3.1 document of the `/v1` contract, generated from the handlers'
//! `#[utoipa::path]` attributes and the schemas of `crate::dto` (every route is
//! registered through `utoipa_axum::routes!`, so the router and the document cannot
//! drift apart), served at `/openapi.json`; `/docs` serves Swagger UI over it from
//! files installed at setup (`KRONOS_API_DOCS_ASSETS`), never from a CDN.

use std::{path::Path, sync::Arc};

use axum::{
    extract::State,
    http::header,
    response::{Html, IntoResponse, Response},
    routing::get,
    Extension, Router,
};
use tower_http::services::ServeDir;
use utoipa::OpenApi;

use crate::{error::ApiError, state::AppState};

/// The document's fixed parts: title, version, description, tags.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kronos platform API",
        version = "1",
        description = "Forecasts for stocks and crypto from the Kronos model, measured beside naive baselines. Authenticate with `Authorization: Bearer <token>`: an access token from `POST /v1/auth/login` (15 minutes; `POST /v1/auth/refresh` renews it) or an API key from `POST /v1/me/api-keys` (`kr_live_…`, with scopes). Reading the catalogue, candles and the model registry is public; your jobs and results are yours alone (another user's answer `404`); admins manage the catalogue, models and users. Daily quotas by tier answer `429` with `Retry-After`. Submissions (`POST /v1/predictions`, `/v1/backtests`, `/v1/evaluations`, `/v1/trainings`, `/v1/verifications`) answer `202` with a job; poll `GET /v1/jobs/{id}` and read the result at the job's `links.result`. Every failure answers `{\"error\": {\"code\", \"message\", \"field\"}}`. Concepts: docs/api.md.",
        license(name = "MIT")
    ),
    components(schemas(crate::dto::error::ErrorBody)),
    modifiers(&BearerAuth),
    security(("bearer" = []), ()),
    tags(
        (name = "predictions", description = "Forecast a series"),
        (name = "batches", description = "Bulk prediction batches: JSON, CSV or Parquet uploads, progress, \
            cancellation, Parquet/CSV results, signed completion callbacks (`Kronos-Signature: t=<unix seconds>,v1=<hex>`, \
            the hex HMAC-SHA256 of `<t>.<raw body>` keyed with your API key's `callback_secret`, as Stripe signs webhooks)"),
        (name = "jobs", description = "Status, progress, cancellation and results of every job"),
        (name = "backtests", description = "Strategies on stored history, model signals included"),
        (name = "evaluations", description = "A model walk-forward over history, every forecast verified"),
        (name = "trainings", description = "Fine-tune or train models into the registry"),
        (name = "verifications", description = "Score expired forecasts against what happened"),
        (name = "accuracy", description = "Verified accuracy beside naive"),
        (name = "models", description = "The model registry and per-model asset pools"),
        (name = "assets", description = "The catalogue and asset groups"),
        (name = "market data", description = "Candles, indicators, data quality, tickers"),
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "auth", description = "Register, verify the address, log in, refresh, log out, reset the password"),
        (name = "me", description = "Your account, usage against your tier, API keys, email preferences"),
        (name = "alerts", description = "Your alert rules on prices and forecasts, and when they fired"),
        (name = "billing", description = "Subscriptions through Stripe: checkout, the customer portal, your subscription, Stripe's webhook"),
        (name = "admin", description = "Users and the audit log (admins only)"),
    )
)]
pub struct ApiDoc;

/// The bearer scheme: an access token or an API key.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An access token (POST /v1/auth/login) or an API key (kr_live_…)"))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

impl ApiDoc {
    /// The fixed parts as a document to add the routes to.
    pub fn base() -> utoipa::openapi::OpenApi {
        <Self as OpenApi>::openapi()
    }
}

/// The page at `/docs`: Swagger UI over `/openapi.json`, from local files.
const DOCS_PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Kronos API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
</script>
</body>
</html>
"##;

/// The document as served, rendered once when the router is built.
#[derive(Debug, Clone)]
pub struct Document(pub Arc<String>);

/// This document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapiDocument", tag = "operations",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API", body = Object),
        (status = 401, description = "A credential was sent that does not authenticate", body = crate::dto::error::ErrorBody),
    ))]
pub async fn document(Extension(document): Extension<Document>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document.0.as_ref().clone()).into_response()
}

/// Interactive documentation (Swagger UI) of this document.
#[utoipa::path(get, path = "/docs", operation_id = "docs", tag = "operations",
    responses(
        (status = 200, description = "Swagger UI", body = String, content_type = "text/html"),
        (status = 404, description = "Its files are not installed on this server", body = crate::dto::error::ErrorBody),
        (status = 401, description = "A credential was sent that does not authenticate", body = crate::dto::error::ErrorBody),
    ))]
pub async fn docs(State(state): State<AppState>) -> Response {
    if installed(state.config.api.docs_assets.as_deref()).is_some() {
        Html(DOCS_PAGE).into_response()
    } else {
        not_installed()
    }
}

/// Swagger UI's files at `/docs/assets/`, from the directory installed at setup.
pub fn assets(dir: Option<&Path>) -> Router<AppState> {
    match installed(dir) {
        Some(dir) => Router::new().nest_service("/docs/assets", ServeDir::new(dir)),
        None => Router::new().route("/docs/assets/{*file}", get(|| async { not_installed() })),
    }
}

/// The assets directory, when it holds Swagger UI.
fn installed(dir: Option<&Path>) -> Option<&Path> {
    dir.filter(|dir| dir.join("swagger-ui-bundle.js").is_file())
}

fn not_installed() -> Response {
    ApiError::not_found(
        "the interactive docs are not installed here (ops/up installs them and sets KRONOS_API_DOCS_ASSETS); the document is at /openapi.json",
    )
    .into_response()
}
