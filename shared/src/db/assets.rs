//! Queries on `assets`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::assets;
use crate::error::Result;

/// A row of `assets`.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = assets, check_for_backend(diesel::pg::Pg))]
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
