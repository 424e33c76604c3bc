//! `kronos assets …`, `kronos groups …`, `kronos pools …`: the asset catalogue, its
//! groups and the per-model asset pools.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use kronos_config::Config;
use kronos_db::{asset_groups, assets, assets::AssetFilter, catalogue, model_pools, models};
use kronos_types::{catalogue::AssetSpec, catalogue::Catalogue, catalogue::GroupSpec};

/// `kronos assets …`.
#[derive(Debug, Subcommand)]
pub enum AssetsCommand {
    /// Load the seed catalogue (or a catalogue JSON file); idempotent.
    Seed {
        /// A catalogue file (`{"assets": [...], "groups": [...]}`) instead of the seed.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// List assets.
    List {
        /// stock, crypto, fx or index.
        #[arg(long)]
        class: Option<String>,
        /// Members of this group, in group order.
        #[arg(long)]
        group: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create an asset or update its catalogue fields.
    Add(AddArgs),
    /// Make an asset active again.
    Activate {
        /// Symbol.
        symbol: String,
    },
    /// Deactivate an asset: it keeps its history but gets no refreshes or new pools.
    Deactivate {
        /// Symbol.
        symbol: String,
    },
    /// Delete an asset created by mistake (with its group memberships and pool
    /// entries). Refused while forecasts refer to it (deactivate it instead).
    Delete {
        /// Symbol.
        symbol: String,
        /// Delete its stored candles (and quarantined rows) too.
        #[arg(long)]
        with_candles: bool,
    },
}

/// Arguments of `kronos assets add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Symbol, e.g. BTCUSDT.
    #[arg(long)]
    symbol: String,
    /// stock, crypto, fx or index.
    #[arg(long)]
    class: String,
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Exchange or venue.
    #[arg(long)]
    exchange: Option<String>,
    /// Category, e.g. layer1.
    #[arg(long)]
    category: Option<String>,
    /// Binance spot symbol.
    #[arg(long)]
    binance: Option<String>,
    /// OKX instrument id (BASE-QUOTE).
    #[arg(long)]
    okx: Option<String>,
    /// CoinGecko coin id.
    #[arg(long)]
    coingecko: Option<String>,
    /// Market-cap rank.
    #[arg(long)]
    rank: Option<i32>,
}

/// `kronos groups …`.
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List groups.
    List,
    /// Show a group's members in order.
    Show {
        /// Group slug.
        slug: String,
    },
    /// Create or replace a group with exactly these members, in order.
    Set {
        /// Group slug.
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// Members, comma-separated, in order.
        #[arg(long, value_delimiter = ',')]
        members: Vec<String>,
    },
    /// Append symbols to a group.
    Add {
        /// Group slug.
        slug: String,
        /// Symbols.
        #[arg(required = true)]
        symbols: Vec<String>,
    },
    /// Delete a group (its assets stay).
    Delete {
        /// Group slug.
        slug: String,
    },
}

/// `kronos pools …`.
#[derive(Debug, Subcommand)]
pub enum PoolsCommand {
    /// Show a model's asset pool.
    Show {
        /// Registered model name.
        model: String,
    },
    /// Add symbols or a whole group to a model's pool.
    Add {
        /// Registered model name.
        model: String,
        /// A group's active members.
        #[arg(long, conflicts_with = "symbols")]
        group: Option<String>,
        /// Symbols, comma-separated.
        #[arg(long, value_delimiter = ',')]
        symbols: Vec<String>,
        /// Relative weight.
        #[arg(long, default_value_t = 1.0)]
        weight: f64,
    },
    /// Enable, disable or re-weight one asset of a pool.
    Set {
        /// Registered model name.
        model: String,
        /// Symbol.
        symbol: String,
        /// true or false.
        #[arg(long)]
        enabled: Option<bool>,
        /// Relative weight.
        #[arg(long)]
        weight: Option<f64>,
    },
    /// Remove one asset from a pool.
    Remove {
        /// Registered model name.
        model: String,
        /// Symbol.
        symbol: String,
    },
}

async fn connect(config: &Config) -> anyhow::Result<kronos_db::DbConn> {
    let pool = kronos_db::pool(&config.database_url, 1)?;
    pool.get().await.context("connecting to PostgreSQL")
}

