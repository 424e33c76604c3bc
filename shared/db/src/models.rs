//! Queries on `models`: the registry of forecasting models whose weights live in the
//! object store.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use kronos_types::registry::{ModelFamily, ModelSource, ModelStatus};
use serde::Serialize;

use super::schema::models;
use crate::error::{Error, Result};

/// A registered model version.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = models, check_for_backend(diesel::pg::Pg))]
pub struct RegisteredModel {
    /// Id.
    pub id: i64,
    /// Unique name of this version (version 1 carries the lineage's name, later
    /// versions `<lineage>.v<N>`).
    pub name: String,
    /// Model family: Kronos, or a baseline regressor.
    #[diesel(deserialize_as = crate::words::Word<ModelFamily>)]
    pub family: ModelFamily,
    /// How it entered the registry.
    #[diesel(deserialize_as = crate::words::Word<ModelSource>)]
    pub source: ModelSource,
    /// Object-store prefix of the weights (see `StorageKey::ModelFile`).
    pub storage_prefix: String,
    /// The tokenizer's `config.json` (Kronos only).
    pub tokenizer_config: Option<serde_json::Value>,
    /// The predictor's `config.json` (a regressor's whole configuration).
    pub predictor_config: serde_json::Value,
    /// Default longest window.
    pub max_context: i32,
    /// Learnable parameters of the predictor.
    pub parameters: i64,
    /// SHA-256 of the weight files.
    pub weights_sha256: String,
    /// Owner, once users exist.
    pub owner_id: Option<i64>,
    /// Registered.
    pub created_at: DateTime<Utc>,
    /// The name users ask for; versions of one lineage share it.
    pub lineage: String,
    /// Version within the lineage, from 1.
    pub version: i32,
    /// Where it is in its lineage's lifecycle.
    #[diesel(deserialize_as = crate::words::Word<ModelStatus>)]
    pub status: ModelStatus,
    /// The version this one was trained from.
    pub parent_id: Option<i64>,
    /// Interval of the training candles.
    pub trained_interval: Option<String>,
    /// Assets of the training candles.
    pub trained_symbols: Option<Vec<String>>,
    /// First training candle.
    pub trained_from: Option<DateTime<Utc>>,
    /// Last candle used (training and validation).
    pub trained_to: Option<DateTime<Utc>>,
    /// The training job that made it.
    pub training_job_id: Option<uuid::Uuid>,
    /// Training settings.
    pub training_config: Option<serde_json::Value>,
    /// Validation loss and close metrics beside the naive baseline.
    pub metrics: Option<serde_json::Value>,
    /// When it last became the production version.
    pub promoted_at: Option<DateTime<Utc>>,
    /// Where pulled weights came from (`kronos_types::registry::HubOrigin`).
    pub origin: Option<serde_json::Value>,
}

impl RegisteredModel {
    /// Whether training found it better than naive on its validation windows (`None`:
    /// not measured, e.g. imported or randomly initialised weights).
    pub fn beats_naive(&self) -> Option<bool> {
        self.metrics.as_ref().and_then(|m| m.get("beats_naive")).and_then(serde_json::Value::as_bool)
    }
}

/// A model to register as version 1 of its own lineage, in production.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = models)]
pub struct NewModel {
    /// Unique name (also the lineage).
    pub name: String,
    /// How it enters the registry (`ModelSource::Import`, `Init` or `Hub`).
    #[diesel(serialize_as = String)]
    pub source: ModelSource,
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
    /// Where pulled weights came from (`kronos_types::registry::HubOrigin`).
    pub origin: Option<serde_json::Value>,
}

/// A trained version to register (its name and version number are assigned).
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// Lineage it joins (made if new).
    pub lineage: String,
    /// Family.
    pub family: ModelFamily,
    /// Object-store prefix of the weights.
    pub storage_prefix: String,
    /// Tokenizer config (Kronos).
    pub tokenizer_config: Option<serde_json::Value>,
    /// Predictor or regressor config.
    pub predictor_config: serde_json::Value,
    /// Default longest window.
    pub max_context: i32,
    /// Learnable parameters.
    pub parameters: i64,
    /// SHA-256 of the weight files.
    pub weights_sha256: String,
    /// Parent version.
    pub parent_id: Option<i64>,
    /// Interval trained on.
    pub trained_interval: String,
    /// Assets trained on.
    pub trained_symbols: Vec<String>,
    /// First candle.
    pub trained_from: Option<DateTime<Utc>>,
    /// Last candle.
    pub trained_to: Option<DateTime<Utc>>,
    /// Training job (`None` for `kronos train` runs in the CLI).
    pub training_job_id: Option<uuid::Uuid>,
    /// Settings.
    pub training_config: serde_json::Value,
    /// Metrics.
    pub metrics: serde_json::Value,
}

