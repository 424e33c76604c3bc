//! Reads behind live job status (the API's server-sent events): many jobs by id in one
//! query, and the recent jobs of some owners that changed since a time.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::Job;
use crate::{error::Result, schema::jobs};

/// The jobs among `ids` that exist.
pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> Result<Vec<Job>> {
    Ok(jobs::table.filter(jobs::id.eq_any(ids)).select(Job::as_select()).load(conn).await?)
}

/// Jobs of `owners` created at or after `created_from` and changed after
/// `changed_after`, oldest change first (the owner index serves it: ids are time-ordered).
pub async fn changed_of_owners(
    conn: &mut AsyncPgConnection,
    owners: &[i64],
    created_from: DateTime<Utc>,
    changed_after: DateTime<Utc>,
) -> Result<Vec<Job>> {
    Ok(jobs::table
        .filter(jobs::owner_id.eq_any(owners))
        .filter(jobs::id.ge(first_id_at(created_from)))
        .filter(jobs::updated_at.gt(changed_after))
        .order(jobs::updated_at.asc())
        .select(Job::as_select())
        .load(conn)
        .await?)
}

/// The smallest UUIDv7 made at `at` (or later): job ids compare by creation time.
pub fn first_id_at(at: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    bytes[8] = 0x80;
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_id_of_a_time_sorts_between_ids_made_around_it() {
        let before = Uuid::now_v7();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let at = Utc::now();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let after = Uuid::now_v7();
        let first = first_id_at(at);
        assert!(before < first && first < after, "{before} {first} {after}");
        assert_eq!(first.get_version_num(), 7);
    }
}