/// Runs an assets command.
pub async fn run_assets(config: &Config, command: AssetsCommand) -> anyhow::Result<()> {
    let mut conn = connect(config).await?;
    match command {
        AssetsCommand::Seed { file } => {
            let catalogue = match file {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                    Catalogue::parse(&text).with_context(|| path.display().to_string())?
                }
                None => Catalogue::seed()?,
            };
            let applied = catalogue::apply(&mut conn, &catalogue).await?;
            println!("catalogue loaded: {} assets, {} groups", applied.assets, applied.groups);
        }
        AssetsCommand::List { class, group, json } => {
            let filter = AssetFilter { class, group, ..AssetFilter::default() };
            let rows = assets::list_filtered(&mut conn, &filter).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for a in rows {
                    let state = if a.active { "" } else { "  (inactive)" };
                    let category = a.category.as_deref().unwrap_or("-");
                    println!("{:<12} {:<7} {:<18} {}{state}", a.symbol, a.class, category, a.name);
                }
            }
        }
        AssetsCommand::Add(args) => {
            let mut spec = AssetSpec {
                symbol: args.symbol,
                name: args.name,
                class: args.class,
                exchange: args.exchange,
                category: args.category,
                binance_symbol: args.binance,
                okx_symbol: args.okx,
                coingecko_id: args.coingecko,
                market_cap_rank: args.rank,
            };
            spec.validate()?;
            let asset = assets::upsert(&mut conn, &spec).await?;
            println!("{} stored (id {})", asset.symbol, asset.id);
        }
        AssetsCommand::Activate { symbol } => set_active(&mut conn, &symbol, true).await?,
        AssetsCommand::Deactivate { symbol } => set_active(&mut conn, &symbol, false).await?,
        AssetsCommand::Delete { symbol, with_candles } => match assets::delete(&mut conn, &symbol, with_candles).await?
        {
            Some(d) => println!(
                "deleted {} ({} candles, {} quarantined rows)",
                symbol.to_ascii_uppercase(),
                d.candles,
                d.quarantined
            ),
            None => bail!("unknown symbol {symbol:?}"),
        },
    }
    Ok(())
}

async fn set_active(conn: &mut kronos_db::DbConn, symbol: &str, active: bool) -> anyhow::Result<()> {
    match assets::set_active(conn, symbol, active).await? {
        Some(a) => println!("{} is now {}", a.symbol, if a.active { "active" } else { "inactive" }),
        None => bail!("unknown symbol {symbol:?}"),
    }
    Ok(())
}

/// Runs a groups command.
pub async fn run_groups(config: &Config, command: GroupsCommand) -> anyhow::Result<()> {
    let mut conn = connect(config).await?;
    match command {
        GroupsCommand::List => {
            for g in asset_groups::list(&mut conn).await? {
                println!("{:<12} {:>3} members  {}", g.slug, g.members, g.name);
            }
        }
        GroupsCommand::Show { slug } => {
            let Some((group, members)) = asset_groups::find(&mut conn, &slug).await? else {
                bail!("unknown asset group {slug:?}");
            };
            println!("{} ({}): {}", group.name, group.slug, group.description);
            for m in members {
                println!("{:>3}. {:<12} {}", m.position, m.symbol, m.name);
            }
        }
        GroupsCommand::Set { slug, name, description, members } => {
            let mut spec = GroupSpec { slug, name, description, members };
            spec.validate()?;
            asset_groups::upsert(&mut conn, &spec).await?;
            println!("group {} stored with {} members", spec.slug, spec.members.len());
        }
        GroupsCommand::Add { slug, symbols } => {
            asset_groups::append(&mut conn, &slug, &symbols).await?;
            println!("group {slug} updated");
        }
        GroupsCommand::Delete { slug } => {
            if !asset_groups::delete(&mut conn, &slug).await? {
                bail!("unknown asset group {slug:?}");
            }
            println!("deleted group {slug}");
        }
    }
    Ok(())
}

/// Runs a pools command.
pub async fn run_pools(config: &Config, command: PoolsCommand) -> anyhow::Result<()> {
    let mut conn = connect(config).await?;
    let name = match &command {
        PoolsCommand::Show { model } | PoolsCommand::Add { model, .. } => model,
        PoolsCommand::Set { model, .. } | PoolsCommand::Remove { model, .. } => model,
    };
    let Some(model) = models::find_by_name(&mut conn, name).await? else {
        bail!("no registered model {name:?} (see kronos models list)");
    };
    match command {
        PoolsCommand::Show { .. } => {}
        PoolsCommand::Add { group: Some(group), weight, .. } => {
            let n = model_pools::add_group(&mut conn, model.id, &group, weight).await?;
            println!("{n} assets added");
        }
        PoolsCommand::Add { symbols, weight, .. } => {
            if symbols.is_empty() {
                bail!("give --group SLUG or --symbols A,B,…");
            }
            let n = model_pools::add_symbols(&mut conn, model.id, &symbols, weight).await?;
            println!("{n} assets added");
        }
        PoolsCommand::Set { symbol, enabled, weight, .. } => {
            if enabled.is_none() && weight.is_none() {
                bail!("give --enabled and/or --weight");
            }
            if !model_pools::update(&mut conn, model.id, &symbol, enabled, weight).await? {
                bail!("{symbol} is not in {}'s pool", model.name);
            }
        }
        PoolsCommand::Remove { symbol, .. } => {
            if !model_pools::remove(&mut conn, model.id, &symbol).await? {
                bail!("{symbol} is not in {}'s pool", model.name);
            }
        }
    }
    for e in model_pools::list(&mut conn, model.id).await? {
        let state = if e.enabled { "enabled" } else { "disabled" };
        println!("{:<12} {:<7} weight {:<6} {state}", e.symbol, e.class, e.weight);
    }
    Ok(())
}
