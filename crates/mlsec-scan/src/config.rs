//! `mlsec.toml`: what a team allows or denies beyond the built-in lists.
//!
//! The file usually lives in the repository being scanned, so whoever can
//! change the models can change it too. Its `allow` entries therefore only
//! allow globals that the built-in denylist does not deny; letting them
//! override the denylist takes `--trust-config` on the command line. The
//! evidence records the file and every allowance in effect.
//!
//! ```toml
//! [scan]
//! # Globals (module.name) your models legitimately use; exact match, or a
//! # module prefix ending in ".*" (e.g. "mypkg.models.*").
//! allow = ["mypkg.Model"]
//! # Globals to treat as malicious on top of the built-in denylist.
//! deny = ["mypkg.unsafe_loader"]
//! ```

use crate::ScanError;
use mlsec_core::{Fault, Limits};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Settings of one scan.
#[derive(Debug, Clone, Default)]
pub struct ScanConfig {
    pub limits: Limits,
    /// Allowed globals (`module.name` or `module.*`) that override the built-in
    /// denylist: `--allow` on the command line, and the file's entries under
    /// `--trust-config`.
    pub allow: Vec<String>,
    /// Allowed globals from the configuration file: they allow what the
    /// built-in denylist does not deny, and nothing it denies.
    pub allow_unless_denied: Vec<String>,
    /// Extra denied globals (`module.name` or `module.*`).
    pub deny: Vec<String>,
    /// Compute the SHA-256 of every scanned file (reads whole files).
    pub digest: bool,
    /// The configuration file these settings were read from.
    pub source: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    scan: ScanSection,
    // The project's other sections, read by `mlsec check`; named here so a
    // misspelt section is still an error.
    #[serde(default, rename = "project")]
    _project: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "model")]
    _model: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "dataset")]
    _dataset: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "validate")]
    _validate: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "policy")]
    _policy: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ScanSection {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
}

/// The configuration a scan ran with, as its evidence records it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ConfigRecord {
    /// The configuration file, when one was used.
    pub file: Option<String>,
    /// Globals allowed (`module.name` or `module.*`), from the command line
    /// and `--trust-config`.
    pub allow: Vec<String>,
    /// Globals the file allows, except those the built-in denylist denies.
    pub allow_unless_denied: Vec<String>,
    /// Globals denied on top of the built-in denylist.
    pub deny: Vec<String>,
    /// Entries of `allow_unless_denied` that name denylisted globals, so not applied.
    pub not_applied_to_denied_globals: Vec<String>,
}

impl ScanConfig {
    /// The project configuration: `explicit` when given, else `mlsec.toml` in
    /// the current folder when there is one, else the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ScanError> {
        match explicit {
            Some(path) => Self::from_toml_file(path),
            None if Path::new("mlsec.toml").is_file() => {
                Self::from_toml_file(Path::new("mlsec.toml"))
            }
            None => Ok(Self::default()),
        }
    }

    /// Reads the `[scan]` table of an `mlsec.toml`. Errors name the file and the problem.
    pub fn from_toml_file(path: &Path) -> Result<Self, ScanError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScanError::Config {
            path: path.to_path_buf(),
            reason: crate::engine::io_reason(&e),
            fault: Fault::of_io(&e),
        })?;
        let mut config = Self::from_toml_str(&text).map_err(|reason| ScanError::Config {
            path: path.to_path_buf(),
            reason,
            fault: Fault::Input,
        })?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Adds a command-line allowance (`module.name` or `module.*`), which
    /// overrides the built-in denylist.
    pub fn allow_from_command_line(&mut self, entry: &str) -> Result<(), ScanError> {
        if !entry.contains('.') {
            return Err(ScanError::AllowEntry(entry.to_string()));
        }
        self.allow.push(entry.to_string());
        Ok(())
    }

    /// Lets the configuration file's `allow` entries override the built-in
    /// denylist (`--trust-config`).
    pub fn trust_file_allows(&mut self) {
        self.allow.append(&mut self.allow_unless_denied);
    }

    /// The file's `allow` entries that name globals the built-in denylist
    /// denies, which are therefore not applied to them.
    pub fn allows_not_applied(&self) -> Vec<String> {
        self.allow_unless_denied
            .iter()
            .filter(|e| crate::rules::pickle::entry_reaches_denylist(e))
            .cloned()
            .collect()
    }

    /// What the evidence records: the file, and every allowance and denial in effect.
    pub fn to_evidence(&self) -> ConfigRecord {
        ConfigRecord {
            file: self
                .source
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            allow: self.allow.clone(),
            allow_unless_denied: self.allow_unless_denied.clone(),
            deny: self.deny.clone(),
            not_applied_to_denied_globals: self.allows_not_applied(),
        }
    }

    /// One line for people: which file was used and what it allows.
    pub fn summary_line(&self) -> Option<String> {
        if self.source.is_none()
            && self.allow.is_empty()
            && self.allow_unless_denied.is_empty()
            && self.deny.is_empty()
        {
            return None;
        }
        let file = match &self.source {
            Some(p) => format!("config {}", p.display()),
            None => "no config file".to_string(),
        };
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let mut line = format!(
            "{file}: allow {}; deny {}",
            list(&[self.allow.as_slice(), self.allow_unless_denied.as_slice()].concat()),
            list(&self.deny)
        );
        let ignored = self.allows_not_applied();
        if !ignored.is_empty() {
            line.push_str(&format!(
                " (not applied to denylisted globals: {}; --trust-config applies them)",
                ignored.join(", ")
            ));
        }
        Some(line)
    }

    pub fn from_toml_str(text: &str) -> Result<Self, String> {
        let file: FileConfig = toml::from_str(text).map_err(|e| e.message().to_string())?;
        for entry in file.scan.allow.iter().chain(&file.scan.deny) {
            if entry.is_empty() || entry.contains(char::is_whitespace) || !entry.contains('.') {
                return Err(format!(
                    "`{entry}` is not a global: write module.name or module.*"
                ));
            }
        }
        Ok(ScanConfig {
            allow_unless_denied: file.scan.allow,
            deny: file.scan.deny,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_allow_and_deny() {
        let c = ScanConfig::from_toml_str("[scan]\nallow = [\"mypkg.Model\"]\ndeny = [\"x.*\"]\n")
            .unwrap();
        assert_eq!(c.allow_unless_denied, ["mypkg.Model"]);
        assert!(c.allow.is_empty());
        assert_eq!(c.deny, ["x.*"]);
    }

    #[test]
    fn file_allows_that_reach_the_denylist_are_named() {
        let mut c = ScanConfig::from_toml_str(
            "[scan]\nallow = [\"os.*\", \"builtins.*\", \"mypkg.*\", \"numpy.load\", \"torch.*\"]\n",
        )
        .unwrap();
        assert_eq!(
            c.allows_not_applied(),
            ["os.*", "builtins.*", "numpy.load", "torch.*"]
        );
        let line = c.summary_line().unwrap();
        assert!(
            line.contains("not applied to denylisted globals: os.*"),
            "{line}"
        );
        c.trust_file_allows();
        assert!(c.allows_not_applied().is_empty());
        assert_eq!(c.allow.len(), 5);
    }

    #[test]
    fn rejects_typos_and_bad_entries() {
        assert!(ScanConfig::from_toml_str("[scan]\nalow = []\n").is_err());
        assert!(ScanConfig::from_toml_str("[scan]\nallow = [\"nodot\"]\n").is_err());
        assert!(ScanConfig::from_toml_str("[scan\n").is_err());
    }
}
