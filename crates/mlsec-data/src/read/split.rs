//! CSV records split out of a byte stream, field for field as csv-core parses
//! them, several times faster on ordinary data. csv-core reads a byte at a
//! time through a state machine; here `memchr` jumps to the next delimiter,
//! line break or closing quote. Only well-formed records take this path: a
//! field with a quote where RFC 4180 puts none (`ab"c`, `"a"b`) or an
//! unterminated quote at the end goes through csv-core itself, so that every
//! record reads exactly as the csv crate would read it (the `data_csv` fuzz
//! target checks this against the csv crate on any bytes).

use csv::ByteRecord;
use csv_core::ReadRecordResult;
use memchr::{memchr, memchr3};
use std::io::{self, Read};

/// Bytes asked of the reader at a time.
const READ_SIZE: usize = 64 << 10;

/// Where the splitter puts a record's fields: a [`ByteRecord`], or the end of
/// a batch of records ([`Appended`]).
pub(super) trait Fields {
    fn push_field(&mut self, field: &[u8]);
    /// Drops the fields pushed so far for this record.
    fn clear(&mut self);
}

impl Fields for ByteRecord {
    fn push_field(&mut self, field: &[u8]) {
        ByteRecord::push_field(self, field)
    }
    fn clear(&mut self) {
        ByteRecord::clear(self)
    }
}

/// A record appended to a batch: its fields go after the bytes already in
/// `bytes`, each field's end into `ends`.
pub(super) struct Appended<'a> {
    pub bytes: &'a mut Vec<u8>,
    pub ends: &'a mut Vec<usize>,
    /// The lengths before this record.
    pub from: (usize, usize),
}

impl Fields for Appended<'_> {
    fn push_field(&mut self, field: &[u8]) {
        self.bytes.extend_from_slice(field);
        self.ends.push(self.bytes.len());
    }
    fn clear(&mut self) {
        self.bytes.truncate(self.from.0);
        self.ends.truncate(self.from.1);
    }
}

/// Why no record could be read.
#[derive(Debug)]
pub(super) enum SplitError {
    Io(io::Error),
    /// The record (so far) is longer than the limit.
    TooLong,
}

/// What the fast path made of the bytes at a record's start.
enum Fast {
    /// A whole record, ending before this position; whether a field was
    /// quoted (only then can a line break be inside it).
    Record(usize, bool),
    /// The record goes on past the bytes read so far.
    More,
    /// Quoting that only csv-core knows how to read.
    Fallback,
}

/// Records of a CSV stream: `delimiter`, `"` quotes with `""` inside quoted
/// fields, records ending at `\n`, `\r\n` or `\r`, blank lines skipped.
pub(super) struct Splitter<R> {
    inner: R,
    /// Bytes read and not yet consumed are `buf[pos..end]`.
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    /// Whether the first read (and its byte-order mark) is done.
    started: bool,
    delimiter: u8,
    max_record: usize,
    /// The line of `buf[pos]`, from 1.
    line: u64,
    /// The line the last record read starts on.
    record_line: u64,
    /// Boxed: its tables are large, and most files never need it.
    core: Box<csv_core::Reader>,
    /// csv-core's output: the fields' bytes, and where each field ends.
    out: Vec<u8>,
    ends: Vec<usize>,
    /// A quoted field with `""` in it, unescaped.
    unescaped: Vec<u8>,
}

/// `core`, made to treat a byte-order mark as data, as the csv crate does
/// past the file's first bytes (the splitter drops the file's own mark
/// itself): csv-core drops one only before its first read, and any call
/// counts as one, even this one, which reads nothing (no room for output).
fn quiet_bom(mut core: csv_core::Reader) -> Box<csv_core::Reader> {
    let _ = core.read_record(b"\n", &mut [], &mut [0]);
    Box::new(core)
}

