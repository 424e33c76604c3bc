//! Every route, in one router.

mod accuracy;
mod asset_groups;
mod assets;
mod backtests;
mod evaluations;
mod health;
mod jobs;
mod metrics;
mod model_assets;
mod models;
mod predictions;
mod results;
mod trainings;
mod verifications;

use std::time::Instant;

use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    middleware::{self, Next},
    response::Response,
    routing::{get, patch, post},
    Router,
};

use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::state::AppState;

/// The API router.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.api.max_body_bytes;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .route("/v1/models", get(models::list::list))
        .route("/v1/models/{model}", get(models::show::show).delete(models::delete::delete))
        .route("/v1/models/{model}/promote", post(models::promote::promote))
        .route("/v1/trainings", post(trainings::create))
        .route("/v1/trainings/{id}", get(results::training))
        .route("/v1/verifications", post(verifications::create))
        .route("/v1/verifications/{id}", get(results::verification))
        .route("/v1/backtests", post(backtests::create::create))
        .route("/v1/backtests/{id}", get(backtests::show::show))
        .route("/v1/backtests/{id}/{table}", get(backtests::table::table))
        .route("/v1/evaluations", post(evaluations::create))
        .route("/v1/evaluations/{id}", get(results::evaluation))
        .route("/v1/accuracy", get(accuracy::accuracy))
        .route("/v1/models/{model}/assets", get(model_assets::list).post(model_assets::add))
        .route("/v1/models/{model}/assets/{symbol}", patch(model_assets::update).delete(model_assets::remove))
        .route("/v1/assets", get(assets::list::list).post(assets::catalogue::create))
        .route(
            "/v1/assets/{symbol}",
            get(assets::catalogue::show).patch(assets::catalogue::update).delete(assets::catalogue::delete),
        )
        .route("/v1/asset-groups", get(asset_groups::list))
        .route("/v1/asset-groups/{slug}", get(asset_groups::show).put(asset_groups::put).delete(asset_groups::delete))
        .route("/v1/asset-groups/{slug}/members", post(asset_groups::append))
        .route("/v1/assets/{symbol}/candles", get(assets::candles::candles))
        .route("/v1/assets/{symbol}/indicators", get(assets::indicators::indicators))
        .route("/v1/assets/{symbol}/quality", get(assets::quality::quality))
        .route("/v1/assets/{symbol}/ticker", get(assets::ticker::ticker))
        .route("/v1/predictions", post(predictions::create::create))
        .route("/v1/predictions/{id}", get(predictions::show::show))
        .route("/v1/jobs", get(jobs::list::list))
        .route("/v1/jobs/{id}", get(jobs::show::show))
        .route("/v1/jobs/{id}/cancel", post(jobs::cancel::cancel))
        .route("/v1/jobs/{id}/result", get(results::any))
        .fallback(|| async { crate::error::ApiError::not_found("no such route") })
        .layer(RequestBodyTimeoutLayer::new(state.config.api.body_read_timeout))
        .layer(middleware::from_fn(crate::responses::harden))
        .layer(middleware::from_fn_with_state(state.clone(), record_http_metrics))
        .layer(DefaultBodyLimit::max(body_limit))
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
