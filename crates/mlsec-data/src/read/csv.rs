//! CSV with a header row. The delimiter is `\t` for `.tsv`, `|` for `.psv`, else
//! whichever of `,` `;` `\t` `|` is most frequent in the header line (`,` on ties).

use super::{Cell, ReadOptions, Row, Skipped};
use crate::error::Place;
use crate::DataError;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// How much the csv crate reads ahead of the record it parses.
const READ_AHEAD: usize = 64 << 10;

/// Picks the delimiter for `path` from its extension or its first line (`head`).
pub fn delimiter(path: &Path, head: &[u8]) -> u8 {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("tsv") => return b'\t',
        Some("psv") => return b'|',
        _ => {}
    }
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    let mut quoted = false;
    for &b in first_line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in counts.iter_mut() {
                if *d == b {
                    *n += 1;
                }
            }
        }
    }
    let mut best = (b',', 0);
    for (d, n) in counts {
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

/// Fails the underlying read once the csv crate has pulled more than one record's
/// limit past the last record boundary: the crate itself would grow its buffers
/// without bound on a file with an unterminated quote or no line breaks.
struct Bounded<R> {
    inner: R,
    read: u64,
    allowed_until: Arc<AtomicU64>,
    tripped: Arc<AtomicBool>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read > self.allowed_until.load(Ordering::Relaxed) {
            self.tripped.store(true, Ordering::Relaxed);
            return Err(io::Error::other("record over the size limit"));
        }
        let n = self.inner.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        Ok(n)
    }
}

/// The rows of a CSV file, streamed one record at a time.
pub struct CsvRows<R = File> {
    path: PathBuf,
    reader: csv::Reader<Bounded<R>>,
    record: csv::ByteRecord,
    columns: Vec<Arc<str>>,
    delimiter: u8,
    max_record: usize,
    allowed_until: Arc<AtomicU64>,
    tripped: Arc<AtomicBool>,
    row: u64,
    skip_bad: bool,
    skipped: Skipped,
    done: bool,
}

impl CsvRows<File> {
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<Self, DataError> {
        let mut head = Vec::new();
        File::open(path)
            .and_then(|f| f.take(64 << 10).read_to_end(&mut head))
            .map_err(|e| DataError::io(path, &e))?;
        let file = File::open(path).map_err(|e| DataError::io(path, &e))?;
        Self::new(path, file, delimiter(path, &head), opts)
    }
}

impl<R: Read> CsvRows<R> {
    /// Reads the header row of `inner`; `path` only names it in errors.
    pub fn new(
        path: &Path,
        inner: R,
        delimiter: u8,
        opts: &ReadOptions,
    ) -> Result<Self, DataError> {
        let allowed_until = Arc::new(AtomicU64::new(budget(0, opts.max_record_bytes)));
        let tripped = Arc::new(AtomicBool::new(false));
        let bounded = Bounded {
            inner,
            read: 0,
            allowed_until: allowed_until.clone(),
            tripped: tripped.clone(),
        };
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(READ_AHEAD)
            .from_reader(bounded);
        let mut rows = CsvRows {
            path: path.to_path_buf(),
            reader,
            record: csv::ByteRecord::new(),
            columns: Vec::new(),
            delimiter,
            max_record: opts.max_record_bytes,
            allowed_until,
            tripped,
            row: 0,
            skip_bad: opts.skip_bad_rows,
            skipped: Skipped::default(),
            done: false,
        };
        match rows.read_record() {
            Ok(true) => {}
            Ok(false) => {
                rows.done = true;
                return Ok(rows);
            }
            Err(message) => {
                return Err(DataError::new(
                    path,
                    Some(Place::Line(1)),
                    format!("header: {message}"),
                ))
            }
        }
        let mut columns = Vec::with_capacity(rows.record.len());
        for (i, field) in rows.record.iter().enumerate() {
            let name = std::str::from_utf8(field).map_err(|_| {
                DataError::new(
                    path,
                    Some(Place::Line(1)),
                    format!("header: column {} is not valid UTF-8", i + 1),
                )
            })?;
            // The csv crate keeps a leading byte-order mark in the first field.
            let name = if i == 0 {
                name.trim_start_matches('\u{feff}')
            } else {
                name
            };
            columns.push(Arc::from(name));
        }
        rows.columns = columns;
        Ok(rows)
    }

    pub fn columns(&self) -> &[Arc<str>] {
        &self.columns
    }

    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    pub fn skipped(&self) -> &Skipped {
        &self.skipped
    }

    /// Reads the next record into `self.record`; false at the end.
    fn read_record(&mut self) -> Result<bool, String> {
        let more = self.reader.read_byte_record(&mut self.record);
        let end = self.reader.position().byte();
        self.allowed_until
            .store(budget(end, self.max_record), Ordering::Relaxed);
        match more {
            Ok(more) => Ok(more),
            Err(_) if self.tripped.load(Ordering::Relaxed) => Err(format!(
                "record over the limit of {} bytes (an unterminated quote?)",
                self.max_record
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    fn convert(&self, line: u64) -> Result<Row, DataError> {
        let place = Some(Place::Row {
            row: self.row,
            line: Some(line),
        });
        if self.record.len() != self.columns.len() {
            return Err(DataError::new(
                &self.path,
                place,
                format!(
                    "{} field(s) but the header has {}",
                    self.record.len(),
                    self.columns.len()
                ),
            ));
        }
        let mut cells = Vec::with_capacity(self.columns.len());
        for (name, field) in self.columns.iter().zip(self.record.iter()) {
            let text = std::str::from_utf8(field).map_err(|e| {
                DataError::new(
                    &self.path,
                    place,
                    format!(
                        "column `{name}`: invalid UTF-8 at byte {} of the cell",
                        e.valid_up_to()
                    ),
                )
            })?;
            cells.push((name.clone(), Cell::Text(text.to_string())));
        }
        Ok(Row {
            number: self.row,
            line: Some(line),
            cells,
        })
    }
}

fn budget(end: u64, max_record: usize) -> u64 {
    end.saturating_add(max_record as u64)
        .saturating_add(READ_AHEAD as u64)
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<Row, DataError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            let line = self.reader.position().line();
            self.row += 1;
            match self.read_record() {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(message) => {
                    // A malformed record cannot be stepped over reliably (quotes may hide
                    // line breaks): stop here, skip mode or not.
                    self.done = true;
                    let place = Some(Place::Row {
                        row: self.row,
                        line: Some(line),
                    });
                    return Some(Err(DataError::new(&self.path, place, message)));
                }
            }
            match self.convert(line) {
                Ok(row) => return Some(Ok(row)),
                Err(e) if self.skip_bad => self.skipped.push(e),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
