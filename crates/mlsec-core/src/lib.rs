//! Shared vocabulary of every mlsec command.
//!
//! Each command produces [`Evidence`]: one envelope (`mlsec.evidence/v1`) holding
//! [`Finding`]s raised by [`Rule`]s, so that a policy can decide on it and a report
//! can show it. The renderers in [`render`] turn evidence into a terminal table,
//! JSON or SARIF 2.1.0, and [`output`] writes files atomically.

// Library code may not index, slice or unwrap: every command renders what it
// read from untrusted files, and a bad index must not panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

pub mod digest;
mod evidence;
mod fault;
mod finding;
pub mod json;
mod limits;
pub mod output;
pub mod render;
mod rule;
pub mod walk;

pub use evidence::{Evidence, Subject, Summary, Tool, DEFAULT_THRESHOLD, EVIDENCE_SCHEMA};
pub use fault::Fault;
pub use finding::{Category, DataLocation, Finding, Severity, Verdict};
pub use limits::Limits;
pub use rule::{Rule, RuleDoc, RulesDetails};

/// Version of the mlsec tool, recorded in every evidence document.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
