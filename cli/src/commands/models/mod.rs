//! `kronos models import|pull|init|list|promote|delete`: the model registry.

mod pull;

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use kronos_config::Config;
use kronos_db::models;
use kronos_models::kronos::{KronosModel, Preset};
use kronos_storage::{model_files, model_files::ModelDirs, Storage, StoragePrefix};
use kronos_types::{accounts::AuditAction, registry::ModelSource, rfc3339};

/// `kronos models …`.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Register weights from two Hugging Face directories (tokenizer, predictor).
    Import(ImportArgs),
    /// Download a Kronos model and its tokenizer from the Hugging Face Hub (resumable,
    /// checked against the Hub's checksums) and register them.
    Pull(pull::PullArgs),
    /// Register randomly initialised weights of a published size.
    Init(InitArgs),
    /// List registered models.
    List,
    /// Make a version its lineage's production version (the previous one is archived;
    /// promoting an archived version rolls back). Says so when it does not beat naive.
    /// Audited as done from the command line.
    Promote {
        /// Version name, `lineage@N`.
        name: String,
    },
    /// Delete a version registered by mistake (its pool and weights go too; forecasts
    /// made with it keep its name). Refused while versions were trained from it or
    /// unfinished jobs would run it.
    Delete {
        /// Version name, `lineage@N` or a lineage (its production version).
        name: String,
    },
}

/// Arguments of `kronos models import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Registry name (a-z, 0-9, '.', '_', '-').
    #[arg(long)]
    name: String,
    /// Tokenizer directory (config.json + model.safetensors).
    #[arg(long)]
    tokenizer: PathBuf,
    /// Predictor directory (config.json + model.safetensors).
    #[arg(long)]
    predictor: PathBuf,
    /// Default longest window of predictions (default: the published model's window
    /// when the predictor has a preset's shape — 2048 for mini, 512 for small and base —
    /// else 512).
    #[arg(long)]
    max_context: Option<i32>,
}

/// Arguments of `kronos models init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// mini, small or base.
    #[arg(long)]
    preset: String,
    /// Seed of the random weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Registry name.
    #[arg(long)]
    name: String,
}

/// Runs a registry command.
pub async fn run(config: &Config, command: ModelsCommand) -> anyhow::Result<()> {
    let pool = kronos_db::pool(&config.database_url, 2)?;
    let mut conn = pool.get().await?;
    match command {
        ModelsCommand::List => {
            for m in models::list(&mut conn).await? {
                println!(
                    "{:<24} {:<8} {:>12} params  max_context {:<5} {}",
                    m.name,
                    m.source,
                    m.parameters,
                    m.max_context,
                    rfc3339(m.created_at)
                );
            }
            Ok(())
        }
        ModelsCommand::Promote { name } => {
            let Some(model) = models::resolve(&mut conn, &name).await? else {
                bail!("no registered model {name:?} (kronos models list)");
            };
            let (promoted, archived) = models::promote(&mut conn, model.id).await?;
            let details = serde_json::json!({
                "by": "cli", "route": "kronos models promote", "model": promoted.name,
                "archived": archived.as_ref().map(|a| a.name.clone()),
            });
            super::audit_cli(&mut conn, None, AuditAction::AdminWrite, details).await?;
            let archived = archived.map_or(String::new(), |a| format!("; {} archived", a.name));
            println!("{} is the production version of {}{archived}", promoted.name, promoted.lineage);
            if promoted.beats_naive() == Some(false) {
                println!("warning: {} does not beat the naive baseline on its validation windows", promoted.name);
            }
            Ok(())
        }
        ModelsCommand::Delete { name } => {
            let Some(model) = models::resolve(&mut conn, &name).await? else {
                bail!("no registered model {name:?} (kronos models list)");
            };
            let Some(deleted) = models::delete(&mut conn, model.id).await? else {
                bail!("no registered model {name:?}");
            };
            let storage = Storage::open(&config.storage)?;
            let objects =
                storage.delete_prefix(&StoragePrefix::Model { prefix: deleted.storage_prefix.clone() }).await?;
            println!("deleted model {} (id {}) and its {objects} weight files", deleted.name, deleted.id);
            Ok(())
        }
        ModelsCommand::Import(args) => {
            let preset = imported_preset(&args.predictor);
            let max_context = max_context(args.max_context, preset)?;
            let dirs = ModelDirs { tokenizer: args.tokenizer, predictor: args.predictor };
            let registration =
                Registration { name: &args.name, source: ModelSource::Import, max_context, origin: None };
            register(config, &mut conn, &registration, &dirs).await
        }
        ModelsCommand::Pull(args) => pull::run(config, &mut conn, args).await,
        ModelsCommand::Init(args) => {
            let preset: Preset = args.preset.parse()?;
            models::validate_name(&args.name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            let staging = tempdir()?;
            let dirs = ModelDirs::under(&staging);
            let model = KronosModel::init(preset, args.seed, tch::Device::Cpu)?;
            model.save(&dirs.tokenizer, &dirs.predictor)?;
            let registration = Registration {
                name: &args.name,
                source: ModelSource::Init,
                max_context: preset.max_context() as i32,
                origin: None,
            };
            let result = register(config, &mut conn, &registration, &dirs).await;
            let _ = std::fs::remove_dir_all(&staging);
            result
        }
    }
}

/// The window of an imported predictor: its preset's when it has one's shape (a
/// Kronos-mini registered with 512 would slide its window, and lose the exact cache, 4×
/// earlier than it was trained for), else 512. An unreadable config is reported later,
/// when the weights are checked.
/// The published preset whose shape the predictor in `predictor` has, if any.
fn imported_preset(predictor: &std::path::Path) -> Option<Preset> {
    kronos_models::kronos::config::read_config::<kronos_models::kronos::PredictorConfig>(&predictor.join("config.json"))
        .ok()
        .and_then(|config| Preset::of_predictor(&config))
}

/// A registration's default longest window: `--max-context` when given, else the
/// preset's window, else 512; 1–4096.
fn max_context(given: Option<i32>, preset: Option<Preset>) -> anyhow::Result<i32> {
    let max_context = given.unwrap_or_else(|| preset.map_or(512, |p| p.max_context() as i32));
    if !(1..=4096).contains(&max_context) {
        bail!("--max-context must be between 1 and 4096");
    }
    Ok(max_context)
}

/// What a registration records besides the weights.
struct Registration<'a> {
    /// Registry name.
    name: &'a str,
    /// How the weights came.
    source: ModelSource,
    /// Default longest window.
    max_context: i32,
    /// Where pulled weights came from.
    origin: Option<serde_json::Value>,
}

