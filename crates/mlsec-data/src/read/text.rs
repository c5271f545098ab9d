//! Plain text line by line, and the bounded line splitter JSONL shares.

use super::{ReadOptions, Skipped};
use crate::error::Place;
use crate::DataError;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// One line as read: its bytes (without `\n` or `\r\n`), or how long it was when
/// it went over the limit (its bytes are then dropped, not held).
pub(crate) enum RawLine<'a> {
    Bytes(&'a [u8]),
    TooLong(u64),
}

impl<R> LineSplitter<R> {
    pub(crate) fn max(&self) -> usize {
        self.max
    }
}

/// Splits a byte stream into lines without ever holding more than `max` bytes of
/// one line.
pub(crate) struct LineSplitter<R> {
    inner: BufReader<R>,
    buf: Vec<u8>,
    max: usize,
    /// 1-based number of the line last returned.
    pub(crate) line: u64,
}

impl<R: Read> LineSplitter<R> {
    pub(crate) fn new(inner: R, max: usize) -> Self {
        LineSplitter {
            inner: BufReader::with_capacity(64 << 10, inner),
            buf: Vec::new(),
            max,
            line: 0,
        }
    }

    pub(crate) fn next_line(&mut self) -> io::Result<Option<RawLine<'_>>> {
        self.buf.clear();
        let mut len: u64 = 0;
        let mut seen_any = false;
        loop {
            let avail = self.inner.fill_buf()?;
            if avail.is_empty() {
                if !seen_any {
                    return Ok(None);
                }
                break;
            }
            seen_any = true;
            let (chunk, done) = match memchr::memchr(b'\n', avail) {
                Some(i) => (avail.get(..i).unwrap_or_default(), Some(i + 1)),
                None => (avail, None),
            };
            len = len.saturating_add(chunk.len() as u64);
            if len <= self.max as u64 {
                self.buf.extend_from_slice(chunk);
            }
            let used = done.unwrap_or(avail.len());
            self.inner.consume(used);
            if done.is_some() {
                break;
            }
        }
        self.line += 1;
        if len > self.max as u64 {
            return Ok(Some(RawLine::TooLong(len)));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(RawLine::Bytes(&self.buf)))
    }
}

/// One line of a text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextLine {
    /// 1-based line number.
    pub line: u64,
    pub text: String,
}

/// The lines of a text file (or any reader), streamed.
pub struct TextLines<R = File> {
    path: PathBuf,
    lines: LineSplitter<R>,
    skip_bad: bool,
    skipped: Skipped,
    failed: bool,
}

impl TextLines<File> {
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<Self, DataError> {
        let file = File::open(path).map_err(|e| DataError::io(path, &e))?;
        Ok(Self::new(path, file, opts))
    }
}

impl<R: Read> TextLines<R> {
    /// Lines of `inner`; `path` only names it in errors.
    pub fn new(path: &Path, inner: R, opts: &ReadOptions) -> Self {
        TextLines {
            path: path.to_path_buf(),
            lines: LineSplitter::new(inner, opts.max_record_bytes),
            skip_bad: opts.skip_bad_rows,
            skipped: Skipped::default(),
            failed: false,
        }
    }

    pub fn skipped(&self) -> &Skipped {
        &self.skipped
    }
}

impl<R: Read> Iterator for TextLines<R> {
    type Item = Result<TextLine, DataError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let max = self.lines.max();
            let line = self.lines.line + 1;
            let raw = match self.lines.next_line() {
                Ok(Some(raw)) => raw,
                Ok(None) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(DataError::io(&self.path, &e)));
                }
            };
            let err = match raw {
                RawLine::Bytes(bytes) => match std::str::from_utf8(bytes) {
                    Ok(text) => {
                        return Some(Ok(TextLine {
                            line,
                            text: text.to_string(),
                        }))
                    }
                    Err(e) => DataError::new(
                        &self.path,
                        Some(Place::Line(line)),
                        format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
                    ),
                },
                RawLine::TooLong(len) => DataError::new(
                    &self.path,
                    Some(Place::Line(line)),
                    format!("line of {len} bytes is over the limit of {} bytes", max),
                ),
            };
            if self.skip_bad {
                self.skipped.push(err);
                continue;
            }
            self.failed = true;
            return Some(Err(err));
        }
    }
}
