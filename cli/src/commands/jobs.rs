//! `kronos jobs list|show|cancel`.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use kronos_config::Config;
use kronos_db::jobs;
use kronos_types::{jobs::JobKind, jobs::JobStatus, rfc3339};
use uuid::Uuid;

/// Job subcommands.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Newest jobs first.
    List {
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only this status.
        #[arg(long)]
        status: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// One job, as JSON.
    Show {
        /// Job id.
        id: String,
    },
    /// Cancel a queued or running job.
    Cancel {
        /// Job id.
        id: String,
    },
}

/// Runs a jobs subcommand.
pub async fn run(config: &Config, cmd: JobsCommand) -> anyhow::Result<()> {
    let pool = kronos_db::pool(&config.database_url, 1)?;
    let mut conn = pool.get().await?;
    match cmd {
        JobsCommand::List { kind, status, limit } => {
            if !(1..=1000).contains(&limit) {
                bail!("--limit must be between 1 and 1000");
            }
            let filter = jobs::ListFilter {
                kind: kind.map(|k| k.parse::<JobKind>()).transpose()?,
                status: status.map(|s| s.parse::<JobStatus>()).transpose()?,
                ..Default::default()
            };
            println!("{:<36}  {:<12}  {:<9}  {:>3}  {:<25}  error", "id", "kind", "status", "try", "created");
            for j in jobs::list(&mut conn, &filter, limit).await? {
                println!(
                    "{:<36}  {:<12}  {:<9}  {:>3}  {:<25}  {}",
                    j.id,
                    j.kind,
                    j.status,
                    j.attempts,
                    rfc3339(j.created_at),
                    j.error.unwrap_or_default()
                );
            }
        }
        JobsCommand::Show { id } => {
            let id = parse_id(&id)?;
            let job = jobs::find(&mut conn, id).await?.ok_or_else(|| anyhow!("job {id} not found"))?;
            println!("{}", serde_json::to_string_pretty(&job)?);
        }
        JobsCommand::Cancel { id } => {
            let id = parse_id(&id)?;
            match jobs::request_cancel(&mut conn, id).await? {
                Some(job) => println!("job {id}: {} (cancel requested)", job.status),
                None => match jobs::find(&mut conn, id).await? {
                    Some(job) => bail!("job {id} is already {}", job.status),
                    None => bail!("job {id} not found"),
                },
            }
        }
    }
    Ok(())
}

fn parse_id(raw: &str) -> anyhow::Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| anyhow!("{raw:?} is not a job id (UUID)"))
}
