use mlsec_core::Fault;
use mlsec_data::DataError;
use std::path::PathBuf;

/// Why a data-quality command could not run (exit 2). Problems inside the data
/// that still allow a comparison are findings, not errors.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    /// A file could not be read or parsed; the message names the file, and the
    /// row or row group where it applies.
    #[error("{0}")]
    Read(#[from] DataError),
    /// The arguments do not fit the data (a named column that is not there, a
    /// method for the wrong kind of column).
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {reason}")]
    Io {
        path: PathBuf,
        reason: String,
        fault: Fault,
    },
}

impl QualityError {
    pub fn fault(&self) -> Fault {
        match self {
            QualityError::Read(_) | QualityError::Usage(_) => Fault::Input,
            QualityError::Io { fault, .. } => *fault,
        }
    }
}
