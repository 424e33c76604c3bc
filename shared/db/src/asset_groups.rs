//! Queries on `asset_groups` and `asset_group_members`: named, ordered sets of assets
//! (Top10, DeFi, Layer1, …).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{asset_group_members, asset_groups, assets};
use kronos_types::catalogue::GroupSpec;

use crate::error::{Error, Result};

/// A group with its member count.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupSummary {
    /// Id.
    pub id: i64,
    /// URL name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// What it holds.
    pub description: String,
    /// Members.
    pub members: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// One member of a group, in order.
#[derive(Debug, Clone, Serialize, Queryable)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// 1-based position.
    pub position: i32,
    /// Symbol.
    pub symbol: String,
    /// Display name.
    pub name: String,
    /// Asset class.
    pub class: String,
    /// Whether the asset is active.
    pub active: bool,
}

type GroupRow = (i64, String, String, String, DateTime<Utc>);

/// The columns of a [`GroupRow`].
const GROUP_COLUMNS: (
    asset_groups::id,
    asset_groups::slug,
    asset_groups::name,
    asset_groups::description,
    asset_groups::created_at,
) = (asset_groups::id, asset_groups::slug, asset_groups::name, asset_groups::description, asset_groups::created_at);

/// Every group by slug, with member counts.
pub async fn list(conn: &mut AsyncPgConnection) -> Result<Vec<GroupSummary>> {
    let groups: Vec<GroupRow> = asset_groups::table.select(GROUP_COLUMNS).order(asset_groups::slug).load(conn).await?;
    let counts: Vec<(i64, i64)> = asset_group_members::table
        .group_by(asset_group_members::group_id)
        .select((asset_group_members::group_id, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    let counts: std::collections::HashMap<i64, i64> = counts.into_iter().collect();
    Ok(groups
        .into_iter()
        .map(|(id, slug, name, description, created_at)| GroupSummary {
            members: counts.get(&id).copied().unwrap_or(0),
            id,
            slug,
            name,
            description,
            created_at,
        })
        .collect())
}

/// The group `slug` and its members in order; `None` when there is no such group.
pub async fn find(conn: &mut AsyncPgConnection, slug: &str) -> Result<Option<(GroupSummary, Vec<Member>)>> {
    let group: Option<GroupRow> =
        asset_groups::table.filter(asset_groups::slug.eq(slug)).select(GROUP_COLUMNS).first(conn).await.optional()?;
    let Some((id, slug, name, description, created_at)) = group else {
        return Ok(None);
    };
    let members: Vec<Member> = asset_group_members::table
        .inner_join(assets::table)
        .filter(asset_group_members::group_id.eq(id))
        .order(asset_group_members::position)
        .select((asset_group_members::position, assets::symbol, assets::name, assets::class, assets::active))
        .load(conn)
        .await?;
    let summary = GroupSummary { id, slug, name, description, members: members.len() as i64, created_at };
    Ok(Some((summary, members)))
}

/// Creates the group of `spec` or updates its name and description, then makes its
/// member list exactly `spec.members` in that order, all in one transaction. Every
/// member must be a catalogued asset (a 422 naming `members` otherwise).
pub async fn upsert(conn: &mut AsyncPgConnection, spec: &GroupSpec) -> Result<i64> {
    let spec = spec.clone();
    conn.transaction::<i64, Error, _>(async move |conn| {
        let id: i64 = diesel::insert_into(asset_groups::table)
            .values((
                asset_groups::slug.eq(&spec.slug),
                asset_groups::name.eq(&spec.name),
                asset_groups::description.eq(&spec.description),
            ))
            .on_conflict(asset_groups::slug)
            .do_update()
            .set((asset_groups::name.eq(&spec.name), asset_groups::description.eq(&spec.description)))
            .returning(asset_groups::id)
            .get_result(conn)
            .await?;
        let ids = asset_ids(conn, &spec.members, "members").await?;
        diesel::delete(asset_group_members::table.filter(asset_group_members::group_id.eq(id))).execute(conn).await?;
        let rows: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, asset)| {
                (
                    asset_group_members::group_id.eq(id),
                    asset_group_members::asset_id.eq(*asset),
                    asset_group_members::position.eq(i as i32 + 1),
                )
            })
            .collect();
        diesel::insert_into(asset_group_members::table).values(rows).execute(conn).await?;
        Ok(id)
    })
    .await
}

/// Appends `symbols` (those not already members) to the end of group `slug`; unknown
/// symbols are a 422 naming `symbols`.
pub async fn append(conn: &mut AsyncPgConnection, slug: &str, symbols: &[String]) -> Result<()> {
    let (slug, symbols) = (slug.to_owned(), symbols.to_vec());
    conn.transaction::<(), Error, _>(async move |conn| {
        let id: i64 = asset_groups::table
            .filter(asset_groups::slug.eq(&slug))
            .select(asset_groups::id)
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("asset group {slug:?}")))?;
        let ids = asset_ids(conn, &symbols, "symbols").await?;
        let last: Option<i32> = asset_group_members::table
            .filter(asset_group_members::group_id.eq(id))
            .select(diesel::dsl::max(asset_group_members::position))
            .first(conn)
            .await?;
        let existing: Vec<i64> = asset_group_members::table
            .filter(asset_group_members::group_id.eq(id))
            .select(asset_group_members::asset_id)
            .load(conn)
            .await?;
        let mut next = last.unwrap_or(0);
        for asset in ids.into_iter().filter(|a| !existing.contains(a)) {
            next += 1;
            diesel::insert_into(asset_group_members::table)
                .values((
                    asset_group_members::group_id.eq(id),
                    asset_group_members::asset_id.eq(asset),
                    asset_group_members::position.eq(next),
                ))
                .execute(conn)
                .await?;
        }
        Ok(())
    })
    .await
}

/// Ids of `symbols` in order (unknown ones: a 422 naming `field`).
async fn asset_ids(conn: &mut AsyncPgConnection, symbols: &[String], field: &str) -> Result<Vec<i64>> {
    Ok(super::assets::resolve_symbols(conn, symbols, field).await?.into_iter().map(|(id, _)| id).collect())
}

/// Deletes group `slug` (its member list goes with it; the assets stay). Returns
/// whether there was such a group.
pub async fn delete(conn: &mut AsyncPgConnection, slug: &str) -> Result<bool> {
    Ok(diesel::delete(asset_groups::table.filter(asset_groups::slug.eq(slug))).execute(conn).await? == 1)
}
