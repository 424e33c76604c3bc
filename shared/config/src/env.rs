//! Where settings come from: the process environment, then the platform's env file,
//! and the typed readers of one variable.

use std::{collections::HashMap, path::PathBuf};

use crate::error::{Error, Result};

/// The platform's state directory (`KRONOS_HOME`, default `~/.cache/kronos`): the env
/// file, local objects and the model cache live under it by default.
pub fn home() -> PathBuf {
    match std::env::var("KRONOS_HOME").ok().filter(|v| !v.trim().is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var("HOME").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(".")).join(".cache/kronos"),
    }
}

/// Where settings come from: the process environment, then the env file
/// (`KRONOS_ENV_FILE`, default `$KRONOS_HOME/kronos.env`; `KRONOS_ENV_FILE=none` reads
/// none, as the tests do). The file holds `NAME=value` lines (`#` comments, optional
/// quotes).
#[derive(Debug, Clone, Default)]
pub struct Env {
    file: HashMap<String, String>,
    path: Option<PathBuf>,
}

impl Env {
    /// The process environment and the env file, if there is one.
    pub fn load() -> Result<Self> {
        let path = match std::env::var("KRONOS_ENV_FILE").ok().filter(|v| !v.trim().is_empty()) {
            Some(p) if p == "none" => return Ok(Self::default()),
            Some(p) => {
                let p = PathBuf::from(p);
                if !p.is_file() {
                    return Err(Error::Config(format!("KRONOS_ENV_FILE={}: no such file", p.display())));
                }
                p
            }
            None => home().join("kronos.env"),
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(Self::default());
        };
        Ok(Self { file: Self::parse(&text, &path)?, path: Some(path) })
    }

    fn parse(text: &str, path: &std::path::Path) -> Result<HashMap<String, String>> {
        let mut vars = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((name, value)) = line.split_once('=') else {
                return Err(Error::Config(format!("{} line {}: expected NAME=value", path.display(), n + 1)));
            };
            let value = value.trim();
            let unquoted = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            vars.insert(name.trim().to_owned(), unquoted.to_owned());
        }
        Ok(vars)
    }

    /// A variable: the process environment's, else the file's; empty counts as unset.
    pub fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().or_else(|| self.file.get(name).cloned()).filter(|v| !v.trim().is_empty())
    }

    /// The env file that was read.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }
}

pub(crate) fn list(env: &Env, name: &str, default: &str) -> Vec<String> {
    env.var(name)
        .unwrap_or_else(|| default.to_owned())
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

pub(crate) fn parse<T: std::str::FromStr>(env: &Env, name: &str, default: T) -> Result<T> {
    match env.var(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| Error::Config(format!("{name}={raw:?} is not valid"))),
    }
}

pub(crate) fn parse_bool(env: &Env, name: &str, default: bool) -> Result<bool> {
    match env.var(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(Error::Config(format!("{name}={other:?} is not a boolean"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_read_names_values_comments_and_quotes() {
        let text = "# written by ops/up\nDATABASE_URL=postgres://x/y\nexport KRONOS_STORAGE_PATH=\"/srv/kronos objects\"\n\nREDIS_URL='redis://r:6379'\n";
        let vars = Env::parse(text, std::path::Path::new("kronos.env")).unwrap();
        assert_eq!(vars["DATABASE_URL"], "postgres://x/y");
        assert_eq!(vars["KRONOS_STORAGE_PATH"], "/srv/kronos objects");
        assert_eq!(vars["REDIS_URL"], "redis://r:6379");
        assert!(Env::parse("not a setting", std::path::Path::new("kronos.env")).is_err());
    }
}
