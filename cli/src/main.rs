//! `kronos`: the platform's command line (run it through `ops/kronos`, which sets the
//! libtorch environment).

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Kronos platform command line.
#[derive(Debug, Parser)]
#[command(name = "kronos", version, about = "Kronos forecasting platform")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending database migrations.
    Migrate,
    /// Import candles from a CSV or Parquet file (gzip allowed).
    Import(commands::import::ImportArgs),
    /// Inspect and cancel jobs.
    #[command(subcommand)]
    Jobs(commands::jobs::JobsCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match kronos_shared::Config::from_env() {
        Err(e) => Err(e.into()),
        Ok(config) => match cli.command {
            Command::Migrate => commands::migrate::run(&config).await,
            Command::Import(args) => commands::import::run(&config, args).await,
            Command::Jobs(cmd) => commands::jobs::run(&config, cmd).await,
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
