//! Every route, in one router.

mod accuracy;
mod admin;
mod alerts;
mod asset_groups;
mod assets;
mod auth;
mod backtests;
mod batches;
mod billing;
mod evaluations;
mod health;
mod jobs;
mod me;
mod metrics;
mod model_assets;
pub(crate) mod models;
mod pages;
mod predictions;
mod results;
mod trainings;
mod unsubscribe;
mod verifications;

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    middleware::{self, Next},
    response::Response,
    Extension, Router,
};
use tower_http::timeout::RequestBodyTimeoutLayer;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    openapi::{self, ApiDoc, Document},
    state::AppState,
};

/// Every route with its OpenAPI operation: `routes!` registers a handler and its
/// `#[utoipa::path]` together, so a route cannot exist without its documentation.
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::base())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::render))
        .routes(routes!(openapi::document))
        .routes(routes!(openapi::docs))
        .routes(routes!(auth::register::register))
        .routes(routes!(auth::verify_email::verify_email))
        .routes(routes!(auth::login::login))
        .routes(routes!(auth::refresh::refresh))
        .routes(routes!(auth::logout::logout))
        .routes(routes!(auth::password_reset::request))
        .routes(routes!(auth::password_reset::confirm))
        .routes(routes!(pages::verify_page, pages::verify_form))
        .routes(routes!(pages::reset_page, pages::reset_form))
        .routes(routes!(me::show::show, me::update::update))
        .routes(routes!(me::password::change))
        .routes(routes!(me::verification::resend))
        .routes(routes!(me::usage::usage))
        .routes(routes!(me::api_keys::list, me::api_keys::create))
        .routes(routes!(me::api_keys::revoke))
        .routes(routes!(unsubscribe::unsubscribe))
        .routes(routes!(alerts::list::list, alerts::create::create))
        .routes(routes!(alerts::item::show, alerts::item::update, alerts::item::delete))
        .routes(routes!(alerts::events::events))
        .routes(routes!(billing::checkout::checkout))
        .routes(routes!(billing::portal::portal))
        .routes(routes!(billing::subscription::show))
        .routes(routes!(billing::webhook::receive))
        .routes(routes!(admin::users::list))
        .routes(routes!(admin::users::show, admin::users::update))
        .routes(routes!(admin::audit::list))
        .routes(routes!(models::list::list))
        .routes(routes!(models::show::show, models::delete::delete))
        .routes(routes!(models::promote::promote))
        .routes(routes!(trainings::create))
        .routes(routes!(results::training))
        .routes(routes!(verifications::create))
        .routes(routes!(results::verification))
        .routes(routes!(backtests::create::create))
        .routes(routes!(backtests::show::show))
        .routes(routes!(backtests::table::table))
        .routes(routes!(evaluations::create))
        .routes(routes!(results::evaluation))
        .routes(routes!(accuracy::accuracy))
        .routes(routes!(model_assets::list, model_assets::add))
        .routes(routes!(model_assets::update, model_assets::remove))
        .routes(routes!(assets::list::list, assets::catalogue::create))
        .routes(routes!(assets::catalogue::show, assets::catalogue::update, assets::catalogue::delete))
        .routes(routes!(asset_groups::list))
        .routes(routes!(asset_groups::show, asset_groups::put, asset_groups::delete))
        .routes(routes!(asset_groups::append))
        .routes(routes!(assets::candles::candles))
        .routes(routes!(assets::indicators::indicators))
        .routes(routes!(assets::quality::quality))
        .routes(routes!(assets::ticker::ticker))
        .routes(routes!(predictions::create::create, predictions::list::list))
        .routes(routes!(predictions::show::show))
        .routes(routes!(batches::create::create, batches::list::list))
        .routes(routes!(batches::show::show))
        .routes(routes!(batches::cancel::cancel))
        .routes(routes!(batches::results::results))
        .routes(routes!(jobs::list::list))
        .routes(routes!(jobs::show::show))
        .routes(routes!(jobs::events::events))
        .routes(routes!(jobs::feed::feed))
        .routes(routes!(jobs::cancel::cancel))
        .routes(routes!(results::any))
}

/// The OpenAPI document of every route (what `/openapi.json` serves).
pub fn api_document() -> utoipa::openapi::OpenApi {
    documented_routes().into_openapi()
}

/// The API router.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.api.max_body_bytes;
    let (routes, document) = documented_routes().split_for_parts();
    let document = Document(Arc::new(document.to_pretty_json().unwrap_or_else(|_| "{}".to_owned())));
    routes
        .merge(openapi::assets(state.config.api.docs_assets.as_deref()))
        .fallback(|State(state): State<AppState>, req: Request| async move { state.web.answer(req).await })
        .layer(middleware::from_fn_with_state(state.clone(), crate::auth::middleware::authorize))
        .layer(Extension(document))
        .layer(RequestBodyTimeoutLayer::new(state.config.api.body_read_timeout))
        .layer(middleware::from_fn(crate::responses::harden))
        .layer(middleware::from_fn_with_state(state.clone(), record_http_metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(crate::unread_body::close_when_unread))
        .layer(middleware::from_fn(crate::request_id::assign))
        .with_state(state)
}

async fn record_http_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    state.metrics.http_requests.with_label_values(&[&method, &route, &status]).inc();
    state.metrics.http_duration.with_label_values(&[&method, &route]).observe(started.elapsed().as_secs_f64());
    response
}
