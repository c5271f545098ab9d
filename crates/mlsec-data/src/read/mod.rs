//! Streaming readers: rows of tables (CSV, JSONL, Parquet), lines of text, and the
//! texts of notebook cells. Every reader holds at most one record (or one Parquet
//! batch) in memory and bounds it, so memory stays flat however large the file is.

pub mod csv;
mod footer;
pub mod ipynb;
pub mod jsonl;
pub mod parquet;
mod split;
pub mod text;

use crate::{DataError, DataFormat};
use std::path::Path;
use std::sync::Arc;

/// Bounds and error handling shared by every reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Skip a malformed row or line (ragged, invalid UTF-8, not JSON, too long)
    /// with a warning instead of failing the file.
    pub skip_bad_rows: bool,
    /// Longest CSV record, JSONL line or text line, in bytes.
    pub max_record_bytes: usize,
    /// Largest notebook read into memory as a whole, in bytes.
    pub max_document_bytes: u64,
    /// Most distinct JSONL keys (columns) in one file.
    pub max_columns: usize,
    /// Highest uncompressed/compressed size a Parquet page may declare before
    /// the file is refused as a decompression bomb.
    pub max_compression_ratio: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            skip_bad_rows: false,
            max_record_bytes: 16 << 20,
            max_document_bytes: 256 << 20,
            max_columns: 65_536,
            max_compression_ratio: mlsec_core::Limits::default().max_compression_ratio,
        }
    }
}

/// One value of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    /// A string value (every CSV cell; JSON and Parquet strings).
    Text(String),
    /// Any other value as text: a JSON number, boolean, array or object as compact
    /// JSON; a Parquet number, date or binary as Arrow displays it.
    Other(String),
}

impl Cell {
    /// The text a detector should look at (`None` for null).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Cell::Null => None,
            Cell::Text(s) | Cell::Other(s) => Some(s),
        }
    }
}

/// One data row: its 1-based number (the header not counted), the physical line
/// it starts on (CSV, JSONL), and its cells with their column names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub number: u64,
    pub line: Option<u64>,
    pub cells: Vec<(Arc<str>, Cell)>,
}

/// How reading a batch of items ended.
#[derive(Debug)]
pub enum Filled {
    /// The batch is full; more may follow.
    More,
    /// The file is read to its end.
    End,
    /// The file cannot be read on from here; the batch holds what came before.
    Failed(DataError),
}

/// Rows skipped under [`ReadOptions::skip_bad_rows`]: how many, and why (the
/// first few reasons).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    pub count: u64,
    pub first: Vec<DataError>,
}

impl Skipped {
    const KEPT: usize = 10;

    pub(crate) fn push(&mut self, err: DataError) {
        self.count += 1;
        if self.first.len() < Self::KEPT {
            self.first.push(err);
        }
    }
}

/// The rows of a table file, streamed.
pub enum Table {
    Csv(csv::CsvRows),
    Jsonl(jsonl::JsonlRows),
    Parquet(parquet::ParquetRows),
}

impl Table {
    /// Opens `path` as a table of `format` (CSV, JSONL or Parquet).
    pub fn open(path: &Path, format: DataFormat, opts: &ReadOptions) -> Result<Table, DataError> {
        Ok(match format {
            DataFormat::Csv => Table::Csv(csv::CsvRows::open(path, opts)?),
            DataFormat::Jsonl => Table::Jsonl(jsonl::JsonlRows::open(path, opts)?),
            DataFormat::Parquet => Table::Parquet(parquet::ParquetRows::open(path, opts)?),
            DataFormat::Text | DataFormat::Ipynb => {
                return Err(DataError::new(
                    path,
                    None,
                    format!("{} is not a table format", format.as_str()),
                ))
            }
        })
    }

    /// Column names known so far: the header (CSV), the schema (Parquet), or the
    /// keys seen in the rows read so far (JSONL; each row's keys in byte order).
    pub fn columns(&self) -> Vec<Arc<str>> {
        match self {
            Table::Csv(t) => t.columns().to_vec(),
            Table::Jsonl(t) => t.columns().to_vec(),
            Table::Parquet(t) => t.file().columns().to_vec(),
        }
    }

    pub fn skipped(&self) -> Skipped {
        match self {
            Table::Csv(t) => t.skipped().clone(),
            Table::Jsonl(t) => t.skipped().clone(),
            Table::Parquet(_) => Skipped::default(),
        }
    }
}

impl Iterator for Table {
    type Item = Result<Row, DataError>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Table::Csv(t) => t.next(),
            Table::Jsonl(t) => t.next(),
            Table::Parquet(t) => t.next(),
        }
    }
}
