//! Live job status behind the server-sent event streams.
//!
//! One task per API process reads PostgreSQL (the system of record) every
//! [`POLL_EVERY`] while anyone watches, whatever the number of streams: the watched
//! jobs by id in one query, and the recent jobs of the watched owners that changed
//! since the last read in another. When jobs end, the database notifies
//! (`kronos_db::notifications::JOB_ENDS_CHANNEL`) and the task reads at once (at most
//! once per [`MIN_READ_GAP`]), so a person sees a finished forecast without waiting for
//! the next periodic read. A stream sees each job's latest state: a change that is
//! overtaken within one read (a job queued and finished in 100 ms) is seen as its
//! outcome.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
    time::Duration,
};

use chrono::{DateTime, Utc};
use kronos_db::{
    jobs::{watch as reads, Job},
    DbPool,
};
use tokio::sync::{broadcast, watch, Notify};
use uuid::Uuid;

/// How often watched jobs are read (progress, starts) when no job ends.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// Shortest time between two reads (bursts of job ends share one read).
pub const MIN_READ_GAP: Duration = Duration::from_millis(10);

/// An owner's feed shows the jobs created within this long.
pub const FEED_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// How far back each owner read looks again (a change committed late by a long
/// transaction carries its start time): what was already sent is not sent twice.
const LATE_COMMIT: Duration = Duration::from_secs(5);

/// Changes buffered per owner stream before it is told it missed some.
const FEED_BUFFER: usize = 256;

/// The watcher of one API process; cheap to clone.
#[derive(Clone)]
pub struct JobWatch {
    inner: Arc<Inner>,
}

struct Inner {
    pool: DbPool,
    jobs: Mutex<HashMap<Uuid, watch::Sender<Arc<Job>>>>,
    owners: Mutex<Owners>,
    wake: Notify,
    /// Told when jobs end (the database's notification).
    ended: Arc<Notify>,
    poll_every: Duration,
    /// The notification listener, stopped with the watcher.
    listener: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(listener) = lock(&self.listener).take() {
            listener.abort();
        }
    }
}

#[derive(Default)]
struct Owners {
    feeds: HashMap<i64, broadcast::Sender<Arc<Job>>>,
    /// What each feed last got of a job: (status, progress, updated_at).
    sent: HashMap<Uuid, (kronos_types::jobs::JobStatus, u32, DateTime<Utc>)>,
    /// The last read's start: the next one looks from [`LATE_COMMIT`] before it.
    read_at: Option<DateTime<Utc>>,
}

impl JobWatch {
    /// A watcher reading with `pool` every [`POLL_EVERY`] and when the database at
    /// `database_url` says jobs ended, with its polling and listening tasks (which end
    /// when the last clone is dropped).
    pub fn start(pool: DbPool, database_url: String) -> Self {
        Self::start_with(pool, Some(database_url), POLL_EVERY)
    }

    /// [`JobWatch::start`] reading every `poll_every`, and without a listener when
    /// `database_url` is `None`.
    pub fn start_with(pool: DbPool, database_url: Option<String>, poll_every: Duration) -> Self {
        let inner = Arc::new(Inner {
            pool,
            jobs: Mutex::default(),
            owners: Mutex::default(),
            wake: Notify::new(),
            ended: Arc::new(Notify::new()),
            poll_every,
            listener: Mutex::default(),
        });
        if let Some(url) = database_url {
            let ended = Arc::clone(&inner.ended);
            let channel = kronos_db::notifications::JOB_ENDS_CHANNEL;
            let task = tokio::spawn(kronos_db::notifications::listen(url, channel, move || ended.notify_one()));
            *lock(&inner.listener) = Some(task.abort_handle());
        }
        tokio::spawn(poll(Arc::downgrade(&inner)));
        Self { inner }
    }

    /// Changes of `job` (its state as read now first).
    pub fn job(&self, job: Job) -> watch::Receiver<Arc<Job>> {
        let receiver = {
            let mut jobs = lock(&self.inner.jobs);
            match jobs.get(&job.id) {
                Some(sender) if !sender.is_closed() => sender.subscribe(),
                _ => {
                    let id = job.id;
                    let (sender, receiver) = watch::channel(Arc::new(job));
                    jobs.insert(id, sender);
                    receiver
                }
            }
        };
        self.inner.wake.notify_one();
        receiver
    }

