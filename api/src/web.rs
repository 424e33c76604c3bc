//! The web application at `/`: the files `npm run build` wrote into `api/web/dist`
//! (`KRONOS_WEB_DIR`), served as the router's fallback, so every API route keeps its
//! own answers. Hashed build files (`/_app/…`) are cached for a year (a missing one is
//! a `404`), everything else revalidated; gzip copies made by the build are sent to
//! clients that accept them. Any other path is one of the application's pages and gets
//! `index.html` (the application routes in the browser, `/assets/BRK.B` included).
//! Under `/v1/` and for methods other than GET and HEAD the fallback is the JSON
//! `404` it always was.

use std::{
    convert::Infallible,
    path::{Path, PathBuf},
};

use axum::{
    extract::Request,
    http::{header, HeaderValue, Method},
    response::{IntoResponse, Response},
};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::ApiError;

/// What the application's pages may load: only this origin (no CDN, no remote font,
/// no remote image that would tell a third party who reads the page); inline style
/// attributes are set by the chart library.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Where the build puts its hashed files (`build.assetsDir` in `api/web/vite.config.js`).
const BUILD_FILES: &str = "/_app/";

/// Hashed build files never change under their name.
const FOREVER: &str = "public, max-age=31536000, immutable";

/// The web application's files.
#[derive(Debug, Clone)]
pub struct WebApp {
    dir: Option<PathBuf>,
}

impl WebApp {
    /// The application built into `dir`; none when `dir` is unset or holds no build.
    pub fn new(dir: Option<&Path>) -> Self {
        Self { dir: dir.filter(|d| d.join("index.html").is_file()).map(Path::to_path_buf) }
    }

    /// Answers a request no route matched.
    pub async fn answer(&self, req: Request) -> Response {
        let path = req.uri().path();
        let is_read = matches!(*req.method(), Method::GET | Method::HEAD);
        let Some(dir) = self.dir.as_deref().filter(|_| is_read && !path.starts_with("/v1/") && path != "/v1") else {
            return ApiError::not_found("no such route").into_response();
        };
        // the build's hashed files live under /_app/ (vite.config.js); a file at the top
        // (index.html) is served as it is; every other path is a page of the application
        let immutable = path.starts_with(BUILD_FILES);
        let top_file = !immutable
            && !path.contains("..")
            && tokio::fs::metadata(dir.join(path.trim_start_matches('/'))).await.is_ok_and(|m| m.is_file());
        let is_page = !immutable && !top_file;
        let mut response = if is_page {
            let index = ServeFile::new(dir.join("index.html")).precompressed_gzip();
            served(index.oneshot(req).await)
        } else {
            let files = ServeDir::new(dir).precompressed_gzip().append_index_html_on_directories(false);
            served(files.oneshot(req).await)
        };
        let cache = if immutable && response.status().is_success() { FOREVER } else { "no-cache" };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        if is_page {
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
        }
        response
    }
}

fn served<R: IntoResponse>(answer: Result<R, Infallible>) -> Response {
    match answer {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}
