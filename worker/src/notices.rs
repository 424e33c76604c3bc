//! What workers tell users: alert rules evaluated after a refresh stored an asset's
//! candles and after a forecast of it (`kronos_notify::alerts`), and that a job of
//! theirs finished or failed (`kronos_notify::jobs`, when they asked). A failure here is
//! logged and never fails the job that triggered it: the data is stored either way.

use chrono::Utc;
use kronos_config::Config;
use kronos_db::jobs::Claimed;
use kronos_notify::{
    alerts::{self, ForecastFacts, Watched},
    Links,
};
use kronos_types::{accounts::EmailKind, jobs::JobStatus, Interval};
use tracing::warn;

use crate::pool::PoolContext;

/// Where emails link to and the key their unsubscribe links are signed with: the
/// accounts settings (no access-token key: nothing optional is sent).
#[derive(Debug, Clone)]
pub struct Notices(kronos_config::AuthConfig);

impl Notices {
    /// From the configuration.
    pub fn from_config(config: &Config) -> Self {
        Self(config.auth.clone())
    }

    fn links(&self) -> Option<Links<'_>> {
        Links::from_auth(&self.0)
    }
}

/// Evaluates the price alerts of `asset` after its `interval` candles were refreshed.
pub async fn after_refresh(ctx: &PoolContext, asset: Watched<'_>, interval: Interval) {
    let Some(links) = ctx.notices.links() else { return };
    let outcome = match ctx.pool.get().await {
        Ok(mut conn) => {
            alerts::after_refresh(&mut conn, asset, interval, links, Utc::now()).await.map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    if let Err(error) = outcome {
        warn!(symbol = asset.symbol, %interval, %error, "price alerts not evaluated");
    }
}

/// Tells the owner of `job` that it succeeded (`error` `None`) or failed for good, if
/// they asked for that kind; the platform's own jobs and kinds nobody submits cost
/// nothing.
pub async fn job_ended(ctx: &PoolContext, job: &Claimed, error: Option<&str>) {
    let (Some(owner), Some(_)) = (job.owner_id, EmailKind::of_job(job.kind)) else { return };
    let Some(links) = ctx.notices.links() else { return };
    let outcome = match ctx.pool.get().await {
        Ok(mut conn) => kronos_notify::jobs::job_ended(&mut conn, job.id, job.kind, owner, error, links)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(error) = outcome {
        warn!(job = %job.id, %error, "job notification not sent");
    }
}

/// Evaluates the forecast alerts of `asset` after one of its forecasts.
pub async fn after_forecast(ctx: &PoolContext, asset: Watched<'_>, forecast: &ForecastFacts) {
    let Some(links) = ctx.notices.links() else { return };
    let outcome = match ctx.pool.get().await {
        Ok(mut conn) => {
            alerts::after_forecast(&mut conn, asset, forecast, links, Utc::now()).await.map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    if let Err(error) = outcome {
        warn!(symbol = asset.symbol, job = %forecast.job_id, %error, "forecast alerts not evaluated");
    }
}

/// Queues the completion callback of a job submitted with a `callback_url` (once per
/// job). A failure is logged; the job's outcome stands.
pub async fn queue_job_callback(ctx: &PoolContext, job: &Claimed, status: JobStatus, error: Option<&str>) {
    let (Some(owner), Some(url)) = (job.owner_id, &job.callback_url) else { return };
    let callback = kronos_db::callbacks::NewCallback {
        id: uuid::Uuid::now_v7(),
        owner_id: owner,
        batch_id: None,
        job_id: Some(job.id),
        url: url.clone(),
        event: kronos_types::batches::CallbackEvent::JobFinished.as_str().to_owned(),
        body: crate::callback_bodies::job(job.id, job.kind, status, error),
        api_key_id: job.api_key_id,
    };
    let outcome = match ctx.pool.get().await {
        Ok(mut conn) => kronos_db::callbacks::insert(&mut conn, &callback).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(error) = outcome {
        warn!(job = %job.id, %error, "job callback not queued");
    }
}
