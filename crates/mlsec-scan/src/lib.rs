//! The model file scanner behind `mlsec scan`.
//!
//! [`scan_paths`] walks files and folders, reads each file once (memory-mapped,
//! so a 10 GB checkpoint costs only the pages its zip directory and pickles
//! touch) and hands its bytes to [`scan_bytes`], which detects the format by
//! content and runs that format's rules. Archives call back into
//! [`scan_bytes`] for their members, so nesting is handled in one place.
//! Every rule lives in [`rules`], one module per format family. [`run`] is the
//! whole command as a library call: options in, a `scan` evidence envelope out.

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

pub mod config;
mod context;
mod dispatch;
mod engine;
pub mod rules;
mod run;

pub use config::ScanConfig;
pub use context::{tree_limits, Ctx, Report};
pub use dispatch::scan_bytes;
pub use engine::{scan_paths, FileResult, ScanOutcome};
pub use run::{run, ScanDetails, ScanError, ScanOptions};
