//! `mlsec.toml`: what a team allows or denies beyond the built-in lists.
//!
//! ```toml
//! [scan]
//! # Globals (module.name) your models legitimately use; exact match, or a
//! # module prefix ending in ".*" (e.g. "mypkg.models.*").
//! allow = ["mypkg.Model"]
//! # Globals to treat as malicious on top of the built-in denylist.
//! deny = ["mypkg.unsafe_loader"]
//! ```

use mlsec_core::Limits;
use serde::Deserialize;
use std::path::Path;

/// Settings of one scan.
#[derive(Debug, Clone, Default)]
pub struct ScanConfig {
    pub limits: Limits,
    /// Extra allowed globals (`module.name` or `module.*`).
    pub allow: Vec<String>,
    /// Extra denied globals (`module.name` or `module.*`).
    pub deny: Vec<String>,
    /// Compute the SHA-256 of every scanned file (reads whole files).
    pub digest: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    scan: ScanSection,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ScanSection {
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
}

impl ScanConfig {
    /// Reads the `[scan]` table of an `mlsec.toml`. Errors name the file and the problem.
    pub fn from_toml_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_toml_str(&text).map_err(|e| format!("{}: {e}", path.display()))
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
            allow: file.scan.allow,
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
        assert_eq!(c.allow, ["mypkg.Model"]);
        assert_eq!(c.deny, ["x.*"]);
    }

    #[test]
    fn rejects_typos_and_bad_entries() {
        assert!(ScanConfig::from_toml_str("[scan]\nalow = []\n").is_err());
        assert!(ScanConfig::from_toml_str("[scan]\nallow = [\"nodot\"]\n").is_err());
        assert!(ScanConfig::from_toml_str("[scan\n").is_err());
    }
}
