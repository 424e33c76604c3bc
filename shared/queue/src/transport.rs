//! The Redis transport (apalis-redis queues), one queue per job kind.
//!
//! Only job ids travel through Redis. Pushes go in bounded chunks, each with an
//! apalis task id derived from (job id, dispatch count) so that a re-dispatch is a
//! new task and the reconciler can ask Redis whether a given dispatch still exists.

use std::time::Duration;

use apalis::prelude::{PollWith, TaskBuilder, TaskId};
use apalis_redis::{Config as ApalisConfig, ConnectionManager, RedisStorage};
use redis::aio::ConnectionManagerConfig;
use ulid::Ulid;
use uuid::Uuid;

use kronos_db::jobs::Dispatch;
use kronos_types::jobs::{JobKind, JobRef};

use crate::{
    error::{Error, Result},
    polling::RearmingInterval,
};

/// Tasks per push script call (each call is one Lua script run in Redis).
const PUSH_CHUNK: usize = 500;

/// A handle on the Redis transport; cheap to clone.
#[derive(Clone)]
pub struct QueueTransport {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for QueueTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueTransport").field("prefix", &self.prefix).finish()
    }
}

impl QueueTransport {
    /// Connects with a response timeout long enough to ride out load spikes (the
    /// redis-rs default of 500 ms turns a stall into a fatal worker error).
    pub async fn connect(redis_url: &str, prefix: &str) -> Result<Self> {
        let client = redis::Client::open(redis_url)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_secs(10)))
            .set_connection_timeout(Some(Duration::from_secs(5)));
        let conn = client.get_connection_manager_with_config(config).await?;
        Ok(Self { conn, prefix: prefix.to_owned() })
    }

    /// The underlying connection manager.
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The apalis queue name of a kind.
    pub fn queue_name(&self, kind: JobKind) -> String {
        format!("{}:{}", self.prefix, kind.as_str())
    }

    /// The apalis-redis configuration of a kind's queue.
    ///
    /// `persist_results(true)` is what makes apalis acknowledge a task: without it the
    /// worker never reports completions, so every task stays in its in-flight set and
    /// the data hash for good (and a dead worker's whole history would look orphaned).
    /// Acknowledged tasks land in the done set, which [`QueueTransport::vacuum`] empties.
    pub fn apalis_config(&self, kind: JobKind) -> ApalisConfig {
        ApalisConfig::default().queue(self.queue_name(kind)).emit_events(false).persist_results(true)
    }

    /// The apalis backend a worker takes `kind`'s tasks from: `batch_size` ids fetched at
    /// once, a heartbeat every `heartbeat` (a worker silent for `orphaned_after` is taken
    /// for dead and its tasks go back to the queue), and a fetch every `poll` while idle.
    pub fn worker_backend(
        &self,
        kind: JobKind,
        batch_size: usize,
        heartbeat: Duration,
        orphaned_after: Duration,
        poll: Duration,
    ) -> PollWith<RedisStorage<JobRef>, RearmingInterval> {
        let heartbeat = heartbeat.max(Duration::from_millis(1));
        let missed = (orphaned_after.as_millis() / heartbeat.as_millis()).max(1) as usize;
        let config = self
            .apalis_config(kind)
            .batch_size(batch_size.max(1))
            .heartbeat_interval(heartbeat)
            .missed_heartbeats(missed);
        PollWith::new(RedisStorage::new(self.conn.clone()).with_config(config), RearmingInterval::new(poll))
    }

    /// The apalis task id of dispatch number `dispatch_count` of a job.
    pub fn task_id(job_id: Uuid, dispatch_count: i32) -> Ulid {
        Ulid(job_id.as_u128() ^ u128::from(dispatch_count as u32))
    }

    /// Pushes dispatched jobs into the kind's queue, in chunks.
    pub async fn push(&self, kind: JobKind, jobs: &[Dispatch]) -> Result<()> {
        let config = self.apalis_config(kind);
        let mut conn = self.conn.clone();
        for chunk in jobs.chunks(PUSH_CHUNK) {
            let mut tasks = Vec::with_capacity(chunk.len());
            for job in chunk {
                let body = serde_json::to_vec(&JobRef { id: job.id })?;
                let id = Self::task_id(job.id, job.dispatch_count).to_string();
                tasks.push(TaskBuilder::new(body).task_id(TaskId::from_string(id)).build());
            }
            apalis_redis::queries::push_tasks(&mut conn, &config, &tasks)
                .await
                .map_err(|e| Error::Queue(e.to_string()))?;
        }
        Ok(())
    }

    /// Which of these dispatches are no longer known to Redis (flushed, restarted, evicted).
    pub async fn missing(&self, kind: JobKind, jobs: &[Dispatch]) -> Result<Vec<Uuid>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let data = self.apalis_config(kind).job_data_hash();
        let mut pipe = redis::pipe();
        for job in jobs {
            pipe.hexists(&data, Self::task_id(job.id, job.dispatch_count).to_string());
        }
        let mut conn = self.conn.clone();
        let exists: Vec<bool> = pipe.query_async(&mut conn).await?;
        Ok(jobs.iter().zip(exists).filter(|(_, e)| !e).map(|(j, _)| j.id).collect())
    }

    /// Deletes the Redis data of finished tasks (apalis keeps it forever otherwise).
    /// Returns how many tasks were removed.
    pub async fn vacuum(&self, kind: JobKind, max: usize) -> Result<usize> {
        let config = self.apalis_config(kind);
        let mut conn = self.conn.clone();
        let mut removed = 0;
        for set in [config.done_jobs_set(), config.dead_jobs_set()] {
            let ids: Vec<String> = redis::cmd("SPOP").arg(&set).arg(max).query_async(&mut conn).await?;
            if ids.is_empty() {
                continue;
            }
            let mut pipe = redis::pipe();
            pipe.hdel(config.job_data_hash(), &ids).ignore();
            let meta = config.job_meta_hash();
            let meta_keys: Vec<String> = ids.iter().map(|id| format!("{meta}:{id}")).collect();
            pipe.del(&meta_keys).ignore();
            let _: () = pipe.query_async(&mut conn).await?;
            removed += ids.len();
        }
        Ok(removed)
    }

    /// Tasks waiting in a kind's queue (active list plus scheduled set).
    pub async fn depth(&self, kind: JobKind) -> Result<i64> {
        let config = self.apalis_config(kind);
        let mut conn = self.conn.clone();
        let (active, scheduled): (i64, i64) = redis::pipe()
            .llen(config.active_jobs_list())
            .zcard(config.scheduled_jobs_set())
            .query_async(&mut conn)
            .await?;
        Ok(active + scheduled)
    }

    /// Round-trips a PING.
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_differ_per_dispatch_and_round_trip_through_strings() {
        let id = Uuid::now_v7();
        let a = QueueTransport::task_id(id, 1);
        let b = QueueTransport::task_id(id, 2);
        assert_ne!(a, b);
        assert_eq!(a.to_string().parse::<Ulid>().unwrap(), a);
    }
}