impl<R: Read> Splitter<R> {
    pub(super) fn new(inner: R, delimiter: u8, max_record: usize) -> Self {
        Splitter {
            inner,
            buf: Vec::new(),
            pos: 0,
            end: 0,
            eof: false,
            started: false,
            delimiter,
            max_record,
            line: 1,
            record_line: 1,
            core: quiet_bom(csv_core::ReaderBuilder::new().delimiter(delimiter).build()),
            out: Vec::new(),
            ends: Vec::new(),
            unescaped: Vec::new(),
        }
    }

    /// The line the last record read starts on (from 1); before the first,
    /// the first line.
    pub(super) fn record_line(&self) -> u64 {
        self.record_line
    }

    /// Reads the next record into `record`; false at the end of the stream.
    pub(super) fn read(&mut self, record: &mut impl Fields) -> Result<bool, SplitError> {
        record.clear();
        if !self.started {
            self.started = true;
            // A UTF-8 byte-order mark is not data (the csv crate drops it too).
            while self.end < 3 && !self.eof {
                self.fill()?;
            }
            if self.pending().starts_with(b"\xef\xbb\xbf") {
                self.pos = 3;
            }
        }
        loop {
            // Blank lines (csv-core skips line breaks where a record would start).
            while let Some(&c @ (b'\n' | b'\r')) = self.pending().first() {
                self.line += u64::from(c == b'\n');
                self.pos += 1;
            }
            if self.pos == self.end {
                if self.eof {
                    return Ok(false);
                }
                self.fill()?;
                continue;
            }
            self.record_line = self.line;
            match self.fast(record) {
                Fast::Record(next, true) => {
                    self.consume(next);
                    return Ok(true);
                }
                // The only line break is the one that ends it, if any.
                Fast::Record(next, false) => {
                    let last = self.buf.get(..next).and_then(<[u8]>::last);
                    self.line += u64::from(last == Some(&b'\n'));
                    self.pos = next;
                    return Ok(true);
                }
                Fast::More => {
                    record.clear();
                    self.fill()?;
                }
                Fast::Fallback => {
                    record.clear();
                    return self.slow(record);
                }
            }
        }
    }

    /// Steps over the record that [`read`](Self::read) refused as too long,
    /// so that reading goes on with the next one; returns the record's length
    /// in bytes (its line break not counted) and whether it ran to the end of
    /// the stream rather than to a line break.
    ///
    /// The record ends where the csv crate would end it: csv-core reads it
    /// from its start, so a line break inside quotes does not end it, and an
    /// unterminated quote runs to the end of the stream. Its fields are
    /// dropped as they are read, so memory stays within the buffer the limit
    /// already allows, however long the record is.
    pub(super) fn skip_record(&mut self) -> Result<(u64, bool), SplitError> {
        // Neither path consumes a record before it is whole, so it starts at
        // `pos` whichever was reading it. A fresh parser (quiet about a
        // byte-order mark, as past the file's start) reads it from there; the
        // one `slow` was using may be inside it.
        self.core = quiet_bom(
            csv_core::ReaderBuilder::new()
                .delimiter(self.delimiter)
                .build(),
        );
        if self.out.is_empty() {
            self.out.resize(1024, 0);
            self.ends.resize(64, 0);
        }
        let mut len = 0u64;
        loop {
            let at_end = self.pos == self.end;
            let (result, nin, _, _) = self.core.read_record(
                self.buf.get(self.pos..self.end).unwrap_or_default(),
                &mut self.out,
                &mut self.ends,
            );
            len += nin as u64;
            self.consume(self.pos + nin);
            match result {
                ReadRecordResult::InputEmpty if !self.eof => self.fill()?,
                // At the end: the next call, with no input, ends the record.
                ReadRecordResult::InputEmpty => {}
                // The fields are not kept: the same buffers take what follows.
                ReadRecordResult::OutputFull | ReadRecordResult::OutputEndsFull => {}
                // Ended by a line break (the last byte read), or by the end.
                ReadRecordResult::Record if !at_end => return Ok((len - 1, false)),
                ReadRecordResult::Record | ReadRecordResult::End => return Ok((len, true)),
            }
        }
    }

