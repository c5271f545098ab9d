//! Why signing, verifying or attesting could not be done at all. A signature
//! that does not verify is a finding in the evidence, never one of these.

use mlsec_core::Fault;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A file could not be read or written: a key, a certificate, the
    /// signature, or a file of the model.
    #[error("{}: {reason}", path.display())]
    Io {
        path: PathBuf,
        reason: String,
        fault: Fault,
    },
    /// The model cannot be signed or verified as asked: a symbolic link
    /// without `--allow-symlinks`, a device file, a name that is not UTF-8.
    #[error("{0}")]
    Model(String),
    /// A key or certificate that is missing, malformed, or does not match.
    #[error("{0}")]
    Credential(String),
    /// A document to sign that is neither mlsec evidence nor a CycloneDX BOM.
    #[error("{0}")]
    Document(String),
    /// Options that do not go together, or an ignore path that is not one.
    #[error("{0}")]
    Usage(String),
    /// A bug in mlsec.
    #[error("internal error: {0}")]
    Internal(String),
}

impl SignError {
    pub fn fault(&self) -> Fault {
        match self {
            SignError::Io { fault, .. } => *fault,
            SignError::Internal(_) => Fault::Internal,
            SignError::Model(_)
            | SignError::Credential(_)
            | SignError::Document(_)
            | SignError::Usage(_) => Fault::Input,
        }
    }

    pub fn io(path: &Path, e: &std::io::Error) -> SignError {
        SignError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
            fault: Fault::of_io(e),
        }
    }

    /// A key or certificate file that was read but cannot be used.
    pub(crate) fn credential(path: &Path, reason: impl std::fmt::Display) -> SignError {
        SignError::Credential(format!("{}: {reason}", path.display()))
    }
}
