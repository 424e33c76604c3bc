//! Queries on `models`: the registry of forecasting models whose weights live in the
//! object store.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::models;
use crate::error::{Error, Result};

/// A registered model.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = models, check_for_backend(diesel::pg::Pg))]
pub struct RegisteredModel {
    /// Id.
    pub id: i64,
    /// Unique name used in prediction requests.
    pub name: String,
    /// Model family (`kronos`).
    pub family: String,
    /// `import`, `init` or `training`.
    pub source: String,
    /// Object-store prefix of the weights (see `StorageKey::ModelFile`).
    pub storage_prefix: String,
    /// The tokenizer's `config.json`.
    pub tokenizer_config: serde_json::Value,
    /// The predictor's `config.json`.
    pub predictor_config: serde_json::Value,
    /// Default longest window.
    pub max_context: i32,
    /// Learnable parameters of the predictor.
    pub parameters: i64,
    /// SHA-256 of the two weight files.
    pub weights_sha256: String,
    /// Owner, once users exist.
    pub owner_id: Option<i64>,
    /// Registered.
    pub created_at: DateTime<Utc>,
}

/// A model to register.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = models)]
pub struct NewModel {
    /// Unique name.
    pub name: String,
    /// `import`, `init` or `training`.
    pub source: String,
    /// Object-store prefix of the weights.
    pub storage_prefix: String,
    /// The tokenizer's `config.json`.
    pub tokenizer_config: serde_json::Value,
    /// The predictor's `config.json`.
    pub predictor_config: serde_json::Value,
    /// Default longest window.
    pub max_context: i32,
    /// Learnable parameters of the predictor.
    pub parameters: i64,
    /// SHA-256 of the two weight files.
    pub weights_sha256: String,
}

/// Checks a model name: lower-case letters, digits, `.`, `_`, `-`; at most 64; not a
/// baseline's name.
pub fn validate_name(name: &str) -> Result<()> {
    let ok_first = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok_rest = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
    if !(ok_first && ok_rest && name.len() <= 64) {
        return Err(Error::invalid(
            "name",
            format!("model name {name:?} must be 1-64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit"),
        ));
    }
    if crate::jobs::payload::BASELINE_MODELS.contains(&name) {
        return Err(Error::invalid("name", format!("{name:?} is a built-in baseline")));
    }
    Ok(())
}

/// Registers a model; a taken name is a conflict.
pub async fn insert(conn: &mut AsyncPgConnection, model: &NewModel) -> Result<RegisteredModel> {
    validate_name(&model.name)?;
    let inserted = diesel::insert_into(models::table)
        .values(model)
        .on_conflict_do_nothing()
        .returning(RegisteredModel::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    inserted.ok_or_else(|| Error::Conflict {
        field: "name".into(),
        message: format!("a model named {:?} already exists", model.name),
    })
}

/// Finds a model by name.
pub async fn find_by_name(conn: &mut AsyncPgConnection, name: &str) -> Result<Option<RegisteredModel>> {
    Ok(models::table.filter(models::name.eq(name)).select(RegisteredModel::as_select()).first(conn).await.optional()?)
}

/// Finds a model by id.
pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<RegisteredModel>> {
    Ok(models::table.find(id).select(RegisteredModel::as_select()).first(conn).await.optional()?)
}

/// Every model, newest first.
pub async fn list(conn: &mut AsyncPgConnection) -> Result<Vec<RegisteredModel>> {
    Ok(models::table.select(RegisteredModel::as_select()).order(models::id.desc()).load(conn).await?)
}
