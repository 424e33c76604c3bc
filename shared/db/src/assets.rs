//! Queries on `assets`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{asset_group_members, asset_groups, assets};
use kronos_types::catalogue::AssetSpec;

use crate::error::{Error, Result};

/// A row of `assets`.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Serialize)]
#[diesel(table_name = assets, check_for_backend(diesel::pg::Pg))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Asset {
    /// Id.
    pub id: i64,
    /// Ticker symbol (unique), e.g. `AAPL`, `BTCUSDT`.
    pub symbol: String,
    /// Display name.
    pub name: String,
    /// `stock`, `crypto`, `fx` or `index`.
    pub class: String,
    /// Exchange, where known.
    pub exchange: Option<String>,
    /// Inactive assets keep their history but get no new data.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Category, e.g. `layer1`, `defi`, `technology`.
    pub category: Option<String>,
    /// Binance spot symbol.
    pub binance_symbol: Option<String>,
    /// OKX instrument id.
    pub okx_symbol: Option<String>,
    /// CoinGecko coin id.
    pub coingecko_id: Option<String>,
    /// Market-capitalisation rank.
    pub market_cap_rank: Option<i32>,
    /// Last catalogue change.
    pub updated_at: DateTime<Utc>,
}

impl Asset {
    /// When the asset trades (its bar times: forecasts, verification, gaps).
    pub fn calendar(&self) -> kronos_types::Calendar {
        kronos_types::Calendar::for_asset(&self.class, self.exchange.as_deref(), self.category.as_deref())
    }
}

/// Filters of [`list_filtered`]; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    /// Asset class.
    pub class: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Active or inactive only.
    pub active: Option<bool>,
    /// Members of this group (by slug).
    pub group: Option<String>,
}