    /// The bytes read and not yet consumed.
    fn pending(&self) -> &[u8] {
        // `pos <= end <= buf.len()` always: the fallback is never taken.
        self.buf.get(self.pos..self.end).unwrap_or_default()
    }

    /// Moves past a record that ends before `next`, counting its lines.
    fn consume(&mut self, next: usize) {
        let record = self.buf.get(self.pos..next).unwrap_or_default();
        let newlines = memchr::memchr_iter(b'\n', record).count();
        self.line += newlines as u64;
        self.pos = next;
    }

    /// Reads more: keeps the unconsumed bytes (part of one record) at the
    /// front of the buffer, grown when they fill it, up to the record limit.
    fn fill(&mut self) -> Result<(), SplitError> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end > self.max_record {
            return Err(SplitError::TooLong);
        }
        if self.buf.len() - self.end < READ_SIZE {
            self.buf.resize(self.end + READ_SIZE, 0);
        }
        // Never `None`: the buffer was just grown past `end`.
        let Some(free) = self.buf.get_mut(self.end..) else {
            return Err(SplitError::Io(io::Error::other(
                "read buffer ends before its data",
            )));
        };
        let room = free.len();
        let n = loop {
            match self.inner.read(free) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SplitError::Io(e)),
            }
        };
        // `Read` promises this; holding it keeps `end <= buf.len()`.
        if n > room {
            return Err(SplitError::Io(io::Error::other(format!(
                "read reported {n} bytes into a buffer of {room}"
            ))));
        }
        self.end += n;
        self.eof = n == 0;
        Ok(())
    }

    /// The record at `pos` (not a line break), if its quoting is plain.
    fn fast(&mut self, record: &mut impl Fields) -> Fast {
        // Positions in `b` are those in `buf`; the fallbacks of the `get`s
        // below are never taken (each range was found inside `b`).
        let b = self.buf.get(..self.end).unwrap_or_default();
        let (d, eof) = (self.delimiter, self.eof);
        let mut i = self.pos;
        let mut quoted = false;
        loop {
            // A field starts at `i`.
            let Some(&first) = b.get(i) else {
                // After a delimiter at the very end: one more, empty field.
                if !eof {
                    return Fast::More;
                }
                record.push_field(b"");
                return Fast::Record(i, quoted);
            };
            if first == b'"' {
                quoted = true;
                let mut from = i + 1;
                let mut doubled = false;
                let close = loop {
                    let Some(k) = memchr(b'"', b.get(from..).unwrap_or_default()) else {
                        return if eof { Fast::Fallback } else { Fast::More };
                    };
                    let q = from + k;
                    if b.get(q + 1) == Some(&b'"') {
                        doubled = true;
                        from = q + 2;
                    } else {
                        break q;
                    }
                };
                let field = b.get(i + 1..close).unwrap_or_default();
                if doubled {
                    self.unescaped.clear();
                    let mut rest = field;
                    while let Some(k) = memchr(b'"', rest) {
                        // Each quote inside is the first of a pair.
                        self.unescaped
                            .extend_from_slice(rest.get(..=k).unwrap_or_default());
                        rest = rest.get(k + 2..).unwrap_or_default();
                    }
                    self.unescaped.extend_from_slice(rest);
                }
                let field = if doubled { &self.unescaped[..] } else { field };
                match b.get(close + 1) {
                    None if !eof => return Fast::More,
                    None => {
                        record.push_field(field);
                        return Fast::Record(close + 1, true);
                    }
                    Some(&c) if c == d => {
                        record.push_field(field);
                        i = close + 2;
                    }
                    Some(b'\n' | b'\r') => {
                        record.push_field(field);
                        return Fast::Record(close + 2, true);
                    }
                    Some(_) => return Fast::Fallback,
                }
                continue;
            }
            let rest = b.get(i..).unwrap_or_default();
            let stop = memchr3(d, b'\n', b'\r', rest);
            if stop.is_none() && !eof {
                return Fast::More;
            }
            // The field, and what stops it first (nothing at the end).
            let (field, after) = rest
                .split_at_checked(stop.unwrap_or(rest.len()))
                .unwrap_or((rest, &[]));
            if memchr(b'"', field).is_some() {
                return Fast::Fallback;
            }
            record.push_field(field);
            let s = i + field.len();
            match after.first() {
                Some(&c) if c == d => i = s + 1,
                Some(_) => return Fast::Record(s + 1, quoted),
                None => return Fast::Record(s, quoted),
            }
        }
    }

    /// The record at `pos`, read by csv-core.
    fn slow(&mut self, record: &mut impl Fields) -> Result<bool, SplitError> {
        // Not reset: after a record csv-core is ready for the next one, and a
        // reset parser would take a byte-order mark at this record's start
        // for the file's.
        if self.out.is_empty() {
            self.out.resize(1024, 0);
            self.ends.resize(64, 0);
        }
        let (mut at, mut nout, mut nends) = (self.pos, 0, 0);
        loop {
            // `at <= end`, `nout <= out.len()` and `nends <= ends.len()`:
            // csv-core reports no more than it was given room for.
            let (result, nin, o, e) = self.core.read_record(
                self.buf.get(at..self.end).unwrap_or_default(),
                self.out.get_mut(nout..).unwrap_or_default(),
                self.ends.get_mut(nends..).unwrap_or_default(),
            );
            at += nin;
            nout += o;
            nends += e;
            match result {
                ReadRecordResult::InputEmpty if !self.eof => {
                    let done = at - self.pos;
                    self.fill()?;
                    at = self.pos + done;
                }
                // At the end: the next call, with no input, ends the record.
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let len = self.out.len() * 2;
                    self.out.resize(len, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len() * 2;
                    self.ends.resize(len, 0);
                }
                ReadRecordResult::Record => break,
                ReadRecordResult::End => {
                    self.consume(at);
                    return Ok(false);
                }
            }
            if at - self.pos > self.max_record {
                return Err(SplitError::TooLong);
            }
        }
        let mut start = 0;
        for &end in self.ends.get(..nends).unwrap_or_default() {
            record.push_field(self.out.get(start..end).unwrap_or_default());
            start = end;
        }
        self.consume(at);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records (or the error) as the csv crate reads `data`.
    fn by_csv(data: &[u8], delimiter: u8) -> Vec<Vec<Vec<u8>>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(data);
        let mut record = ByteRecord::new();
        let mut all = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            all.push(record.iter().map(<[u8]>::to_vec).collect());
        }
        all
    }

    /// Records and their lines as the splitter reads `data`, `chunk` bytes
    /// per read so that records straddle reads.
    fn by_splitter(data: &[u8], delimiter: u8, chunk: usize) -> (Vec<Vec<Vec<u8>>>, Vec<u64>) {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut splitter = Splitter::new(Trickle(data, chunk), delimiter, 1 << 20);
        let mut record = ByteRecord::new();
        let (mut all, mut lines) = (Vec::new(), Vec::new());
        while splitter.read(&mut record).unwrap() {
            all.push(record.iter().map(<[u8]>::to_vec).collect());
            lines.push(splitter.record_line());
        }
        (all, lines)
    }

    #[test]
    fn records_read_as_the_csv_crate_reads_them() {
        let cases: &[&[u8]] = &[
            b"a,b\n1,2\n",
            b"a,b\r\n1,2\r\n",
            b"a,b\n\n\n1,2",
            b"a,\"b\"\"c\",d\n",
            b"a,b\"c\"d,e\n",
            b"a,\"b\"c,d\n",
            b"\"a\nb\",c\n",
            b"a,b\r1,2\n",
            b"x\n\r\n\ny",
            b"\"unterminated\n1,2",
            b"\xef\xbb\xbfa,b",
            // A byte-order mark past the file's start is data, even where
            // the record's quoting sends it to csv-core (a fuzz find).
            b"+\n\xef\xbb\xbf\"A\x0c",
            b"\xef\xbb\xbf\xef\xbb\xbf\"a,b",
            b"a,,\n,,\n",
            b"\"\",\"\"\n",
            b" \"a\" ,b\n",
            b"a\n   \nb",
            b"a,",
            b"a,\"\"",
            b"\"a\"\"\"",
            b"\"a\"\"",
            b"\"\"\"\"",
            b"a,\"x\"\r\nb,\"y\"\r",
            b"\",\",\"\n\",\"\"\"\"\n",
            b"id,note\n1,\"a, b\"\n2,\"line\nbreak\"\n3,\"\"\"q\"\" x\"\n",
        ];
        for data in cases {
            let want = by_csv(data, b',');
            for chunk in [1, 2, 3, 7, 1 << 16] {
                let (got, _) = by_splitter(data, b',', chunk);
                assert_eq!(
                    got,
                    want,
                    "{:?} read {chunk} at a time",
                    String::from_utf8_lossy(data)
                );
            }
        }
        let (got, _) = by_splitter(b"a;\"b;c\";d\n", b';', 4);
        assert_eq!(got, [[&b"a"[..], b"b;c", b"d"]]);
    }

    #[test]
    fn lines_are_where_records_start() {
        let data = b"h\r\n1\r\n\r\n\"two\nlines\"\n\n3\n4";
        let (records, lines) = by_splitter(data, b',', 3);
        assert_eq!(records.len(), 5);
        assert_eq!(lines, [1, 2, 4, 7, 8]);
    }

    #[test]
    fn a_record_over_the_limit_is_an_error_not_memory() {
        let mut data = b"a\n\"".to_vec();
        data.extend(std::iter::repeat_n(b'x', 1 << 20));
        let mut splitter = Splitter::new(&data[..], b',', 1000);
        let mut record = ByteRecord::new();
        assert!(splitter.read(&mut record).unwrap());
        assert!(matches!(
            splitter.read(&mut record),
            Err(SplitError::TooLong)
        ));
        assert!(splitter.buf.len() < 200 << 10, "{}", splitter.buf.len());
    }

    /// An over-long record is stepped over in the memory the limit allows,
    /// however long it is, quoted line breaks and all; the next record and
    /// its line come after it.
    #[test]
    fn an_over_long_record_is_stepped_over_in_bounded_memory() {
        // Quoted, with line breaks inside (the fast path went over the
        // limit); and a quote inside an unquoted field, which csv-core reads.
        let cases: [(&[u8], &[u8], u64); 2] = [(b"\"", b"\n\nx\"\r\n", 5), (b"ab\"", b"\r\n", 3)];
        for (head, tail, line) in cases {
            let mut data = b"a\n".to_vec();
            data.extend(head);
            data.extend(std::iter::repeat_n(b'x', 8 << 20));
            data.extend(tail);
            data.extend(b"b,c\n");
            let mut splitter = Splitter::new(&data[..], b',', 1000);
            let mut record = ByteRecord::new();
            assert!(splitter.read(&mut record).unwrap());
            assert!(matches!(
                splitter.read(&mut record),
                Err(SplitError::TooLong)
            ));
            let (len, to_end) = splitter.skip_record().unwrap();
            assert_eq!(len, (head.len() + tail.len() - 2 + (8 << 20)) as u64);
            assert!(!to_end);
            assert!(splitter.buf.len() < 200 << 10, "{}", splitter.buf.len());
            assert!(splitter.read(&mut record).unwrap());
            assert_eq!(record, vec!["b", "c"]);
            assert_eq!(splitter.record_line(), line);
            assert!(!splitter.read(&mut record).unwrap());
        }
    }
}
