//! The gate: policies written in Rego decide on mlsec evidence.
//!
//! Policies follow conftest's conventions, so OPA skills carry over: each
//! package may define `deny`, `violation` (both deny) and `warn` rules whose
//! results are messages, either strings or objects with a `msg`; every
//! loaded package is evaluated (conftest's `--all-namespaces`); rules named
//! `test_*` are tests (`opa test`). A package may also define `metadata`, an
//! object naming the rule (`id`, `title`), the evidence kinds it reads
//! (`evidence`) and the framework controls it serves (`controls`), which the
//! compliance matrix reads.
//!
//! Two packs are bundled: `baseline` (the defaults) and `strict`. A user's
//! policy that declares the package of a bundled rule replaces it; `skip`
//! turns bundled rules off by id.

// Library code may not index, slice or unwrap: a bad length must become an
// error, never a panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

mod catalog;
mod error;
mod matrix;
mod packs;
mod set;

pub use catalog::{Catalog, Control, Framework, Tactic};
pub use error::PolicyError;
pub use matrix::{compliance, ControlStatus, FrameworkStatus, Status};
pub use packs::{pack_names, PACKS};
pub use set::{
    Decision, Level, Message, PolicyOptions, PolicySet, RuleMeta, RuleOutcome, TestOutcome,
    TestResult,
};
