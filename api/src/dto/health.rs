//! `GET /healthz` and `GET /readyz`.

use serde::Serialize;
use utoipa::ToSchema;

/// The process is up.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Whether each dependency answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ok` when every dependency answers, else `unavailable`.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// PostgreSQL.
    pub postgres: Probe,
    /// Redis.
    pub redis: Probe,
    /// The object store.
    pub object_store: Probe,
}

/// One dependency.
#[derive(Debug, Serialize, ToSchema)]
pub struct Probe {
    /// `ok` or `error`.
    pub status: &'static str,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<Result<(), String>> for Probe {
    fn from(r: Result<(), String>) -> Self {
        match r {
            Ok(()) => Self { status: "ok", error: None },
            Err(e) => Self { status: "error", error: Some(e) },
        }
    }
}
