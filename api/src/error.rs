//! The one HTTP error type: `{"error": {"code", "message", "field"}}`.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use crate::dto::error::{ErrorBody, ErrorDetail, QuotaDetail};

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    retry_after: Option<u64>,
    quota: Option<Box<QuotaDetail>>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>, field: Option<&str>) -> Self {
        Self { status, code, message: message.into(), field: field.map(str::to_owned), retry_after: None, quota: None }
    }

    /// 401: no credential where one is needed, or one that does not authenticate
    /// (the answer is the same for every reason).
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message, None)
    }

    /// 403: authenticated, but not allowed (`code` says why: `forbidden`,
    /// `missing_scope`, `email_not_verified`, `session_required`, `csrf`).
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message, None)
    }

    /// 429: a rate limit; try again in `retry_after` seconds.
    pub fn rate_limited(message: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message, None)
        }
    }

    /// 429: a daily quota is used up until `quota.resets_at`.
    pub fn over_quota(quota: QuotaDetail, retry_after: u64) -> Self {
        let message = format!(
            "the {} tier allows {} {} a day; used {}; resets at {} (upgrade for more)",
            quota.tier.as_str(),
            quota.limit,
            quota.metric.as_str().replace('_', " "),
            quota.used,
            quota.resets_at.format("%Y-%m-%dT%H:%M:%SZ")
        );
        Self {
            retry_after: Some(retry_after),
            quota: Some(Box::new(quota)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "quota_exceeded", message, None)
        }
    }

    /// 400: the body is not valid JSON.
    pub fn malformed_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_json", message, None)
    }

    /// 422: a field failed validation.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message, Some(field))
    }

    /// 404: nothing here.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message, None)
    }

    /// 409: the request conflicts with the resource's state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message, None)
    }

    /// 413: the body is too large.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message, None)
    }

    /// 503: a dependency is unavailable.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message, None)
    }

    /// 404: the platform does not sell subscriptions (Stripe is not configured).
    pub fn billing_disabled() -> Self {
        Self::new(StatusCode::NOT_FOUND, "billing_disabled", "billing is not configured on this platform", None)
    }

    /// 502: a service the request needs (Stripe) refused it.
    pub fn bad_gateway(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, "upstream_refused", message, None)
    }

    /// 500: a bug or an unexpected failure (details go to the log, not the client).
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error", None)
    }

    /// 405: the route exists, the method does not.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", message, None)
    }

    /// Any other status, for answers produced outside the handlers (the router's own
    /// rejections, timeouts), with a code derived from the status.
    pub fn from_status(status: StatusCode, message: impl Into<String>) -> Self {
        let code = match status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::REQUEST_TIMEOUT => "request_timeout",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::URI_TOO_LONG => "uri_too_long",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_field",
            StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
            StatusCode::UNAUTHORIZED => "unauthenticated",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            s if s.is_server_error() => "internal",
            _ => "error",
        };
        Self::new(status, code, message, None)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The field named, if any.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// What a person reads.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<kronos_types::Error> for ApiError {
    fn from(e: kronos_types::Error) -> Self {
        let kronos_types::Error::Invalid { field, message } = e;
        Self::invalid(&field, message)
    }
}

impl From<kronos_db::Error> for ApiError {
    fn from(e: kronos_db::Error) -> Self {
        use kronos_db::Error as Db;
        match e {
            Db::NotFound(what) => Self::not_found(format!("{what} not found")),
            Db::Invalid { field, message } => Self::invalid(&field, message),
            Db::Conflict { field, message } => Self::new(StatusCode::CONFLICT, "conflict", message, Some(&field)),
            Db::InUse(message) => Self::conflict("in_use", message),
            Db::Pool(m) => {
                tracing::error!(error = %m, "database pool unavailable");
                Self::unavailable("database unavailable")
            }
            Db::Batch(m) => {
                tracing::error!(error = %m, "batched database write failed");
                Self::unavailable("database unavailable")
            }
            Db::Database(e) => e.into(),
            other => {
                tracing::error!(error = %other, "request failed");
                Self::internal()
            }
        }
    }
}

