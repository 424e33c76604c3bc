//! Queries on `model_asset_pools`: which assets a registered model trains on and
//! forecasts in scheduled work, each with an enabled flag and a relative weight.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{asset_group_members, asset_groups, assets, model_asset_pools};
use crate::error::{Error, Result};

/// One asset of a model's pool.
#[derive(Debug, Clone, Serialize, Queryable)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PoolEntry {
    /// Symbol.
    pub symbol: String,
    /// Asset class.
    pub class: String,
    /// Whether the asset itself is active.
    pub asset_active: bool,
    /// Whether the model uses it.
    pub enabled: bool,
    /// Relative weight.
    pub weight: f64,
    /// When it joined the pool.
    pub added_at: DateTime<Utc>,
}

/// Largest weight.
pub const MAX_WEIGHT: f64 = 1000.0;

/// Checks a weight (a 422 naming `weight`).
pub fn check_weight(weight: f64) -> Result<()> {
    if weight.is_finite() && weight > 0.0 && weight <= MAX_WEIGHT {
        Ok(())
    } else {
        Err(Error::invalid("weight", format!("weight must be above 0 and at most {MAX_WEIGHT}")))
    }
}

/// The pool of `model_id`, by symbol.
pub async fn list(conn: &mut AsyncPgConnection, model_id: i64) -> Result<Vec<PoolEntry>> {
    Ok(model_asset_pools::table
        .inner_join(assets::table)
        .filter(model_asset_pools::model_id.eq(model_id))
        .order(assets::symbol)
        .select((
            assets::symbol,
            assets::class,
            assets::active,
            model_asset_pools::enabled,
            model_asset_pools::weight,
            model_asset_pools::added_at,
        ))
        .load(conn)
        .await?)
}

/// Adds `symbols` to the pool with `weight` (enabled); members already in the pool
/// keep their settings. Returns how many were added. Unknown or inactive symbols are
/// a 422 naming `symbols`.
pub async fn add_symbols(
    conn: &mut AsyncPgConnection,
    model_id: i64,
    symbols: &[String],
    weight: f64,
) -> Result<usize> {
    check_weight(weight)?;
    let found = super::assets::resolve_symbols(conn, symbols, "symbols").await?;
    let inactive: Vec<String> =
        symbols.iter().zip(&found).filter(|(_, (_, active))| !active).map(|(s, _)| s.to_ascii_uppercase()).collect();
    if !inactive.is_empty() {
        return Err(Error::invalid("symbols", format!("inactive assets cannot join a pool: {}", inactive.join(", "))));
    }
    insert(conn, model_id, found.into_iter().map(|(id, _)| id).collect(), weight).await
}

/// Adds every active member of group `slug` to the pool (see [`add_symbols`]);
/// inactive members are skipped. Returns how many were added.
pub async fn add_group(conn: &mut AsyncPgConnection, model_id: i64, slug: &str, weight: f64) -> Result<usize> {
    check_weight(weight)?;
    let group: Option<i64> = asset_groups::table
        .filter(asset_groups::slug.eq(slug))
        .select(asset_groups::id)
        .first(conn)
        .await
        .optional()?;
    let Some(group) = group else {
        return Err(Error::invalid("group", format!("unknown asset group {slug:?}")));
    };
    let ids: Vec<i64> = asset_group_members::table
        .inner_join(assets::table)
        .filter(asset_group_members::group_id.eq(group))
        .filter(assets::active.eq(true))
        .select(assets::id)
        .load(conn)
        .await?;
    insert(conn, model_id, ids, weight).await
}

async fn insert(conn: &mut AsyncPgConnection, model_id: i64, ids: Vec<i64>, weight: f64) -> Result<usize> {
    let rows: Vec<_> = ids
        .into_iter()
        .map(|id| {
            (
                model_asset_pools::model_id.eq(model_id),
                model_asset_pools::asset_id.eq(id),
                model_asset_pools::weight.eq(weight),
            )
        })
        .collect();
    Ok(diesel::insert_into(model_asset_pools::table).values(rows).on_conflict_do_nothing().execute(conn).await?)
}

/// Changes the enabled flag and/or weight of `symbol` in the pool (at least one: a 422
/// naming `body` otherwise); `false` when the symbol is not in the pool.
pub async fn update(
    conn: &mut AsyncPgConnection,
    model_id: i64,
    symbol: &str,
    enabled: Option<bool>,
    weight: Option<f64>,
) -> Result<bool> {
    if enabled.is_none() && weight.is_none() {
        return Err(Error::invalid("body", "give enabled and/or weight"));
    }
    if let Some(w) = weight {
        check_weight(w)?;
    }
    let asset = assets::table.filter(assets::symbol.eq(symbol.to_ascii_uppercase())).select(assets::id);
    let target = model_asset_pools::table
        .filter(model_asset_pools::model_id.eq(model_id))
        .filter(model_asset_pools::asset_id.eq_any(asset));
    let n = diesel::update(target)
        .set((enabled.map(|e| model_asset_pools::enabled.eq(e)), weight.map(|w| model_asset_pools::weight.eq(w))))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Removes `symbol` from the pool; `false` when it was not there.
pub async fn remove(conn: &mut AsyncPgConnection, model_id: i64, symbol: &str) -> Result<bool> {
    let asset = assets::table.filter(assets::symbol.eq(symbol.to_ascii_uppercase())).select(assets::id);
    let n = diesel::delete(
        model_asset_pools::table
            .filter(model_asset_pools::model_id.eq(model_id))
            .filter(model_asset_pools::asset_id.eq_any(asset)),
    )
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// A pool member the scheduled forecasts cover: an enabled member, active asset, of a
/// production Kronos version.
#[derive(Debug, Clone)]
pub struct ScheduledMember {
    /// The production version.
    pub model: crate::models::RegisteredModel,
    /// The asset.
    pub asset: crate::assets::Asset,
}

/// Every member the scheduled forecasts cover, by model then asset.
pub async fn scheduled(conn: &mut AsyncPgConnection) -> Result<Vec<ScheduledMember>> {
    use super::schema::models;
    let rows: Vec<(crate::models::RegisteredModel, crate::assets::Asset)> = model_asset_pools::table
        .inner_join(models::table)
        .inner_join(assets::table)
        .filter(model_asset_pools::enabled.eq(true))
        .filter(assets::active.eq(true))
        .filter(models::status.eq(kronos_types::registry::ModelStatus::Production.as_str()))
        .filter(models::family.eq(kronos_types::registry::ModelFamily::Kronos.as_str()))
        .order((models::id.asc(), assets::id.asc()))
        .select((crate::models::RegisteredModel::as_select(), crate::assets::Asset::as_select()))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|(model, asset)| ScheduledMember { model, asset }).collect())
}