/// Finds an asset by symbol (case-insensitive: symbols are stored upper-case).
pub async fn find_by_symbol(conn: &mut AsyncPgConnection, symbol: &str) -> Result<Option<Asset>> {
    Ok(assets::table
        .filter(assets::symbol.eq(symbol.to_ascii_uppercase()))
        .select(Asset::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Finds an asset by id.
pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<Asset>> {
    Ok(assets::table.find(id).select(Asset::as_select()).first(conn).await.optional()?)
}

/// Returns the id of `symbol`, creating the asset when it does not exist.
pub async fn ensure(conn: &mut AsyncPgConnection, symbol: &str, class: &str) -> Result<i64> {
    let symbol = symbol.to_ascii_uppercase();
    diesel::insert_into(assets::table)
        .values((assets::symbol.eq(&symbol), assets::name.eq(&symbol), assets::class.eq(class)))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(assets::table.filter(assets::symbol.eq(&symbol)).select(assets::id).first(conn).await?)
}

/// Every asset, by symbol.
pub async fn list(conn: &mut AsyncPgConnection) -> Result<Vec<Asset>> {
    Ok(assets::table.select(Asset::as_select()).order(assets::symbol).load(conn).await?)
}

/// Assets matching `filter`, by symbol (group members in group order).
pub async fn list_filtered(conn: &mut AsyncPgConnection, filter: &AssetFilter) -> Result<Vec<Asset>> {
    let mut query = assets::table.select(Asset::as_select()).into_boxed();
    if let Some(class) = &filter.class {
        query = query.filter(assets::class.eq(class.clone()));
    }
    if let Some(category) = &filter.category {
        query = query.filter(assets::category.eq(category.clone()));
    }
    if let Some(active) = filter.active {
        query = query.filter(assets::active.eq(active));
    }
    let Some(slug) = &filter.group else {
        return Ok(query.order(assets::symbol).load(conn).await?);
    };
    let members: Vec<(i64, i32)> = asset_group_members::table
        .inner_join(asset_groups::table)
        .filter(asset_groups::slug.eq(slug))
        .select((asset_group_members::asset_id, asset_group_members::position))
        .load(conn)
        .await?;
    let position: std::collections::HashMap<i64, i32> = members.iter().copied().collect();
    let ids: Vec<i64> = members.into_iter().map(|(id, _)| id).collect();
    let mut rows = query.filter(assets::id.eq_any(ids)).load(conn).await?;
    rows.sort_by_key(|a| position.get(&a.id).copied().unwrap_or(i32::MAX));
    Ok(rows)
}

/// Creates the asset of `spec` or updates its catalogue fields. Fields left out of the
/// spec keep their stored values; history is never touched.
pub async fn upsert(conn: &mut AsyncPgConnection, spec: &AssetSpec) -> Result<Asset> {
    use diesel::sql_types::{Integer, Nullable, Text};
    Ok(diesel::sql_query(
        "INSERT INTO assets (symbol, name, class, exchange, category, binance_symbol, okx_symbol, coingecko_id,
                             market_cap_rank)
         VALUES ($1, coalesce($2, $1), $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (symbol) DO UPDATE SET
            name = coalesce($2, assets.name), class = $3, exchange = coalesce($4, assets.exchange),
            category = coalesce($5, assets.category), binance_symbol = coalesce($6, assets.binance_symbol),
            okx_symbol = coalesce($7, assets.okx_symbol), coingecko_id = coalesce($8, assets.coingecko_id),
            market_cap_rank = coalesce($9, assets.market_cap_rank), updated_at = now()
         RETURNING id, symbol, name, class, exchange, active, created_at, category, binance_symbol, okx_symbol,
                   coingecko_id, market_cap_rank, updated_at",
    )
    .bind::<Text, _>(&spec.symbol)
    .bind::<Nullable<Text>, _>(&spec.name)
    .bind::<Text, _>(&spec.class)
    .bind::<Nullable<Text>, _>(&spec.exchange)
    .bind::<Nullable<Text>, _>(&spec.category)
    .bind::<Nullable<Text>, _>(&spec.binance_symbol)
    .bind::<Nullable<Text>, _>(&spec.okx_symbol)
    .bind::<Nullable<Text>, _>(&spec.coingecko_id)
    .bind::<Nullable<Integer>, _>(spec.market_cap_rank)
    .get_result(conn)
    .await?)
}

/// Activates or deactivates `symbol`. Inactive assets keep all their candles and
/// predictions; they are only left out of refreshes and new pools. `None`: no such asset.
pub async fn set_active(conn: &mut AsyncPgConnection, symbol: &str, active: bool) -> Result<Option<Asset>> {
    Ok(diesel::update(assets::table.filter(assets::symbol.eq(symbol.to_ascii_uppercase())))
        .set((assets::active.eq(active), assets::updated_at.eq(diesel::dsl::now)))
        .returning(Asset::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// `(id, active)` of each of `symbols` (any case), in the same order. Unknown symbols
/// are one 422 naming `field` and listing them all.
pub async fn resolve_symbols(
    conn: &mut AsyncPgConnection,
    symbols: &[String],
    field: &str,
) -> Result<Vec<(i64, bool)>> {
    let upper: Vec<String> = symbols.iter().map(|s| s.to_ascii_uppercase()).collect();
    let found: Vec<(String, i64, bool)> = assets::table
        .filter(assets::symbol.eq_any(&upper))
        .select((assets::symbol, assets::id, assets::active))
        .load(conn)
        .await?;
    let found: std::collections::HashMap<String, (i64, bool)> =
        found.into_iter().map(|(symbol, id, active)| (symbol, (id, active))).collect();
    let missing: Vec<&str> = upper.iter().filter(|s| !found.contains_key(*s)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(crate::error::Error::invalid(field, format!("unknown symbols: {}", missing.join(", "))));
    }
    Ok(upper.iter().filter_map(|s| found.get(s).copied()).collect())
}

/// What deleting an asset removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AssetDeleted {
    /// Candles deleted with it.
    pub candles: usize,
    /// Quarantined rows of its symbol deleted with it.
    pub quarantined: usize,
}

/// Deletes an asset created by mistake, with its group memberships and model-pool
/// entries. An asset with candles is deleted only with `with_candles` (they go too);
/// one that forecasts or verified results refer to is never deleted (deactivate it:
/// its history stays readable). `Ok(None)` when there is no such asset.
pub async fn delete(conn: &mut AsyncPgConnection, symbol: &str, with_candles: bool) -> Result<Option<AssetDeleted>> {
    use super::schema::{
        candle_quarantine, candles, evaluation_results, model_asset_pools, prediction_results, predictions,
    };
    let symbol = symbol.to_ascii_uppercase();
    conn.transaction::<_, Error, _>(async |conn| {
        let id: Option<i64> =
            assets::table.filter(assets::symbol.eq(&symbol)).select(assets::id).for_update().first(conn).await.optional()?;
        let Some(id) = id else { return Ok(None) };
        let forecasts: i64 = predictions::table.filter(predictions::asset_id.eq(id)).count().get_result(conn).await?;
        let verified: i64 = prediction_results::table
            .filter(prediction_results::asset_id.eq(id))
            .count()
            .get_result::<i64>(conn)
            .await?
            + evaluation_results::table.filter(evaluation_results::asset_id.eq(id)).count().get_result::<i64>(conn).await?;
        if forecasts + verified > 0 {
            return Err(Error::InUse(format!(
                "{symbol} has {forecasts} forecasts and {verified} verified results; deactivate it instead (PATCH with {{\"active\": false}}) to keep their history"
            )));
        }
        let stored: i64 = candles::table.filter(candles::asset_id.eq(id)).count().get_result(conn).await?;
        if stored > 0 && !with_candles {
            return Err(Error::InUse(format!(
                "{symbol} has {stored} stored candles; delete them with it (with_candles=true) or deactivate it"
            )));
        }
        let removed = diesel::delete(candles::table.filter(candles::asset_id.eq(id))).execute(conn).await?;
        let quarantined = if with_candles {
            diesel::delete(candle_quarantine::table.filter(candle_quarantine::symbol.eq(&symbol))).execute(conn).await?
        } else {
            0
        };
        diesel::delete(asset_group_members::table.filter(asset_group_members::asset_id.eq(id))).execute(conn).await?;
        diesel::delete(model_asset_pools::table.filter(model_asset_pools::asset_id.eq(id))).execute(conn).await?;
        diesel::delete(assets::table.find(id)).execute(conn).await?;
        Ok(Some(AssetDeleted { candles: removed, quarantined }))
    })
    .await
}
