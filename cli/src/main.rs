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
    /// Fill a series' history from the exchanges.
    Backfill(commands::backfill::BackfillArgs),
    /// Export stored candles or resample them to a coarser interval.
    #[command(subcommand)]
    Candles(commands::candles::CandlesCommand),
    /// Data-quality report of a stored series.
    Quality(commands::quality::QualityArgs),
    /// Forecast a CSV with Kronos weights from local directories.
    Forecast(commands::forecast::ForecastArgs),
    /// The asset catalogue: seed, list, add, activate, deactivate.
    #[command(subcommand)]
    Assets(commands::assets::AssetsCommand),
    /// Asset groups: list, show, set, add.
    #[command(subcommand)]
    Groups(commands::assets::GroupsCommand),
    /// Per-model asset pools: show, add, set, remove.
    #[command(subcommand)]
    Pools(commands::assets::PoolsCommand),
    /// The model registry: import, init, list.
    #[command(subcommand)]
    Models(commands::models::ModelsCommand),
    /// Train Kronos or a baseline regressor on stored candles and register the version.
    Train(commands::train::TrainArgs),
    /// Backtest a strategy on a candle file or stored candles.
    Backtest(commands::backtest::BacktestArgs),
    /// Accounts: create, list, set-role, set-tier, disable, enable.
    #[command(subcommand)]
    Users(commands::users::UsersCommand),
    /// API keys of an account: create, list, revoke.
    #[command(subcommand)]
    ApiKeys(commands::users::ApiKeysCommand),
}

/// Commands that need the platform's configuration (database, object store).
async fn run_with_config(command: Command) -> anyhow::Result<()> {
    let config = kronos_config::Config::from_env()?;
    match command {
        Command::Migrate => commands::migrate::run(&config).await,
        Command::Import(args) => commands::import::run(&config, args).await,
        Command::Jobs(cmd) => commands::jobs::run(&config, cmd).await,
        Command::Models(cmd) => commands::models::run(&config, cmd).await,
        Command::Assets(cmd) => commands::assets::run_assets(&config, cmd).await,
        Command::Groups(cmd) => commands::assets::run_groups(&config, cmd).await,
        Command::Pools(cmd) => commands::assets::run_pools(&config, cmd).await,
        Command::Candles(cmd) => commands::candles::run(&config, cmd).await,
        Command::Quality(args) => commands::quality::run(&config, args).await,
        Command::Backfill(args) => commands::backfill::run(&config, args).await,
        Command::Forecast(args) => commands::forecast::run(args),
        Command::Train(args) => commands::train::run(&config, args).await,
        Command::Backtest(args) => commands::backtest::run(args).await,
        Command::Users(cmd) => commands::users::run_users(&config, cmd).await,
        Command::ApiKeys(cmd) => commands::users::run_api_keys(&config, cmd).await,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // needs no database or object store
        Command::Forecast(args) => tokio::task::block_in_place(|| commands::forecast::run(args)),
        // a file needs no configuration; --symbol reads it itself
        Command::Backtest(args) => commands::backtest::run(args).await,
        command => run_with_config(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
