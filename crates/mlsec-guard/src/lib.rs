//! Content guards: checks on the text that goes into a model (and, later,
//! what comes out). Each guard reads the texts of a request and reports
//! hits; what a hit does (block, flag, log) is the caller's setting, so the
//! gateway's guard chain and the offline `mlsec guard` share the same code.
//!
//! A hit says where (the text's place in the request and a byte span in
//! it) and what (rule, family, score), never the matched text itself: the
//! hits go into audit logs, and a secret must not travel further than it
//! already has.

// Guards read hostile requests: no indexing, slicing or unwrapping outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

pub mod answer;
pub mod classifier;
mod injection;
pub mod normalize;
pub mod offline;
pub mod output;
mod pii;
mod text;

pub use injection::{score as injection_score, InjectionGuard, SIGNALS};
pub use pii::PiiGuard;
pub use text::{each_text_mut, texts, Text, MAX_TEXTS};

use serde::Serialize;

/// One thing a guard found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// What matched, e.g. `PRIVATE_KEY`.
    pub rule: String,
    /// The rule's family, e.g. `secret` or `pii`.
    pub family: String,
    /// Where in the request: `messages[1].content`, `input[0]` ...
    pub location: String,
    /// Byte span in that text (end exclusive).
    pub start: usize,
    pub end: usize,
    /// Confidence in 0..=1.
    pub score: f32,
}

/// A check over a request's texts.
pub trait Guard: Send + Sync {
    fn check(&self, texts: &[Text], hits: &mut Vec<Hit>);
}