impl From<kronos_billing::Error> for ApiError {
    fn from(e: kronos_billing::Error) -> Self {
        use kronos_billing::Error as Billing;
        match e {
            Billing::Invalid { field, message } => Self::invalid(field, message),
            Billing::Db(e) => e.into(),
            Billing::Refused { .. } => {
                tracing::error!(error = %e, "Stripe refused a request");
                Self::bad_gateway("the payment provider refused the request; try again later")
            }
            Billing::Unavailable(m) => {
                tracing::error!(error = %m, "Stripe unavailable");
                Self::unavailable("the payment provider is unavailable; try again later")
            }
        }
    }
}

impl From<kronos_auth::Error> for ApiError {
    fn from(e: kronos_auth::Error) -> Self {
        match e {
            kronos_auth::Error::Invalid { field, message } => Self::invalid(field, message),
            kronos_auth::Error::Unauthenticated(why) => {
                tracing::debug!(why, "credential refused");
                Self::unauthenticated("the credential does not authenticate")
            }
            kronos_auth::Error::Internal(m) => {
                tracing::error!(error = %m, "auth failure");
                Self::internal()
            }
        }
    }
}

impl From<kronos_queue::Error> for ApiError {
    fn from(e: kronos_queue::Error) -> Self {
        use kronos_queue::Error as Queue;
        match e {
            Queue::Invalid { field, message } => Self::invalid(&field, message),
            Queue::Db(e) => e.into(),
            Queue::Batch(m) => {
                tracing::error!(error = %m, "batched database write failed");
                Self::unavailable("database unavailable")
            }
            Queue::Redis(err) => {
                tracing::error!(error = %err, "redis unavailable");
                Self::unavailable("queue unavailable")
            }
            other => {
                tracing::error!(error = %other, "request failed");
                Self::internal()
            }
        }
    }
}

impl From<kronos_storage::Error> for ApiError {
    fn from(e: kronos_storage::Error) -> Self {
        match e {
            kronos_storage::Error::NotFound(what) => Self::not_found(format!("{what} not found")),
            other => {
                tracing::error!(error = %other, "object store failed");
                Self::unavailable("object store unavailable")
            }
        }
    }
}

impl From<kronos_market_data::Error> for ApiError {
    fn from(e: kronos_market_data::Error) -> Self {
        match e {
            kronos_market_data::Error::Invalid { field, message } => Self::invalid(&field, message),
            other => {
                tracing::error!(error = %other, "market-data computation failed");
                Self::internal()
            }
        }
    }
}

impl From<kronos_backtest::Error> for ApiError {
    fn from(e: kronos_backtest::Error) -> Self {
        match e {
            kronos_backtest::Error::Invalid { field, message } => Self::invalid(&field, message),
            other => {
                tracing::error!(error = %other, "backtest table failed");
                Self::internal()
            }
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        kronos_db::Error::from(e).into()
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        tracing::error!(error = %e, "json encoding failed");
        Self::internal()
    }
}

/// The last line of defence for a statement PostgreSQL refused: input is validated
/// where it enters, so these mean a check is missing; the client still gets a 4xx
/// (a conflict with stored data, or input PostgreSQL cannot hold) and the log says which.
fn database_error(
    kind: diesel::result::DatabaseErrorKind,
    info: &dyn diesel::result::DatabaseErrorInformation,
) -> ApiError {
    use diesel::result::DatabaseErrorKind as Kind;
    tracing::warn!(constraint = ?info.constraint_name(), message = info.message(), "statement refused by PostgreSQL");
    match kind {
        Kind::UniqueViolation => ApiError::conflict("already_exists", "a record with these values already exists"),
        Kind::ForeignKeyViolation => ApiError::conflict("in_use", "the record is referenced by other records"),
        Kind::CheckViolation | Kind::NotNullViolation => {
            ApiError::from_status(StatusCode::UNPROCESSABLE_ENTITY, "a value is outside what can be stored")
        }
        _ if info.message().contains("invalid byte sequence") || info.message().contains("\\u0000") => {
            ApiError::from_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the request holds characters that cannot be stored",
            )
        }
        _ => {
            tracing::error!(message = info.message(), "database error");
            ApiError::internal()
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => Self::not_found("not found"),
            diesel::result::Error::DatabaseError(kind, info) => database_error(kind, &*info),
            other => {
                tracing::error!(error = %other, "database error");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let detail =
            ErrorDetail { code: self.code, message: self.message, field: self.field, quota: self.quota.map(|q| *q) };
        let mut response = (self.status, Json(ErrorBody { error: detail })).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
