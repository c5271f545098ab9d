use mlsec_core::Fault;
use std::path::{Path, PathBuf};

/// Why a threat model could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ThreatError {
    /// The pipeline file cannot be read.
    #[error("{}: {reason}", path.display())]
    Io {
        path: PathBuf,
        reason: String,
        fault: Fault,
    },
    /// The pipeline file is not a valid description: the message names the
    /// file and, where it can, the line and column.
    #[error("{0}")]
    Invalid(String),
    /// The policies whose metadata says what is covered could not be loaded.
    #[error(transparent)]
    Policy(#[from] mlsec_policy::PolicyError),
    /// The bundled mapping is broken (a bug; tests keep it whole).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ThreatError {
    pub fn fault(&self) -> Fault {
        match self {
            ThreatError::Io { fault, .. } => *fault,
            ThreatError::Invalid(_) => Fault::Input,
            ThreatError::Policy(e) => e.fault(),
            ThreatError::Internal(_) => Fault::Internal,
        }
    }

    pub(crate) fn io(path: &Path, e: &std::io::Error) -> ThreatError {
        ThreatError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
            fault: Fault::of_io(e),
        }
    }
}
