use std::fmt;
use std::path::{Path, PathBuf};

/// Why a data file could not be read, and where: the file, then the row (1-based
/// data row), line or byte offset when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    pub path: PathBuf,
    pub place: Option<Place>,
    pub message: String,
}

/// Where in a file an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A data row (1-based, the header not counted) and the physical line it starts on.
    Row { row: u64, line: Option<u64> },
    /// A line of a text or JSONL file (1-based).
    Line(u64),
    /// A notebook cell (1-based).
    Cell(u64),
    /// A Parquet row group (0-based, as Parquet tools number them).
    RowGroup(usize),
}

impl DataError {
    pub fn new(path: &Path, place: Option<Place>, message: impl Into<String>) -> Self {
        DataError {
            path: path.to_path_buf(),
            place,
            message: message.into(),
        }
    }

    pub fn io(path: &Path, err: &std::io::Error) -> Self {
        DataError::new(path, None, err.to_string())
    }

    /// The first data row the error is about, if any.
    pub fn row(&self) -> Option<u64> {
        match self.place {
            Some(Place::Row { row, .. }) => Some(row),
            _ => None,
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        match self.place {
            Some(Place::Row {
                row,
                line: Some(line),
            }) => write!(f, ": row {row} (line {line})")?,
            Some(Place::Row { row, line: None }) => write!(f, ": row {row}")?,
            Some(Place::Line(line)) => write!(f, ": line {line}")?,
            Some(Place::Cell(cell)) => write!(f, ": cell {cell}")?,
            Some(Place::RowGroup(g)) => write!(f, ": row group {g}")?,
            None => {}
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for DataError {}

/// Why a data command could not be done at all. Differences from a
/// manifest, personal data found and unreadable rows in a scan are findings
/// in the evidence, never these.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file or folder could not be looked at, read or written.
    #[error("{}: {reason}", path.display())]
    Io {
        path: PathBuf,
        reason: String,
        fault: mlsec_core::Fault,
    },
    /// A data file that cannot be read to its end (where that stops the
    /// command: a manifest never pins a file it could not read).
    #[error(transparent)]
    Read(#[from] DataError),
    /// A manifest file that is not one, or of an unknown schema.
    #[error("{}: {reason}", path.display())]
    Manifest { path: PathBuf, reason: String },
    /// What was asked for cannot be done: an unknown entity, two files with
    /// one manifest name, symbolic links in a dataset, an output over its input.
    #[error("{0}")]
    Usage(String),
    /// Signing the manifest failed.
    #[error(transparent)]
    Sign(#[from] mlsec_sign::SignError),
    /// The machine is in the way (no randomness for the hash key).
    #[error("{0}")]
    Environment(String),
    /// A bug in mlsec.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DatasetError {
    pub fn fault(&self) -> mlsec_core::Fault {
        use mlsec_core::Fault;
        match self {
            DatasetError::Io { fault, .. } => *fault,
            DatasetError::Sign(e) => e.fault(),
            DatasetError::Environment(_) => Fault::Environment,
            DatasetError::Internal(_) => Fault::Internal,
            DatasetError::Read(_) | DatasetError::Manifest { .. } | DatasetError::Usage(_) => {
                Fault::Input
            }
        }
    }

    pub fn io(path: &Path, e: &std::io::Error) -> DatasetError {
        DatasetError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
            fault: mlsec_core::Fault::of_io(e),
        }
    }

    /// Writing `path` failed: never the input's fault.
    pub(crate) fn write(path: &Path, e: impl std::fmt::Display) -> DatasetError {
        DatasetError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
            fault: mlsec_core::Fault::Environment,
        }
    }
}
