//! Renderers: a table for people, the JSON envelope, and SARIF 2.1.0.

mod human;
mod sarif;

pub use human::{fit, human, printable, FileLine, Paint, Tabulate};
pub use sarif::{rule_descriptor, sarif, sarif_merged};

use crate::Evidence;

/// The output formats every command accepts with `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Sarif,
}

/// The evidence envelope as pretty JSON, newline-terminated.
pub fn json(evidence: &Evidence) -> String {
    // Evidence is strings, numbers, maps keyed by strings or unit enums, and a
    // `Value`: serde_json has no error to return for any of them.
    // Kind-specific details and finding evidence with sorted keys, as they
    // always were, whatever order serde_json keeps.
    let mut evidence = evidence.clone();
    crate::json::sort_keys(&mut evidence.details);
    for f in &mut evidence.findings {
        crate::json::sort_keys(&mut f.evidence);
    }
    #[allow(clippy::expect_used)]
    let mut s = serde_json::to_string_pretty(&evidence).expect("evidence serializes");
    s.push('\n');
    s
}
