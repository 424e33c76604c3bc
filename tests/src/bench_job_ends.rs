//! How long a job's end takes to reach the API's live job status (a benchmark, not a
//! test): in a migrated database of its own, jobs are inserted, watched, claimed and
//! ended one at a time; two watchers read them side by side, one woken by the
//! database's job-end notification (as the API runs) and one reading every
//! [`POLL_EVERY`] only (as before), and the time from the commit that ends a job to each
//! watcher showing it is reported (`kronos-bench job-ends`).

use std::{sync::Arc, time::Instant};

use anyhow::Context;
use kronos_api::live::{JobWatch, POLL_EVERY};
use kronos_db::jobs::{self, Job, NewJob};
use kronos_types::jobs::{JobKind, JobStatus};
use tokio::sync::watch;
use uuid::Uuid;

/// Runs `jobs` jobs through both watchers and prints their latency percentiles.
pub async fn run(database_url: &str, count: usize) -> anyhow::Result<()> {
    kronos_db::migrate(database_url).await.context("migrating the benchmark database")?;
    let pool = kronos_db::pool(database_url, 4)?;
    let notified = JobWatch::start_with(pool.clone(), Some(database_url.to_owned()), POLL_EVERY);
    let polled = JobWatch::start_with(pool.clone(), None, POLL_EVERY);
    let mut conn = pool.get().await?;
    let (mut woken, mut read) = (Vec::new(), Vec::new());
    for i in 0..count {
        let new = NewJob::new(JobKind::Cleanup, serde_json::json!({}), 1);
        let id: Uuid = new.id;
        jobs::insert_many(&mut conn, std::slice::from_ref(&new)).await?;
        let job = jobs::watch::find_many(&mut conn, &[id]).await?.pop().context("the job just inserted")?;
        let (a, b) = (notified.job(job.clone()), polled.job(job));
        // end jobs at every phase of the periodic read
        tokio::time::sleep(POLL_EVERY + POLL_EVERY * (i as u32 % 8) / 8).await;
        let claimed = jobs::claim(&mut conn, id, "bench", "cpu").await?.context("claimed")?;
        jobs::mark_succeeded(&mut conn, id, claimed.attempts).await?;
        let ended = Instant::now();
        let (x, y) = tokio::join!(shown(a, ended), shown(b, ended));
        woken.push(x?);
        read.push(y?);
    }
    for (label, mut ms) in [("notified (the API now)", woken), ("periodic read only (before)", read)] {
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        println!(
            "{label}: {} jobs, job end to watcher p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
            ms.len(),
            at(0.5),
            at(0.9),
            at(1.0)
        );
    }
    Ok(())
}

/// Milliseconds from `ended` until the watcher shows the job succeeded.
async fn shown(mut seen: watch::Receiver<Arc<Job>>, ended: Instant) -> anyhow::Result<f64> {
    loop {
        if seen.borrow_and_update().status == JobStatus::Succeeded {
            return Ok(ended.elapsed().as_secs_f64() * 1000.0);
        }
        seen.changed().await.context("the watcher stopped")?;
    }
}
