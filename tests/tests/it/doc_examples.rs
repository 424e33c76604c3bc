//! Every `bash` example of the README and of `docs/api.md`, `docs/batches.md` and
//! `docs/CLI.md` (and every `python` example: with `python3`, `$TOKEN` and `$KRONOS_URL`) runs
//! against a platform set up as `ops/up` sets it up (the seed catalogue, the demo data,
//! `kronos-mini`, a worker): each block must exit 0, and every `curl` in it must get a
//! 2xx (`--fail-with-body`), so the documentation cannot drift from the code.
//! `text` blocks (synopses, setup commands) are not run.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use kronos_config::StorageConfig;
use kronos_tests::{
    demo,
    http::TestApi,
    process::{bin_dir, command_with_env_file, Proc},
    TestEnv,
};

/// The `bash` and `python` blocks of a Markdown file, with the line each starts on and
/// whether it is Python.
fn code_blocks(path: &Path) -> Vec<(usize, String, bool)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String, bool)> = None;
    for (n, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim() == "```bash" => current = Some((n + 2, String::new(), false)),
            None if line.trim() == "```python" => current = Some((n + 2, String::new(), true)),
            Some(_) if line.trim() == "```" => blocks.extend(current.take()),
            Some((_, body, _)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// `curl` that fails on any non-2xx answer (`--fail-with-body`), except where the
/// example polls with `-f` itself (the two cannot be combined).
const CURL: &str = r#"curl() {
  local a
  for a in "$@"; do
    case "$a" in -f|-sf|-fs|-sfL|--fail) command curl --show-error --max-time 120 "$@"; return; esac
  done
  command curl --fail-with-body --show-error --max-time 120 "$@"
}"#;

/// The env file `ops/up` would write for this test's resources.
fn env_file(env: &TestEnv, port: u16) -> PathBuf {
    let c = &env.config;
    let StorageConfig::Local { root } = &c.storage else { unreachable!("doc examples run on local storage") };
    let text = format!(
        "DATABASE_URL={}\nREDIS_URL={}\nKRONOS_QUEUE_PREFIX={}\nKRONOS_STORAGE=local\nKRONOS_STORAGE_PATH={}\nKRONOS_MODEL_CACHE={}\nKRONOS_API_ADDR=127.0.0.1:{port}\nKRONOS_POLL_INTERVAL_MS=20\n",
        c.database_url,
        c.redis_url,
        c.queue.prefix,
        root.display(),
        c.model_cache.display(),
    );
    let path = env.scratch.join("kronos.env");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the CLI as `ops/kronos` would, configured by the env file.
fn kronos(file: &Path, cwd: &Path, args: &[&str]) {
    let out = command_with_env_file("kronos", file, cwd, args).output().unwrap();
    assert!(out.status.success(), "kronos {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_example_runs() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, true).await;
    let port: u16 = api.base.rsplit(':').next().unwrap().parse().unwrap();
    let file = env_file(&env, port);
    let work = env.scratch.join("work");
    std::fs::create_dir_all(work.join("ops")).unwrap();
    // as ops/up: the seed catalogue, the demo data, kronos-mini
    let demo = demo::file("stocks.csv.gz").parent().unwrap().to_path_buf();
    let d = |name: &str| demo.join(name).display().to_string();
    kronos(&file, &work, &["assets", "seed"]);
    for args in [
        vec!["import", "--file", &d("stocks.csv.gz"), "--interval", "1d", "--class", "stock"],
        vec!["import", "--file", &d("STOCKS_GOOGL.csv"), "--symbol", "GOOGL", "--interval", "1d", "--class", "stock"],
        vec!["import", "--file", &d("sp500.csv.gz"), "--symbol", "SPX", "--interval", "1d", "--class", "index"],
        vec!["import", "--file", &d("nasdaq.csv.gz"), "--symbol", "IXIC", "--interval", "1d", "--class", "index"],
        vec!["import", "--file", &d("EURUSD.csv"), "--symbol", "EURUSD", "--interval", "1h", "--class", "fx"],
    ] {
        kronos(&file, &work, &args);
    }
    kronos(&file, &work, &["models", "init", "--preset", "mini", "--seed", "7", "--name", "kronos-mini"]);
    // trainings are submitted by the examples, not run: they would take minutes
    let _worker = Proc::start("kronos-worker", &env, &["--devices", "cpu", "--training-concurrency", "0"], &[]);
    // `ops/kronos` is the CLI with the platform's configuration; KRONOS_CACHE holds the demo files
    let wrapper = format!(
        "#!/bin/sh\nKRONOS_ENV_FILE='{}' exec '{}' \"$@\"\n",
        file.display(),
        bin_dir().join("kronos").display()
    );
    std::fs::write(work.join("ops/kronos"), wrapper).unwrap();
    Command::new("chmod").args(["+x", "ops/kronos"]).current_dir(&work).status().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::copy(root.join("ops/mail-link"), work.join("ops/mail-link")).unwrap();
    let cache = env.scratch.join("cache");
    std::fs::create_dir_all(cache.join("demo")).unwrap();
    std::os::unix::fs::symlink(&demo, cache.join("demo/files")).unwrap();

    let maildir = std::env::var("KRONOS_TEST_MAILDIR").expect("KRONOS_TEST_MAILDIR: run through ops/test");
    let mut ran = 0;
    for doc in ["README.md", "docs/api.md", "docs/batches.md", "docs/CLI.md"] {
        for (line, block, python) in code_blocks(&root.join(doc)) {
            let script = if python {
                block.clone()
            } else {
                format!("set -euo pipefail\n{CURL}\n{}", block.replace("localhost:8080", &format!("127.0.0.1:{port}")))
            };
            let base = format!("http://127.0.0.1:{port}");
            let out = tokio::task::spawn_blocking({
                let (work, cache, file) = (work.clone(), cache.clone(), file.clone());
                let (token, maildir) = (api.admin.key.clone(), maildir.clone());
                move || {
                    let mut cmd = Command::new("timeout");
                    if python {
                        cmd.args(["180", "python3", "-c", &script]).current_dir(&work);
                    } else {
                        cmd.args(["180", "bash", "-c", &script]).current_dir(&work);
                    }
                    // configured as ops/up configures a shell: the env file, not the test's settings
                    for (key, _) in std::env::vars() {
                        if key.starts_with("KRONOS_") || key == "DATABASE_URL" || key == "REDIS_URL" {
                            cmd.env_remove(key);
                        }
                    }
                    // the reader's key ($TOKEN: the admin's, as the README suggests) and the
                    // maildir ops/mail-link reads (the SMTP capture server of ops/test)
                    cmd.env("KRONOS_CACHE", &cache)
                        .env("KRONOS_ENV_FILE", &file)
                        .env("TOKEN", &token)
                        .env("KRONOS_URL", &base)
                        .env("KRONOS_MAILDIR", &maildir)
                        .output()
                        .unwrap()
                }
            })
            .await
            .unwrap();
            assert!(
                out.status.success(),
                "{doc}:{line}: the example failed ({}):\n{block}\nstdout:\n{}\nstderr:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran >= 15, "only {ran} examples found");
}