#[derive(Insertable)]
#[diesel(table_name = models)]
struct VersionRow<'a> {
    name: String,
    family: &'static str,
    source: &'static str,
    storage_prefix: &'a str,
    tokenizer_config: Option<&'a serde_json::Value>,
    predictor_config: &'a serde_json::Value,
    max_context: i32,
    parameters: i64,
    weights_sha256: &'a str,
    lineage: &'a str,
    version: i32,
    status: &'static str,
    parent_id: Option<i64>,
    trained_interval: &'a str,
    trained_symbols: &'a [String],
    trained_from: Option<DateTime<Utc>>,
    trained_to: Option<DateTime<Utc>>,
    training_job_id: Option<uuid::Uuid>,
    training_config: &'a serde_json::Value,
    metrics: &'a serde_json::Value,
}

pub use kronos_types::jobs::payload::validate_model_name as validate_name;

/// Registers a model as version 1 of a lineage of its own name, in production; a taken
/// name is a conflict.
pub async fn insert(conn: &mut AsyncPgConnection, model: &NewModel) -> Result<RegisteredModel> {
    validate_name(&model.name)?;
    if let Some((_, n)) = model.name.rsplit_once(".v") {
        if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::invalid(
                "name",
                format!("{:?}: names ending in .v<N> are kept for trained versions", model.name),
            ));
        }
    }
    // version 1 of its own lineage, in production (the column default)
    let inserted = diesel::insert_into(models::table)
        .values((
            model.clone(),
            models::lineage.eq(&model.name),
            models::version.eq(1),
            models::promoted_at.eq(diesel::dsl::now),
        ))
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

/// Every model, newest first, optionally of one lineage and status.
pub async fn list(conn: &mut AsyncPgConnection) -> Result<Vec<RegisteredModel>> {
    list_filtered(conn, None, None).await
}

/// Models newest first, optionally of one lineage and/or status.
pub async fn list_filtered(
    conn: &mut AsyncPgConnection,
    lineage: Option<&str>,
    status: Option<ModelStatus>,
) -> Result<Vec<RegisteredModel>> {
    let mut query = models::table.select(RegisteredModel::as_select()).order(models::id.desc()).into_boxed();
    if let Some(lineage) = lineage {
        query = query.filter(models::lineage.eq(lineage.to_owned()));
    }
    if let Some(status) = status {
        query = query.filter(models::status.eq(status.as_str()));
    }
    Ok(query.load(conn).await?)
}

