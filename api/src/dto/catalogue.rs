//! The asset catalogue, asset groups and model pools as clients see them.

use kronos_db::{
    asset_groups::{GroupSummary, Member},
    assets::Asset,
    model_pools::PoolEntry,
};
use serde::Serialize;
use utoipa::ToSchema;

/// `GET /v1/assets`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetList {
    /// Assets by symbol, or a group's members in group order.
    pub assets: Vec<Asset>,
}

/// What `DELETE /v1/assets/{symbol}` removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetDeleted {
    /// The symbol deleted.
    pub deleted: String,
    /// Candles deleted with it.
    pub candles: usize,
    /// Quarantined rows of its symbol deleted with it.
    pub quarantined: usize,
}

/// `GET /v1/asset-groups`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    /// Every group, by slug.
    pub groups: Vec<GroupSummary>,
}

/// One group with its members, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDetail {
    /// The group.
    pub group: GroupSummary,
    /// Its members.
    pub members: Vec<Member>,
}

/// What `DELETE /v1/asset-groups/{slug}` removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDeleted {
    /// The slug deleted.
    pub deleted: String,
}

/// A model's asset pool.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelPool {
    /// The model's name.
    pub model: String,
    /// Its registry id.
    pub model_id: i64,
    /// The pool.
    pub assets: Vec<PoolEntry>,
    /// Assets added by this request (`POST` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added: Option<usize>,
}
