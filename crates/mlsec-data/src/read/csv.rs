//! CSV with a header row. The delimiter is `\t` for `.tsv`, `|` for `.psv`, else
//! whichever of `,` `;` `\t` `|` is most frequent in the header line (`,` on ties).

use super::split::{SplitError, Splitter};
use super::{Cell, ReadOptions, Recycle, Row, Skipped};
use crate::error::Place;
use crate::DataError;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// The rows of a CSV file, streamed one record at a time.
pub struct CsvRows<R = File> {
    path: PathBuf,
    reader: Splitter<R>,
    record: csv::ByteRecord,
    /// Buffers of records handed out and given back (see [`TextRecords`]).
    spare: Vec<csv::ByteRecord>,
    columns: Vec<Arc<str>>,
    delimiter: u8,
    max_record: usize,
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
        let reader = Splitter::new(inner, delimiter, opts.max_record_bytes);
        let mut rows = CsvRows {
            path: path.to_path_buf(),
            reader,
            record: csv::ByteRecord::new(),
            spare: Vec::new(),
            columns: Vec::new(),
            delimiter,
            max_record: opts.max_record_bytes,
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
        self.reader.read(&mut self.record).map_err(|e| match e {
            SplitError::TooLong => format!(
                "record over the limit of {} bytes (an unterminated quote?)",
                self.max_record
            ),
            SplitError::Io(e) => e.to_string(),
        })
    }

    fn place(&self, line: u64) -> Option<Place> {
        Some(Place::Row {
            row: self.row,
            line: Some(line),
        })
    }

    fn check_width(&self, line: u64) -> Result<(), DataError> {
        if self.record.len() == self.columns.len() {
            return Ok(());
        }
        Err(DataError::new(
            &self.path,
            self.place(line),
            format!(
                "{} field(s) but the header has {}",
                self.record.len(),
                self.columns.len()
            ),
        ))
    }

    fn invalid_utf8(&self, line: u64, column: usize, at: usize) -> DataError {
        let name = self.columns.get(column).map_or("?", |c| &**c);
        DataError::new(
            &self.path,
            self.place(line),
            format!("column `{name}`: invalid UTF-8 at byte {at} of the cell"),
        )
    }

    fn convert(&mut self, line: u64) -> Result<Row, DataError> {
        self.check_width(line)?;
        let mut cells = Vec::with_capacity(self.columns.len());
        for (i, (name, field)) in self.columns.iter().zip(self.record.iter()).enumerate() {
            let text = std::str::from_utf8(field)
                .map_err(|e| self.invalid_utf8(line, i, e.valid_up_to()))?;
            cells.push((name.clone(), Cell::Text(text.to_string())));
        }
        Ok(Row {
            number: self.row,
            line: Some(line),
            cells,
        })
    }
}

/// A record checked against the header and as UTF-8, its cells not copied
/// one by one: the fast path of `mlsec data pii`, where a [`Row`] of owned
/// cells costs more than looking at them.
pub struct TextRecord {
    pub number: u64,
    pub line: u64,
    pub fields: csv::StringRecord,
}

impl<R: Read> CsvRows<R> {
    fn text_record(&mut self, line: u64) -> Result<TextRecord, DataError> {
        self.check_width(line)?;
        // Hand out the record just read; the reader goes on in a spare buffer.
        let spare = self.spare.pop().unwrap_or_default();
        let record = std::mem::replace(&mut self.record, spare);
        match csv::StringRecord::from_byte_record(record) {
            Ok(fields) => Ok(TextRecord {
                number: self.row,
                line,
                fields,
            }),
            Err(e) => {
                let at = e.utf8_error();
                let (field, valid_up_to) = (at.field(), at.valid_up_to());
                self.spare.push(e.into_byte_record());
                Err(self.invalid_utf8(line, field, valid_up_to))
            }
        }
    }

