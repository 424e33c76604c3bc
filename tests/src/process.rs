//! Platform binaries run as real processes (built by `cargo build --workspace`).

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
};

use crate::TestEnv;

/// Directory holding the workspace's binaries (next to the test executable's `deps/`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().expect("deps dir");
    if dir.ends_with("deps") {
        dir.parent().expect("profile dir").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// A running platform process; killed (SIGKILL) when dropped.
pub struct Proc {
    /// The child.
    pub child: Child,
    /// Name, for messages.
    pub name: String,
}

impl Proc {
    /// Starts `name` (e.g. `kronos-api`) with `env`'s environment plus `extra`.
    pub fn start(name: &str, env: &TestEnv, args: &[&str], extra: &[(&str, String)]) -> Self {
        let mut cmd = command(name, env, args);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let log = env.scratch.join(format!("{name}-{}.log", uuid::Uuid::new_v4().simple()));
        let file = std::fs::File::create(&log).expect("log file");
        cmd.stdout(file.try_clone().expect("log")).stderr(file);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        Self { child, name: name.to_owned() }
    }

    /// SIGKILL, no cleanup.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }
}

/// Runs `name` (e.g. the `kronos` CLI) to completion in `env`'s environment.
pub fn run_to_end(name: &str, env: &TestEnv, args: &[&str]) -> std::process::Output {
    command(name, env, args).output().unwrap_or_else(|e| panic!("run {name}: {e}"))
}

/// Runs `name` to completion in `env`'s environment plus `extra` variables (an empty
/// value removes the variable).
pub fn run_to_end_with(name: &str, env: &TestEnv, args: &[&str], extra: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = command(name, env, args);
    for (key, value) in extra {
        if value.is_empty() {
            cmd.env_remove(key);
        } else {
            cmd.env(key, value);
        }
    }
    cmd.output().unwrap_or_else(|e| panic!("run {name}: {e}"))
}

/// The workspace binary `name` with `args`, no stdin, and `env`'s environment.
fn command(name: &str, env: &TestEnv, args: &[&str]) -> Command {
    let path = bin_dir().join(name);
    assert!(path.exists(), "{} is not built: run cargo build --workspace first", path.display());
    let mut cmd = Command::new(&path);
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in env.process_env() {
        cmd.env(k, v);
    }
    cmd
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process configured by an env file alone (as `ops/up` configures the platform): the
/// test's own settings (`KRONOS_*`, `DATABASE_URL`, `REDIS_URL`) are removed from its
/// environment, `KRONOS_ENV_FILE` points at `env_file`, and it runs in `cwd`.
pub fn command_with_env_file(name: &str, env_file: &std::path::Path, cwd: &std::path::Path, args: &[&str]) -> Command {
    let path = bin_dir().join(name);
    assert!(path.exists(), "{} is not built: run cargo build --workspace first", path.display());
    let mut cmd = Command::new(&path);
    cmd.args(args).stdin(Stdio::null()).current_dir(cwd);
    for (key, _) in std::env::vars() {
        if key.starts_with("KRONOS_") || key == "DATABASE_URL" || key == "REDIS_URL" {
            cmd.env_remove(key);
        }
    }
    cmd.env("KRONOS_ENV_FILE", env_file).env("RUST_LOG", "warn");
    cmd
}
