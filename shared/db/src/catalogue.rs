//! Loading a whole catalogue (the seed or a file) into `assets` and the group tables.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::{asset_groups, assets};
use kronos_types::catalogue::Catalogue;

use crate::error::{Error, Result};

/// What [`apply`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Assets created or updated.
    pub assets: usize,
    /// Groups created or updated.
    pub groups: usize,
}

/// Upserts every asset, then every group with exactly its listed members, in one
/// transaction: a bad entry leaves the stored catalogue as it was. Idempotent.
pub async fn apply(conn: &mut AsyncPgConnection, catalogue: &Catalogue) -> Result<Applied> {
    let catalogue = catalogue.clone();
    conn.transaction::<Applied, Error, _>(async move |conn| {
        for spec in &catalogue.assets {
            assets::upsert(conn, spec).await?;
        }
        for group in &catalogue.groups {
            asset_groups::upsert(conn, group).await?;
        }
        Ok(Applied { assets: catalogue.assets.len(), groups: catalogue.groups.len() })
    })
    .await
}
