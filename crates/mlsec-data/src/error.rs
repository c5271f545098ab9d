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
