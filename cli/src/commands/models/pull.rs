//! `kronos models pull <repo>`: a Kronos model and its tokenizer from the Hugging Face
//! Hub, downloaded (resumably, checked against the Hub's checksums) and registered.

use std::{
    io::{IsTerminal as _, Write as _},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context};
use clap::Args;
use kronos_config::Config;
use kronos_hub::{HubClient, RepoId, RepoRevision};
use kronos_models::kronos::Preset;
use kronos_storage::model_files::ModelDirs;
use kronos_types::registry::{HubOrigin, HubSnapshot, ModelSource};

use super::{check_name_free, register, Registration};

/// The files a Kronos repository holds (the Hugging Face layout `models import` reads).
const FILES: [&str; 2] = ["config.json", "model.safetensors"];

/// Arguments of `kronos models pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The predictor's repository, e.g. NeoQuasar/Kronos-small.
    repo: String,
    /// The tokenizer's repository. Default for the official models: Kronos-mini →
    /// NeoQuasar/Kronos-Tokenizer-2k, Kronos-small and -base → NeoQuasar/Kronos-Tokenizer-base.
    #[arg(long)]
    tokenizer: Option<String>,
    /// Branch, tag or commit of the predictor's repository.
    #[arg(long, default_value = "main")]
    revision: String,
    /// Branch, tag or commit of the tokenizer's repository.
    #[arg(long, default_value = "main")]
    tokenizer_revision: String,
    /// Registry name (default: the repository's name in lower case, e.g. kronos-small).
    #[arg(long)]
    name: Option<String>,
    /// Default longest window of predictions (default: the official model's context,
    /// 2048 for Kronos-mini and 512 otherwise).
    #[arg(long)]
    max_context: Option<i32>,
    /// The Hub's address.
    #[arg(long, env = "HF_ENDPOINT", default_value = kronos_hub::DEFAULT_ENDPOINT)]
    endpoint: String,
    /// Access token for private or gated repositories. Prefer HF_TOKEN (a flag shows in
    /// the process list); without either, the token saved by `huggingface-cli login`.
    #[arg(long, env = "HF_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Where downloads wait to be registered; an interrupted one resumes from here
    /// (default: $KRONOS_HOME/hub).
    #[arg(long)]
    download_dir: Option<PathBuf>,
}

/// Pulls and registers.
pub async fn run(config: &Config, conn: &mut diesel_async::AsyncPgConnection, args: PullArgs) -> anyhow::Result<()> {
    let predictor_repo = RepoId::parse(&args.repo)?;
    let preset = Preset::from_hub_repo(predictor_repo.as_str());
    let tokenizer_repo = match (&args.tokenizer, preset) {
        (Some(repo), _) => RepoId::parse(repo).context("--tokenizer")?,
        (None, Some(preset)) => RepoId::parse(preset.hub_repos().1)?,
        (None, None) => bail!(
            "--tokenizer: {predictor_repo} is not one of the official Kronos repositories; name its tokenizer's repository"
        ),
    };
    let max_context = super::max_context(args.max_context, preset)?;
    let name = args.name.clone().unwrap_or_else(|| default_name(&predictor_repo));
    check_name_free(conn, &name).await?;

    let client =
        HubClient::new(&args.endpoint, args.token.clone().filter(|t| !t.trim().is_empty()).or_else(saved_token))?;
    let downloads = args.download_dir.clone().unwrap_or_else(|| kronos_config::home().join("hub"));
    let predictor = client.revision(&predictor_repo, &args.revision).await?;
    let tokenizer = client.revision(&tokenizer_repo, &args.tokenizer_revision).await?;
    let mut dirs = Vec::new();
    for revision in [&tokenizer, &predictor] {
        dirs.push(fetch(&client, revision, &downloads).await?);
    }
    let model_dirs = ModelDirs { tokenizer: dirs[0].clone(), predictor: dirs[1].clone() };
    let origin = HubOrigin {
        endpoint: client.endpoint().to_owned(),
        predictor: HubSnapshot { repo: predictor_repo.to_string(), revision: args.revision, commit: predictor.commit },
        tokenizer: HubSnapshot {
            repo: tokenizer_repo.to_string(),
            revision: args.tokenizer_revision,
            commit: tokenizer.commit,
        },
    };
    let registration = Registration {
        name: &name,
        source: ModelSource::Hub,
        max_context,
        origin: Some(serde_json::to_value(&origin)?),
    };
    register(config, conn, &registration, &model_dirs).await?;
    // the weights are in the object store now; the downloads are no longer needed
    for dir in &dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}

/// Downloads a revision's Kronos files into `<downloads>/models--<ns>--<name>/<commit>/`.
async fn fetch(client: &HubClient, revision: &RepoRevision, downloads: &Path) -> anyhow::Result<PathBuf> {
    let dir = downloads.join(revision.repo.folder_name()).join(&revision.commit);
    for name in FILES {
        let Some(file) = revision.file(name) else {
            bail!(
                "{}@{} has no {name}: not a Kronos model in the Hugging Face layout (config.json + model.safetensors)",
                revision.repo,
                revision.commit
            );
        };
        let label = format!("{}/{}", revision.repo, name);
        // a line rewritten in place on a terminal; nothing mid-way in a log
        let terminal = std::io::stderr().is_terminal();
        let mut shown = 0u64;
        let mut progress = |done: u64, total: Option<u64>| {
            // a line per tenth of a large file, so a long download shows it is moving
            if let Some(total) = total.filter(|t| terminal && *t >= 8 << 20) {
                let tenth = done * 10 / total;
                if tenth > shown {
                    shown = tenth;
                    eprint!("\r{label}: {} of {} MB", done >> 20, total >> 20);
                    let _ = std::io::stderr().flush();
                }
            }
        };
        let got = client.download(revision, file, &dir, &mut progress).await?;
        let how = match (got.fetched, got.resumed_from) {
            (0, _) => "already downloaded".to_owned(),
            (_, Some(offset)) => format!("resumed at byte {offset}"),
            _ => "downloaded".to_owned(),
        };
        let check = if got.checksummed { "checksum verified" } else { "size checked (the Hub listed no checksum)" };
        let start = if terminal { "\r" } else { "" };
        eprintln!("{start}{label}@{}: {} bytes, {how}, {check}", short(&revision.commit), got.bytes);
    }
    Ok(dir)
}

/// `NeoQuasar/Kronos-small` → `kronos-small`: the registry's alphabet, lower case.
fn default_name(repo: &RepoId) -> String {
    let name: String = repo
        .name()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .collect();
    name.trim_start_matches(|c: char| !c.is_ascii_alphanumeric()).chars().take(64).collect()
}

/// The token `huggingface-cli login` saved: `$HF_TOKEN_PATH`, else `$HF_HOME/token`,
/// else `~/.cache/huggingface/token`.
fn saved_token() -> Option<String> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let path = var("HF_TOKEN_PATH")
        .or_else(|| var("HF_HOME").map(|home| home.join("token")))
        .or_else(|| var("HOME").map(|home| home.join(".cache/huggingface/token")))?;
    std::fs::read_to_string(path).ok().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_follow_the_registry_alphabet() {
        let name = |repo: &str| default_name(&RepoId::parse(repo).unwrap());
        assert_eq!(name("NeoQuasar/Kronos-small"), "kronos-small");
        assert_eq!(name("acme/_Kronos.v2"), "kronos.v2");
        assert!(kronos_db::models::validate_name(&name("NeoQuasar/Kronos-mini")).is_ok());
    }
}