    /// The rows as [`TextRecord`]s, with the same checks, errors and skipping
    /// as the rows.
    pub fn text_records(&mut self) -> TextRecords<'_, R> {
        TextRecords { rows: self }
    }

    /// The next row made by `make`; malformed rows are skipped or end the rows.
    fn advance<T>(
        &mut self,
        make: fn(&mut Self, u64) -> Result<T, DataError>,
    ) -> Option<Result<T, DataError>> {
        loop {
            if self.done {
                return None;
            }
            self.row += 1;
            let read = self.read_record();
            let line = self.reader.record_line();
            match read {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(message) => {
                    // A malformed record cannot be stepped over reliably (quotes may hide
                    // line breaks): stop here, skip mode or not.
                    self.done = true;
                    return Some(Err(DataError::new(&self.path, self.place(line), message)));
                }
            }
            match make(self, line) {
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

/// The rows of a CSV file as [`TextRecord`]s. Records given back with
/// [`Recycle::recycle`] are read into again, so that a long file costs no
/// allocation per row.
pub struct TextRecords<'a, R> {
    rows: &'a mut CsvRows<R>,
}

impl<R: Read> Iterator for TextRecords<'_, R> {
    type Item = Result<TextRecord, DataError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.rows.advance(CsvRows::text_record)
    }
}

impl<R> Recycle<TextRecord> for TextRecords<'_, R> {
    fn recycle(&mut self, used: &mut Vec<TextRecord>) {
        /// Spare buffers kept: a few batches' worth.
        const KEEP: usize = 16 << 10;
        let room = KEEP.saturating_sub(self.rows.spare.len());
        let spare = used
            .drain(..)
            .take(room)
            .map(|r| r.fields.into_byte_record());
        self.rows.spare.extend(spare);
        used.clear();
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<Row, DataError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.advance(Self::convert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row number and its cells, or the error.
    type Read = Vec<Result<(u64, Vec<String>), String>>;

    /// The rows and the text records of `data`.
    fn both(data: &[u8], skip_bad_rows: bool) -> (Read, Read) {
        let opts = ReadOptions {
            skip_bad_rows,
            ..ReadOptions::default()
        };
        let path = Path::new("u.csv");
        let rows = CsvRows::new(path, data, b',', &opts)
            .unwrap()
            .map(|r| {
                r.map(|r| {
                    let cells = r
                        .cells
                        .iter()
                        .map(|(_, c)| c.as_str().unwrap_or_default().to_string())
                        .collect();
                    (r.number, cells)
                })
                .map_err(|e| e.to_string())
            })
            .collect();
        let mut reader = CsvRows::new(path, data, b',', &opts).unwrap();
        let mut source = reader.text_records();
        let mut records = Vec::new();
        let mut used = Vec::new();
        while let Some(r) = source.next() {
            records.push(
                r.as_ref()
                    .map(|r| (r.number, r.fields.iter().map(str::to_string).collect()))
                    .map_err(|e| e.to_string()),
            );
            // Later records are read into the buffers of earlier ones.
            used.extend(r);
            source.recycle(&mut used);
        }
        (rows, records)
    }

    #[test]
    fn text_records_match_rows_cell_for_cell_and_error_for_error() {
        let good = b"id,note\n1,\"a, b\"\n2,\"line\nbreak\"\n";
        let (rows, records) = both(good, false);
        assert_eq!(rows, records);
        assert_eq!(records[1], Ok((2, vec!["2".into(), "line\nbreak".into()])));

        let ragged = b"id,note\n1,x\n2\n3,z\n";
        let (rows, records) = both(ragged, false);
        assert_eq!(rows, records);
        assert_eq!(
            records[1],
            Err("u.csv: row 2 (line 3): 1 field(s) but the header has 2".into())
        );
        let (rows, records) = both(ragged, true);
        assert_eq!(rows, records);
        assert_eq!(records.len(), 2);

        let long_then_short = b"id,note\n1,a much longer cell than the next\n2,b\n3,\n";
        let (rows, records) = both(long_then_short, false);
        assert_eq!(rows, records);
        assert_eq!(records[1], Ok((2, vec!["2".into(), "b".into()])));

        let bad_utf8 = b"id,note\n1,ok\n2,caf\xe9\n";
        let (rows, records) = both(bad_utf8, false);
        assert_eq!(rows, records);
        assert_eq!(
            records[1],
            Err("u.csv: row 2 (line 3): column `note`: invalid UTF-8 at byte 3 of the cell".into())
        );
    }
}
