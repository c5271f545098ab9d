//! Datasets for mlsec: streaming readers for CSV, JSONL, Parquet, plain text and
//! Jupyter notebooks; integrity manifests with per-row digests and a Merkle root,
//! and their verification down to the changed, inserted and deleted rows.
//! [`write_manifest`], [`verify_dataset`], [`scan_pii`] and [`redact`] are
//! the commands as library calls returning evidence; [`signing`] signs and
//! checks manifests.
//!
//! Everything here reads untrusted files: readers bound every record and never
//! panic on input; a file that cannot be read fully is an error naming the file
//! and the row or line, never silently clean.

// Library code may not index, slice or unwrap: a bad offset in an untrusted
// file must become an error, never a panic. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::string_slice,
        clippy::unwrap_used,
        clippy::expect_used
    )
)]

mod error;
pub mod filter;
pub mod format;
pub mod read;

pub use error::{DataError, DatasetError, Place};
pub use format::{detect, DataFormat};
pub use read::{Cell, ReadOptions, Row, Skipped, Table};
pub mod detect;
mod detectors;
pub mod manifest;
pub mod pii;
pub mod redact;
pub mod rules;
mod run;
pub mod signing;
pub mod verify;

pub use detectors::PiiDetector;
pub use run::{
    redact, scan_pii, verify_dataset, write_manifest, DatasetVerifyOptions, IntegrityDetails,
    ManifestDetails, ManifestHeader, ManifestWriteOptions, PiiCount, PiiDetails, PiiFile,
    PiiOptions, RedactOptions, SignatureCheck,
};
