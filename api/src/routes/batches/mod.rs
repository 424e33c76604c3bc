//! `/v1/batches`: bulk prediction batches of the caller (another user's is a 404).

pub mod cancel;
pub mod create;
pub mod list;
pub mod results;
pub mod show;

use diesel_async::AsyncPgConnection;
use kronos_db::batches::{self, Batch};
use uuid::Uuid;

use crate::{
    auth::Principal,
    error::{ApiError, ApiResult},
};

/// Parses a batch id from the path.
pub(crate) fn parse_id(raw: &str) -> ApiResult<Uuid> {
    raw.parse().map_err(|_| ApiError::invalid("id", format!("{raw:?} is not a batch id (a UUID)")))
}

/// The caller's batch `id`; any other is a 404.
pub(crate) async fn owned(conn: &mut AsyncPgConnection, id: Uuid, caller: &Principal) -> ApiResult<Batch> {
    batches::find_owned(conn, id, caller.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("batch {id} not found")))
}