/// The production version of a lineage.
pub async fn production(conn: &mut AsyncPgConnection, lineage: &str) -> Result<Option<RegisteredModel>> {
    Ok(models::table
        .filter(models::lineage.eq(lineage))
        .filter(models::status.eq(ModelStatus::Production.as_str()))
        .select(RegisteredModel::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Resolves what a user names: `lineage@N` is version N; a lineage name is its
/// production version; otherwise a version's own name. One query either way.
pub async fn resolve(conn: &mut AsyncPgConnection, reference: &str) -> Result<Option<RegisteredModel>> {
    if let Some((lineage, version)) = reference.rsplit_once('@') {
        let Ok(version) = version.parse::<i32>() else { return Ok(None) };
        return Ok(models::table
            .filter(models::lineage.eq(lineage))
            .filter(models::version.eq(version))
            .select(RegisteredModel::as_select())
            .first(conn)
            .await
            .optional()?);
    }
    // a lineage's production version wins over a version that happens to carry the name
    let production = models::lineage.eq(reference).and(models::status.eq(ModelStatus::Production.as_str()));
    Ok(models::table
        .filter(production.or(models::name.eq(reference)))
        .order(production.desc())
        .select(RegisteredModel::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Registers a trained version: the next version number of its lineage, status
/// `candidate` (promotion is decided by the caller from its metrics: even a lineage's
/// first version must beat the naive baseline). Idempotent per training job: a second
/// call returns the first row.
pub async fn insert_version(conn: &mut AsyncPgConnection, new: &NewVersion) -> Result<RegisteredModel> {
    validate_name(&new.lineage)?;
    conn.transaction::<_, Error, _>(async |conn| {
        {
            if let Some(job_id) = new.training_job_id {
                let existing = models::table
                    .filter(models::training_job_id.eq(job_id))
                    .select(RegisteredModel::as_select())
                    .first(conn)
                    .await
                    .optional()?;
                if let Some(existing) = existing {
                    return Ok(existing);
                }
            }
            // serialise version numbering within the lineage
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind::<diesel::sql_types::Text, _>(&new.lineage)
                .execute(conn)
                .await?;
            let last: Option<i32> = models::table
                .filter(models::lineage.eq(&new.lineage))
                .select(diesel::dsl::max(models::version))
                .first(conn)
                .await?;
            let version = last.unwrap_or(0) + 1;
            let name = if version == 1 { new.lineage.clone() } else { format!("{}.v{version}", new.lineage) };
            let row = VersionRow {
                name,
                family: new.family.as_str(),
                source: ModelSource::Training.as_str(),
                storage_prefix: &new.storage_prefix,
                tokenizer_config: new.tokenizer_config.as_ref(),
                predictor_config: &new.predictor_config,
                max_context: new.max_context,
                parameters: new.parameters,
                weights_sha256: &new.weights_sha256,
                lineage: &new.lineage,
                version,
                status: ModelStatus::Candidate.as_str(),
                parent_id: new.parent_id,
                trained_interval: &new.trained_interval,
                trained_symbols: &new.trained_symbols,
                trained_from: new.trained_from,
                trained_to: new.trained_to,
                training_job_id: new.training_job_id,
                training_config: &new.training_config,
                metrics: &new.metrics,
            };
            Ok(diesel::insert_into(models::table)
                .values(&row)
                .returning(RegisteredModel::as_returning())
                .get_result(conn)
                .await?)
        }
    })
    .await
}

/// Makes a version its lineage's production version; the previous production version
/// is archived. Returns the promoted row and the archived one.
pub async fn promote(conn: &mut AsyncPgConnection, id: i64) -> Result<(RegisteredModel, Option<RegisteredModel>)> {
    conn.transaction::<_, Error, _>(async |conn| {
        let target = models::table
            .find(id)
            .select(RegisteredModel::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("model {id}")))?;
        if target.status == ModelStatus::Production {
            return Ok((target, None));
        }
        let archived = diesel::update(
            models::table
                .filter(models::lineage.eq(&target.lineage))
                .filter(models::status.eq(ModelStatus::Production.as_str())),
        )
        .set(models::status.eq(ModelStatus::Archived.as_str()))
        .returning(RegisteredModel::as_returning())
        .get_result(conn)
        .await
        .optional()?;
        let promoted = diesel::update(models::table.find(id))
            .set((models::status.eq(ModelStatus::Production.as_str()), models::promoted_at.eq(diesel::dsl::now)))
            .returning(RegisteredModel::as_returning())
            .get_result(conn)
            .await?;
        Ok((promoted, archived))
    })
    .await
}

/// Deletes a version registered by mistake (its pool goes with it; forecasts made with
/// it keep its name). Refused while versions trained from it exist or unfinished jobs
/// would run it. The caller deletes its weights from the object store.
pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<RegisteredModel>> {
    conn.transaction::<_, Error, _>(async |conn| {
        let model: Option<RegisteredModel> =
            models::table.find(id).select(RegisteredModel::as_select()).for_update().first(conn).await.optional()?;
        let Some(model) = model else { return Ok(None) };
        let children: Vec<String> =
            models::table.filter(models::parent_id.eq(id)).select(models::name).order(models::id).load(conn).await?;
        if !children.is_empty() {
            return Err(Error::InUse(format!(
                "{} is the parent of {}; delete those versions first",
                model.name,
                children.join(", ")
            )));
        }
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        // predictions (kronos.model_id), backtests and evaluations (model.model_id), fine-tunes (from_model)
        let active: N = diesel::sql_query(
            "SELECT count(*) AS n FROM jobs WHERE status IN ('queued', 'running', 'retrying')
               AND ((payload -> 'kronos' ->> 'model_id')::int8 = $1
                    OR (payload -> 'model' ->> 'model_id')::int8 = $1
                    OR payload ->> 'from_model' = $2)",
        )
        .bind::<diesel::sql_types::BigInt, _>(id)
        .bind::<diesel::sql_types::Text, _>(&model.name)
        .get_result(conn)
        .await?;
        if active.n > 0 {
            return Err(Error::InUse(format!(
                "{} unfinished jobs use {}; cancel them or wait for them to finish",
                active.n, model.name
            )));
        }
        diesel::delete(models::table.find(id)).execute(conn).await?;
        Ok(Some(model))
    })
    .await
}
