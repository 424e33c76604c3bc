//! Repository ids and revisions as the Hub accepts them, and their URL forms.

use std::fmt;

use crate::error::{Error, Result};

/// A Hub repository id: `name` or `namespace/name`, each part of letters, digits,
/// `-`, `_` and `.`, neither starting nor ending with `-` or `.`, without `--` or
/// `..`, the name at most 96 characters (the Hub's own rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoId(String);

impl RepoId {
    /// Checks a repository id.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |message: String| Error::Invalid { field: "repo", message };
        let parts: Vec<&str> = text.split('/').collect();
        if parts.len() > 2 {
            return Err(invalid(format!("{text:?} is not `name` or `namespace/name`")));
        }
        for part in &parts {
            let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
            if part.is_empty() || part.len() > 96 || !part.chars().all(allowed) {
                return Err(invalid(format!("{text:?}: each part needs 1 to 96 letters, digits, '-', '_' or '.'")));
            }
            let edge = |c: Option<char>| matches!(c, Some('-' | '.'));
            if edge(part.chars().next()) || edge(part.chars().last()) || part.contains("--") || part.contains("..") {
                return Err(invalid(format!(
                    "{text:?}: a part may not start or end with '-' or '.', nor hold '--' or '..'"
                )));
            }
        }
        if text.ends_with(".git") {
            return Err(invalid(format!("{text:?} may not end with .git")));
        }
        Ok(Self(text.to_owned()))
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name part (after the namespace).
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// A folder name for local copies: `models--namespace--name`, as the Hub's own
    /// cache names them.
    pub fn folder_name(&self) -> String {
        format!("models--{}", self.0.replace('/', "--"))
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a revision (branch, tag or commit): printable, no spaces, no `..`.
pub(crate) fn check_revision(revision: &str) -> Result<()> {
    let ok = !revision.is_empty()
        && revision.len() <= 255
        && revision.chars().all(|c| c.is_ascii_graphic())
        && !revision.contains("..");
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid { field: "revision", message: format!("{revision:?} is not a branch, tag or commit name") })
    }
}

/// Percent-encodes a URL path segment; `keep_slash` leaves `/` as is (file paths).
pub(crate) fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let plain =
            byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') || (keep_slash && byte == b'/');
        if plain {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_hubs_rules() {
        for good in ["NeoQuasar/Kronos-small", "gpt2", "a/b.c_d-e", "Org/Model.v2"] {
            assert_eq!(RepoId::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "a/b/c", "/x", "a/", "a/-x", "a/x-", "a/x--y", "a/x..y", "a/x y", "a/x.git", "a/é", "../x"] {
            let err = RepoId::parse(bad).unwrap_err();
            assert!(matches!(err, Error::Invalid { field: "repo", .. }), "{bad:?} accepted");
        }
        let id = RepoId::parse("NeoQuasar/Kronos-small").unwrap();
        assert_eq!(id.name(), "Kronos-small");
        assert_eq!(id.folder_name(), "models--NeoQuasar--Kronos-small");
    }

    #[test]
    fn revisions_and_paths_are_encoded_as_the_hub_expects() {
        assert_eq!(encode("refs/pr/1", false), "refs%2Fpr%2F1");
        assert_eq!(encode("main", false), "main");
        assert_eq!(encode("sub dir/model.safetensors", true), "sub%20dir/model.safetensors");
        assert!(check_revision("main").is_ok());
        assert!(check_revision("refs/pr/1").is_ok());
        for bad in ["", "a b", "x..y", "tab\t"] {
            assert!(check_revision(bad).is_err(), "{bad:?}");
        }
    }
}
