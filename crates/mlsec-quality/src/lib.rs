//! Data quality for mlsec: drift between a reference dataset and current data
//! (`mlsec data drift`), column by column and jointly; reference profiles
//! (`mlsec data profile`); suspect rows of a labelled table (`mlsec data
//! issues`).
//!
//! Tables are read with mlsec-data's bounded readers (CSV, JSONL, Parquet) into
//! columns ([`columns`]); the statistics come from mlsec-stats. [`drift`] is the
//! command as a library call returning an evidence envelope of kind `drift`.

// Library code may not index, slice or unwrap: the data is untrusted, and a bad
// index must not panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

mod answers;
pub mod columns;
mod compute;
mod drift;
mod error;
mod follow;
mod human;
mod issues;
pub mod method;
mod profile;
pub mod rules;
mod table;

pub use drift::{drift, ColumnDrift, ColumnSide, DriftDetails, DriftOptions, Multivariate};
pub use error::QualityError;
pub use follow::{follow, FollowOptions, Window, WindowInfo};
pub use human::{human, issues_human};
pub use issues::{
    flagged_rows, issues, Check, ClassCount, Excluded, Feature, Issue, IssuesDetails,
    IssuesOptions, LabelModel, LabelModelKind, OutlierMethod,
};
pub use method::{Correction, Method};
pub use profile::{
    is_profile, load as load_profile, parse as parse_profile, profile, ColumnProfile,
    ProfileDetails, ProfileOptions, PROFILE_KIND,
};
pub use table::{ColumnKind, Histogram, Side};