/// Checks that `name` is free to register.
async fn check_name_free(conn: &mut diesel_async::AsyncPgConnection, name: &str) -> anyhow::Result<()> {
    models::validate_name(name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    if models::find_by_name(conn, name).await?.is_some() {
        bail!("--name: a model named {name:?} already exists");
    }
    Ok(())
}

/// Loads the weights (so a bad file is refused before anything is stored), uploads
/// them under a fresh prefix, then records the registry row.
async fn register(
    config: &Config,
    conn: &mut diesel_async::AsyncPgConnection,
    registration: &Registration<'_>,
    dirs: &ModelDirs,
) -> anyhow::Result<()> {
    let name = registration.name;
    check_name_free(conn, name).await?;
    for (flag, dir) in [("--tokenizer", &dirs.tokenizer), ("--predictor", &dirs.predictor)] {
        if !dir.join("config.json").is_file() || !dir.join("model.safetensors").is_file() {
            bail!("{flag} {}: expected config.json and model.safetensors", dir.display());
        }
    }
    let model =
        KronosModel::load(&dirs.tokenizer, &dirs.predictor, tch::Device::Cpu).context("checking the weights")?;
    for key in &model.unexpected_keys {
        eprintln!("warning: ignored unexpected weight {key}");
    }
    let storage = Storage::open(&config.storage)?;
    let prefix = StoragePrefix::new_model(name).path();
    let sha = model_files::upload(&storage, &prefix, dirs).await?;
    let row = models::insert(
        conn,
        &models::NewModel {
            name: name.to_owned(),
            source: registration.source,
            storage_prefix: prefix,
            tokenizer_config: serde_json::to_value(model.tokenizer.config())?,
            predictor_config: serde_json::to_value(model.predictor.config())?,
            max_context: registration.max_context,
            parameters: model.predictor_parameters(),
            weights_sha256: sha,
            origin: registration.origin.clone(),
        },
    )
    .await?;
    println!(
        "registered model {} (id {}, {} predictor parameters, weights at {}/{})",
        row.name,
        row.id,
        row.parameters,
        storage.describe(),
        row.storage_prefix
    );
    Ok(())
}

fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("kronos-init-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_get_their_presets_window_else_512() {
        let dir = tempdir().unwrap();
        let imported_window = |dir: &std::path::Path| max_context(None, imported_preset(dir)).unwrap();
        assert_eq!(imported_window(&dir), 512, "no config: the default");
        for (preset, window) in [(Preset::Mini, 2048), (Preset::Small, 512)] {
            std::fs::write(dir.join("config.json"), serde_json::to_vec(&preset.predictor()).unwrap()).unwrap();
            assert_eq!(imported_window(&dir), window);
        }
        let other = kronos_models::kronos::PredictorConfig { d_model: 64, n_layers: 2, ..Preset::Mini.predictor() };
        std::fs::write(dir.join("config.json"), serde_json::to_vec(&other).unwrap()).unwrap();
        assert_eq!(imported_window(&dir), 512);
        std::fs::remove_dir_all(&dir).unwrap();
        // a given window wins; out of range is refused, as pull refuses it
        assert_eq!(max_context(Some(96), Some(Preset::Mini)).unwrap(), 96);
        for bad in [0, 4097] {
            let err = max_context(Some(bad), None).unwrap_err().to_string();
            assert!(err.contains("--max-context"), "{err}");
        }
    }
}
