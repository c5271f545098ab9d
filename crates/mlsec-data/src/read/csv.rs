//! CSV with a header row. The delimiter is `\t` for `.tsv`, `|` for `.psv`, else
//! whichever of `,` `;` `\t` `|` is most frequent in the header line (`,` on ties).

use super::split::{Appended, SplitError, Splitter};
use super::{Cell, Filled, ReadOptions, Row, Skipped};
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
        self.reader
            .read(&mut self.record)
            .map_err(|e| self.split_error(e))
    }

    /// What to make of a record the splitter could not read, which starts on
    /// `line`. One over the limit is stepped over and counted under
    /// `skip_bad` (`Ok`), as JSONL and text skip an over-long line: the
    /// splitter finds its end as csv-core would, without holding it, and the
    /// rows after it are read. Any other error, any error without `skip_bad`,
    /// and a record that runs to the end of the file end the file (`Err`).
    ///
    /// A record running to the end is what an unterminated quote makes: the
    /// rest of the file is in it, not one row, so skipping it would report
    /// a whole file's worth of unread data as one skipped row. It fails the
    /// file instead (fail closed), naming its length.
    fn unreadable(&mut self, e: SplitError, line: u64) -> Result<(), DataError> {
        let message = match e {
            SplitError::TooLong if self.skip_bad => match self.reader.skip_record() {
                Ok((len, false)) => {
                    let err = DataError::new(
                        &self.path,
                        self.place(line),
                        format!(
                            "record of {len} bytes is over the limit of {} bytes",
                            self.max_record
                        ),
                    );
                    self.skipped.push(err);
                    return Ok(());
                }
                Ok((len, true)) => format!(
                    "record of {len} bytes, over the limit of {} bytes, runs to the end of the file (an unterminated quote?)",
                    self.max_record
                ),
                Err(e) => self.split_error(e),
            },
            e => self.split_error(e),
        };
        Err(DataError::new(&self.path, self.place(line), message))
    }

    fn split_error(&self, e: SplitError) -> String {
        match e {
            SplitError::TooLong => format!(
                "record over the limit of {} bytes (an unterminated quote?)",
                self.max_record
            ),
            SplitError::Io(e) => e.to_string(),
        }
    }

    fn place(&self, line: u64) -> Option<Place> {
        Some(Place::Row {
            row: self.row,
            line: Some(line),
        })
    }

    /// A record of `fields` cells has the header's width.
    fn check_count(&self, fields: usize, line: u64) -> Result<(), DataError> {
        if fields == self.columns.len() {
            return Ok(());
        }
        Err(DataError::new(
            &self.path,
            self.place(line),
            format!(
                "{fields} field(s) but the header has {}",
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
        self.check_count(self.record.len(), line)?;
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

/// Records read in bulk for `mlsec data pii`, checked against the header and
/// as UTF-8 like the rows: the cells of all the records lie one after another
/// in one string, so that reading them costs no allocation per row and the
/// detectors walk memory in order.
#[derive(Debug, Default)]
pub struct TextBatch {
    text: String,
    /// Cell `i` (of all the records, in order) is `text[ends[i]..ends[i + 1]]`.
    ends: Vec<usize>,
    /// Each record's row number.
    records: Vec<u64>,
    columns: usize,
}

impl TextBatch {
    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The row number (from 1, the header not counted) of record `i`; 0
    /// past the last record.
    pub fn number(&self, i: usize) -> u64 {
        self.records.get(i).copied().unwrap_or_default()
    }

    /// The cells of record `i`, one per column; none past the last record.
    pub fn cells(&self, i: usize) -> impl Iterator<Item = &str> + '_ {
        let ends = self
            .ends
            .get(i * self.columns..=(i + 1) * self.columns)
            .unwrap_or_default();
        // Every cell was checked to be UTF-8 on its own, so its ends are
        // character boundaries.
        ends.iter()
            .zip(ends.iter().skip(1))
            .map(|(&start, &end)| self.text.get(start..end).unwrap_or_default())
    }

    /// Cell `column` of record `i`; empty past the last record or column.
    pub fn cell(&self, i: usize, column: usize) -> &str {
        let at = i * self.columns + column;
        match self.ends.get(at..=at + 1) {
            Some(&[start, end]) => self.text.get(start..end).unwrap_or_default(),
            _ => "",
        }
    }
}

impl<R: Read> CsvRows<R> {
    /// Empties `batch` and reads up to `max` records into it, with the same
    /// checks, errors and skipping as the rows.
    pub fn fill(&mut self, batch: &mut TextBatch, max: usize) -> Filled {
        let mut bytes = std::mem::take(&mut batch.text).into_bytes();
        bytes.clear();
        batch.ends.clear();
        batch.ends.push(0);
        batch.records.clear();
        batch.columns = self.columns.len();
        let mut outcome = Filled::More;
        while batch.records.len() < max {
            if self.done {
                outcome = Filled::End;
                break;
            }
            self.row += 1;
            let from = (bytes.len(), batch.ends.len());
            let mut record = Appended {
                bytes: &mut bytes,
                ends: &mut batch.ends,
                from,
            };
            let read = self.reader.read(&mut record);
            let line = self.reader.record_line();
            let checked = match read {
                // What this record appended: the bytes past `from.0` (where
                // the cells before it end), the ends past `from.1`.
                Ok(true) => self.check_appended(
                    bytes.get(from.0..).unwrap_or_default(),
                    from.0,
                    batch.ends.get(from.1..).unwrap_or_default(),
                    line,
                ),
                Ok(false) => {
                    self.done = true;
                    outcome = Filled::End;
                    break;
                }
                Err(e) => match self.unreadable(e, line) {
                    Ok(()) => {
                        bytes.truncate(from.0);
                        batch.ends.truncate(from.1);
                        continue;
                    }
                    Err(e) => {
                        self.done = true;
                        Err(e)
                    }
                },
            };
            match checked {
                Ok(()) => batch.records.push(self.row),
                Err(e) => {
                    bytes.truncate(from.0);
                    batch.ends.truncate(from.1);
                    if self.skip_bad && !self.done {
                        self.skipped.push(e);
                    } else {
                        self.done = true;
                        outcome = Filled::Failed(e);
                        break;
                    }
                }
            }
        }
        // Each record is valid on its own, so the whole is: this only turns
        // the bytes into a string without copying them.
        batch.text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                batch.ends.truncate(1);
                batch.records.clear();
                self.done = true;
                return Filled::Failed(DataError::new(
                    &self.path,
                    None,
                    format!("invalid UTF-8 in a checked batch: {e}"),
                ));
            }
        };
        outcome
    }

    /// The checks of a row on a record appended to a batch: `fields` holds
    /// its cells one after another, the `n`th ending at `ends[n]` less `base`
    /// (where the batch's bytes before `fields` end).
    fn check_appended(
        &self,
        fields: &[u8],
        base: usize,
        ends: &[usize],
        line: u64,
    ) -> Result<(), DataError> {
        self.check_count(ends.len(), line)?;
        // Each cell must be UTF-8 on its own (as the csv crate checks). The
        // whole record is, with no cell starting inside a character, exactly
        // when each cell is; the cells are looked at one by one only to say
        // where one is not.
        let starts_char = |&end: &usize| fields.get(end - base).is_none_or(|&b| (b as i8) >= -0x40);
        if fields.is_ascii() || std::str::from_utf8(fields).is_ok() && ends.iter().all(starts_char)
        {
            return Ok(());
        }
        let mut start = 0;
        for (i, &end) in ends.iter().enumerate() {
            let cell = fields.get(start..end - base).unwrap_or_default();
            if let Err(e) = std::str::from_utf8(cell) {
                return Err(self.invalid_utf8(line, i, e.valid_up_to()));
            }
            start = end - base;
        }
        Ok(())
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<Row, DataError>;
    /// The next row; malformed rows are skipped or end the rows.
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            self.row += 1;
            let read = self.reader.read(&mut self.record);
            let line = self.reader.record_line();
            match read {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Err(e) => match self.unreadable(e, line) {
                    Ok(()) => continue,
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                },
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A row number and its cells, or the error.
    type Read = Vec<Result<(u64, Vec<String>), String>>;

    /// The rows and the records read in batches from `data`.
    fn both(data: &[u8], skip_bad_rows: bool) -> (Read, Read) {
        let opts = ReadOptions {
            skip_bad_rows,
            ..ReadOptions::default()
        };
        both_with(data, &opts).0
    }

    /// [`both`] under `opts`, with the rows skipped (as the rows and as the
    /// batches counted them).
    fn both_with(data: &[u8], opts: &ReadOptions) -> ((Read, Read), [Vec<String>; 2]) {
        let path = Path::new("u.csv");
        let mut reader = CsvRows::new(path, data, b',', opts).unwrap();
        let rows = reader
            .by_ref()
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
        let skipped_rows = reader
            .skipped()
            .first
            .iter()
            .map(|e| e.to_string())
            .collect();
        let mut reader = CsvRows::new(path, data, b',', opts).unwrap();
        let mut records = Vec::new();
        // Two records a batch, so that records straddle batches; the batch
        // is read into again each time.
        let mut batch = TextBatch::default();
        loop {
            let filled = reader.fill(&mut batch, 2);
            for i in 0..batch.len() {
                let cells = batch.cells(i).map(str::to_string).collect::<Vec<_>>();
                let by_column = (0..cells.len()).map(|c| batch.cell(i, c).to_string());
                assert!(by_column.eq(cells.iter().cloned()));
                records.push(Ok((batch.number(i), cells)));
            }
            match filled {
                Filled::More => {}
                Filled::End => break,
                Filled::Failed(e) => {
                    records.push(Err(e.to_string()));
                    break;
                }
            }
        }
        let skipped_records = reader
            .skipped()
            .first
            .iter()
            .map(|e| e.to_string())
            .collect();
        ((rows, records), [skipped_rows, skipped_records])
    }

    #[test]
    fn batches_match_rows_cell_for_cell_and_error_for_error() {
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

        // Two cells that are one character only when glued together.
        let split_char = b"a,b,c\n1,\xc3,\xa9\n2,Zo\xc3\xab,x\n";
        let (rows, records) = both(split_char, false);
        assert_eq!(rows, records);
        assert_eq!(
            records,
            [Err(
                "u.csv: row 1 (line 2): column `b`: invalid UTF-8 at byte 0 of the cell".into()
            )]
        );
        let (rows, records) = both(split_char, true);
        assert_eq!(rows, records);
        assert_eq!(
            records,
            [Ok((2, vec!["2".into(), "Zoë".into(), "x".into()]))]
        );
    }

    /// Errors name the line a record starts on, counting line breaks inside
    /// quotes, CRLF and blank lines.
    #[test]
    fn batch_errors_name_the_right_line() {
        let data = b"id,note\r\n1,\"two\nlines\"\r\n\r\n2,plain\n3\n";
        let (rows, records) = both(data, false);
        assert_eq!(rows, records);
        assert_eq!(
            records[2],
            Err("u.csv: row 3 (line 6): 1 field(s) but the header has 2".into())
        );
    }

    /// A record over the limit is skipped under `skip_bad_rows` like any
    /// malformed row, wherever it ends: the reader steps over it as csv-core
    /// reads it (quoted line breaks included) without holding it, and the
    /// rows after it keep their numbers and lines. Without `skip_bad_rows` it
    /// still ends the file, and so does one that runs to the end of the file
    /// (an unterminated quote), which is the rest of the file, not a row.
    #[test]
    fn an_over_long_record_is_skipped_and_the_rows_after_it_are_read() {
        // Longer than one read, so that the limit is reached before the end.
        let long = "x".repeat(200_000);
        let ok = |n: u64, note: &str| Ok((n, vec![n.to_string(), note.to_string()]));
        let cases: Vec<(String, Read)> = vec![
            // Plain (the fast path), quoted with line breaks inside, and
            // quoting only csv-core reads (the slow path).
            (
                format!("id,note\n1,a\n2,{long}\n3,c\n"),
                vec![ok(1, "a"), ok(3, "c")],
            ),
            (
                format!("id,note\n1,a\n2,\"{long}\n{long}\n\"\n\n3,c\n4,d"),
                vec![ok(1, "a"), ok(3, "c"), ok(4, "d")],
            ),
            (
                format!("id,note\r\n1,a\r\n2,ab\"c{long}\r\n3,c\r\n"),
                vec![ok(1, "a"), ok(3, "c")],
            ),
        ];
        let mut opts = ReadOptions {
            max_record_bytes: 1000,
            ..ReadOptions::default()
        };
        for (data, want) in cases {
            opts.skip_bad_rows = false;
            let ((rows, records), _) = both_with(data.as_bytes(), &opts);
            assert_eq!(rows, records);
            assert_eq!(
                rows.last().unwrap(),
                &Err("u.csv: row 2 (line 3): record over the limit of 1000 bytes (an unterminated quote?)".into())
            );
            opts.skip_bad_rows = true;
            let ((rows, records), skipped) = both_with(data.as_bytes(), &opts);
            assert_eq!(rows, want, "{:?}", &data[..24]);
            assert_eq!(records, want);
            for s in skipped {
                assert_eq!(s.len(), 1);
                assert!(
                    s[0].starts_with("u.csv: row 2 (line 3): record of "),
                    "{s:?}"
                );
                assert!(
                    s[0].ends_with(" bytes is over the limit of 1000 bytes"),
                    "{s:?}"
                );
            }
        }
        // An unterminated quote takes the rest of the file: an error, with
        // the length it ran to, not a skipped row.
        let data = format!("id,note\n1,a\n2,\"{long}\n3,c\n");
        let ((rows, records), skipped) = both_with(data.as_bytes(), &opts);
        assert_eq!(rows, records);
        assert_eq!(
            rows,
            [
                ok(1, "a"),
                Err(format!(
                    "u.csv: row 2 (line 3): record of {} bytes, over the limit of 1000 bytes, runs to the end of the file (an unterminated quote?)",
                    long.len() + 8
                ))
            ]
        );
        assert_eq!(skipped, [Vec::<String>::new(), Vec::new()]);
        // The rows after it name their lines, counting the lines inside it.
        let data = format!("id,note\n1,\"{long}\n\n{long}\"\n2\n3,c\n");
        let opts = ReadOptions {
            max_record_bytes: 1000,
            skip_bad_rows: true,
            ..ReadOptions::default()
        };
        let ((rows, records), skipped) = both_with(data.as_bytes(), &opts);
        assert_eq!(rows, records);
        assert_eq!(rows, [ok(3, "c")]);
        for s in skipped {
            assert_eq!(
                s,
                [
                    format!(
                        "u.csv: row 1 (line 2): record of {} bytes is over the limit of 1000 bytes",
                        2 * long.len() + 6
                    ),
                    "u.csv: row 2 (line 5): 1 field(s) but the header has 2".to_string()
                ]
            );
        }
    }
}