    /// Changes of the jobs of `owner` created within [`FEED_WINDOW`].
    pub fn owner(&self, owner: i64) -> broadcast::Receiver<Arc<Job>> {
        let receiver = lock(&self.inner.owners)
            .feeds
            .entry(owner)
            .or_insert_with(|| broadcast::channel(FEED_BUFFER).0)
            .subscribe();
        self.inner.wake.notify_one();
        receiver
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // plain maps of channels: usable whatever panicked while holding them
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn poll(watcher: Weak<Inner>) {
    loop {
        let Some(inner) = watcher.upgrade() else { return };
        if inner.idle() {
            // sleep until someone watches (a wake-up between the check and the wait is
            // kept by Notify); look again now and then, in case the process ends
            let _ = tokio::time::timeout(Duration::from_millis(500), inner.wake.notified()).await;
            continue;
        }
        let read_at = tokio::time::Instant::now();
        if let Err(e) = inner.read().await {
            tracing::warn!(error = %e, "live job status: read failed; retrying");
        }
        let (ended, poll_every) = (Arc::clone(&inner.ended), inner.poll_every);
        drop(inner);
        // the next read: when jobs end (not sooner than MIN_READ_GAP after this one) or
        // after poll_every; a notification during the read is kept by Notify
        let _ = tokio::time::timeout_at(read_at + poll_every, ended.notified()).await;
        tokio::time::sleep_until(read_at + MIN_READ_GAP).await;
    }
}

impl Inner {
    /// Forgets what nobody watches any more; `true` when nothing is watched.
    fn idle(&self) -> bool {
        let mut jobs = lock(&self.jobs);
        jobs.retain(|_, sender| !sender.is_closed());
        let mut owners = lock(&self.owners);
        owners.feeds.retain(|_, sender| sender.receiver_count() > 0);
        if owners.feeds.is_empty() {
            owners.sent.clear();
            owners.read_at = None;
        }
        jobs.is_empty() && owners.feeds.is_empty()
    }

    async fn read(&self) -> anyhow::Result<()> {
        let ids: Vec<Uuid> = lock(&self.jobs).keys().copied().collect();
        let (owners, since) = {
            let o = lock(&self.owners);
            (o.feeds.keys().copied().collect::<Vec<_>>(), o.read_at)
        };
        if ids.is_empty() && owners.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.get().await?;
        if !ids.is_empty() {
            let found = reads::find_many(&mut conn, &ids).await?;
            let jobs = lock(&self.jobs);
            for job in found {
                if let Some(sender) = jobs.get(&job.id) {
                    sender.send_if_modified(|seen| {
                        let changed = differs(seen, &job);
                        if changed {
                            *seen = Arc::new(job);
                        }
                        changed
                    });
                }
            }
        }
        if !owners.is_empty() {
            let now = Utc::now();
            let window = chrono::Duration::from_std(FEED_WINDOW)?;
            let late = chrono::Duration::from_std(LATE_COMMIT)?;
            let changed_after = since.map_or(now - late, |t| t - late);
            let changed = reads::changed_of_owners(&mut conn, &owners, now - window, changed_after).await?;
            let mut o = lock(&self.owners);
            for job in changed {
                let state = (job.status, job.progress.to_bits(), job.updated_at);
                if o.sent.get(&job.id) == Some(&state) {
                    continue;
                }
                o.sent.insert(job.id, state);
                if let Some(feed) = job.owner_id.and_then(|owner| o.feeds.get(&owner)) {
                    let _ = feed.send(Arc::new(job));
                }
            }
            // what can no longer come back in a read is forgotten
            let horizon = changed_after - late;
            o.sent.retain(|_, (_, _, updated_at)| *updated_at >= horizon);
            o.read_at = Some(now);
        }
        Ok(())
    }
}

/// Whether `job` is news to a stream that last saw `seen`.
fn differs(seen: &Job, job: &Job) -> bool {
    seen.status != job.status
        || seen.progress.to_bits() != job.progress.to_bits()
        || seen.updated_at != job.updated_at
        || seen.cancel_requested != job.cancel_requested
}
