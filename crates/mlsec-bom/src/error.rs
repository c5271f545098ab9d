//! Why a BOM could not be made at all. A file whose card or dependency list
//! cannot be understood is a warning in the BOM, never one of these.

use mlsec_core::Fault;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BomError {
    /// A file or folder could not be looked at or read.
    #[error("{}: {reason}", path.display())]
    Io {
        path: PathBuf,
        reason: String,
        fault: Fault,
    },
    /// The model cannot be described as asked: a symbolic link in it, too
    /// many files, an option in the wrong form.
    #[error("{0}")]
    Usage(String),
    /// The scan the BOM carries could not be made (a bad `mlsec.toml`).
    #[error(transparent)]
    Scan(#[from] mlsec_scan::ScanError),
    /// The model's signature could not be checked (its files could not be read).
    #[error(transparent)]
    Sign(#[from] mlsec_sign::SignError),
    /// A bug in mlsec.
    #[error("internal error: {0}")]
    Internal(String),
}

impl BomError {
    pub fn fault(&self) -> Fault {
        match self {
            BomError::Io { fault, .. } => *fault,
            BomError::Scan(e) => e.fault(),
            BomError::Sign(e) => e.fault(),
            BomError::Usage(_) => Fault::Input,
            BomError::Internal(_) => Fault::Internal,
        }
    }

    pub fn io(path: &Path, e: &std::io::Error) -> BomError {
        BomError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
            fault: Fault::of_io(e),
        }
    }
}
