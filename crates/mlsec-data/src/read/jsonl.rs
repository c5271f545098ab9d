//! JSON Lines: one JSON object per line; blank lines are ignored. Columns are the
//! top-level keys; nested values are kept as their compact JSON text.

use super::text::{LineSplitter, RawLine};
use super::{Cell, ReadOptions, Row, Skipped};
use crate::error::Place;
use crate::DataError;
use serde_json::Value;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The rows of a JSONL file, streamed one line at a time.
pub struct JsonlRows<R = File> {
    path: PathBuf,
    lines: LineSplitter<R>,
    /// Each key once, shared by every row that has it.
    names: HashMap<String, Arc<str>>,
    columns: Vec<Arc<str>>,
    max_columns: usize,
    max_record: usize,
    row: u64,
    skip_bad: bool,
    skipped: Skipped,
    done: bool,
}

impl JsonlRows<File> {
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<Self, DataError> {
        let file = File::open(path).map_err(|e| DataError::io(path, &e))?;
        Ok(Self::new(path, file, opts))
    }
}

impl<R: Read> JsonlRows<R> {
    /// Rows of `inner`; `path` only names it in errors.
    pub fn new(path: &Path, inner: R, opts: &ReadOptions) -> Self {
        JsonlRows {
            path: path.to_path_buf(),
            lines: LineSplitter::new(inner, opts.max_record_bytes),
            names: HashMap::new(),
            columns: Vec::new(),
            max_columns: opts.max_columns,
            max_record: opts.max_record_bytes,
            row: 0,
            skip_bad: opts.skip_bad_rows,
            skipped: Skipped::default(),
            done: false,
        }
    }

    /// Keys seen so far, in first-seen order.
    pub fn columns(&self) -> &[Arc<str>] {
        &self.columns
    }

    pub fn skipped(&self) -> &Skipped {
        &self.skipped
    }

    fn name(&mut self, key: String) -> Result<Arc<str>, String> {
        if let Some(name) = self.names.get(&key) {
            return Ok(name.clone());
        }
        if self.columns.len() >= self.max_columns {
            return Err(format!("more than {} distinct keys", self.max_columns));
        }
        let name: Arc<str> = Arc::from(key.as_str());
        self.names.insert(key, name.clone());
        self.columns.push(name.clone());
        Ok(name)
    }
}

/// A JSON value as a cell: strings as themselves, null as null, the rest as JSON.
pub(crate) fn cell_of(value: Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::String(s) => Cell::Text(s),
        mut other => {
            // Nested objects in key order, as row digests have always had them.
            mlsec_core::json::sort_keys(&mut other);
            Cell::Other(other.to_string())
        }
    }
}

impl<R: Read> Iterator for JsonlRows<R> {
    type Item = Result<Row, DataError>;
    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let parsed = match self.lines.next_line() {
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(DataError::io(&self.path, &e)));
                }
                Ok(Some(RawLine::TooLong(len))) => Err(format!(
                    "line of {len} bytes is over the limit of {} bytes",
                    self.max_record
                )),
                Ok(Some(RawLine::Bytes(bytes))) => {
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    match serde_json::from_slice::<Value>(bytes) {
                        Ok(Value::Object(map)) => Ok(mlsec_core::json::sorted(map)),
                        Ok(other) => Err(format!("not a JSON object but {}", kind(&other))),
                        Err(e) => Err(format!("not JSON: {e}")),
                    }
                }
            };
            self.row += 1;
            let line = self.lines.line;
            let place = Some(Place::Row {
                row: self.row,
                line: Some(line),
            });
            let result = parsed.and_then(|map| {
                let mut cells = Vec::with_capacity(map.len());
                for (key, value) in map {
                    cells.push((self.name(key)?, cell_of(value)));
                }
                Ok(cells)
            });
            match result {
                Ok(cells) => {
                    return Some(Ok(Row {
                        number: self.row,
                        line: Some(line),
                        cells,
                    }));
                }
                Err(message) => {
                    let err = DataError::new(&self.path, place, message);
                    if self.skip_bad {
                        self.skipped.push(err);
                    } else {
                        self.done = true;
                        return Some(Err(err));
                    }
                }
            }
        }
        None
    }
}

pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
