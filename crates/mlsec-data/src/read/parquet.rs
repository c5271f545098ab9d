//! Parquet through the Arrow reader, one row group (and within it one batch of
//! rows) at a time, so row groups can be read in parallel and memory stays bounded
//! by the batch size.

use super::footer::{self, Input};
use super::{Cell, ReadOptions, Row};
use crate::error::Place;
use crate::DataError;
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::basic::Compression;
use parquet::file::metadata::ParquetMetaData;
use std::fmt::Display;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per Arrow batch read.
pub const BATCH_ROWS: usize = 8192;

/// An open Parquet file: its footer (schema and row groups) parsed and checked.
#[derive(Clone)]
pub struct ParquetFile {
    path: PathBuf,
    metadata: ArrowReaderMetadata,
    columns: Vec<Arc<str>>,
}

impl ParquetFile {
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<Self, DataError> {
        let file = File::open(path).map_err(|e| DataError::io(path, &e))?;
        let size = file.metadata().map_err(|e| DataError::io(path, &e))?.len();
        check_footer(path, &file, size)?;
        let metadata = no_panic(|| ArrowReaderMetadata::load(&file, reader_options()))
            .map_err(|e| not_readable(path, e))?
            .map_err(|e| not_readable(path, e))?;
        check_pages(path, metadata.metadata(), size, opts, |start, len| {
            let mut f = &file;
            f.seek(SeekFrom::Start(start))
                .map_err(|e| DataError::io(path, &e))?;
            Ok(FileChunk {
                reader: BufReader::with_capacity(4096, f),
                left: len,
            })
        })?;
        let columns = metadata
            .schema()
            .fields()
            .iter()
            .map(|f| Arc::from(f.name().as_str()))
            .collect();
        Ok(ParquetFile {
            path: path.to_path_buf(),
            metadata,
            columns,
        })
    }

    pub fn columns(&self) -> &[Arc<str>] {
        &self.columns
    }

    pub fn schema(&self) -> &SchemaRef {
        self.metadata.schema()
    }

    pub fn row_groups(&self) -> usize {
        self.metadata.metadata().num_row_groups()
    }

    /// The 1-based number of the first row of row group `group`.
    pub fn first_row(&self, group: usize) -> u64 {
        let before: i64 = self
            .metadata
            .metadata()
            .row_groups()
            .iter()
            .take(group)
            .map(|g| g.num_rows().max(0))
            .fold(0i64, i64::saturating_add);
        before as u64 + 1
    }

    fn reader(&self, groups: Option<Vec<usize>>) -> Result<Batches, DataError> {
        let file = File::open(&self.path).map_err(|e| DataError::io(&self.path, &e))?;
        let mut builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.metadata.clone())
                .with_batch_size(BATCH_ROWS);
        if let Some(groups) = groups {
            builder = builder.with_row_groups(groups);
        }
        builder
            .build()
            .map(Batches::new)
            .map_err(|e| DataError::new(&self.path, None, e.to_string()))
    }

    /// Calls `each` with the rows of row group `group`, one batch at a time.
    pub fn read_group(
        &self,
        group: usize,
        mut each: impl FnMut(Vec<Row>) -> Result<(), DataError>,
    ) -> Result<(), DataError> {
        let mut next = self.first_row(group);
        for batch in self.reader(Some(vec![group]))? {
            let batch = batch.map_err(|e| {
                DataError::new(&self.path, Some(Place::RowGroup(group)), e.to_string())
            })?;
            let rows = batch_rows(&self.path, &self.columns, &batch, next)?;
            next = next.saturating_add(batch.num_rows() as u64);
            each(rows)?;
        }
        Ok(())
    }

    /// The raw Arrow batches of row group `group` (for writers that keep the schema).
    pub fn batches(&self, group: usize) -> Result<Batches, DataError> {
        self.reader(Some(vec![group]))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Converts one Arrow batch into rows numbered from `first`.
pub fn batch_rows(
    path: &Path,
    names: &[Arc<str>],
    batch: &RecordBatch,
    first: u64,
) -> Result<Vec<Row>, DataError> {
    let mut rows: Vec<Row> = (0..batch.num_rows() as u64)
        .map(|i| Row {
            number: first + i,
            line: None,
            cells: Vec::with_capacity(names.len()),
        })
        .collect();
    let options = FormatOptions::default();
    for (name, column) in names.iter().zip(batch.columns()) {
        let column = column.as_ref();
        let formatter = ArrayFormatter::try_new(column, &options)
            .map_err(|e| DataError::new(path, None, format!("column `{name}`: {e}")))?;
        for (i, row) in rows.iter_mut().enumerate() {
            let cell = if column.is_null(i) {
                Cell::Null
            } else if let Some(s) = string_at(column, i) {
                Cell::Text(s.to_string())
            } else {
                Cell::Other(formatter.value(i).to_string())
            };
            row.cells.push((name.clone(), cell));
        }
    }
    Ok(rows)
}

/// The string at `i` when `column` is a string column.
pub(crate) fn string_at(column: &dyn Array, i: usize) -> Option<&str> {
    if let Some(a) = column.as_string_opt::<i32>() {
        return Some(a.value(i));
    }
    if let Some(a) = column.as_string_opt::<i64>() {
        return Some(a.value(i));
    }
    column.as_string_view_opt().map(|a| a.value(i))
}

/// All rows of a Parquet file in order, one batch buffered at a time.
pub struct ParquetRows {
    file: ParquetFile,
    reader: Option<Batches>,
    pending: std::vec::IntoIter<Row>,
    next_row: u64,
    done: bool,
}

impl ParquetRows {
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<Self, DataError> {
        Ok(Self::new(ParquetFile::open(path, opts)?))
    }

    pub fn new(file: ParquetFile) -> Self {
        ParquetRows {
            file,
            reader: None,
            pending: Vec::new().into_iter(),
            next_row: 1,
            done: false,
        }
    }

    pub fn file(&self) -> &ParquetFile {
        &self.file
    }
}

impl Iterator for ParquetRows {
    type Item = Result<Row, DataError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(row) = self.pending.next() {
                return Some(Ok(row));
            }
            if self.done {
                return None;
            }
            if self.reader.is_none() {
                match self.file.reader(None) {
                    Ok(r) => self.reader = Some(r),
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
            let batch = match self.reader.as_mut().and_then(Iterator::next) {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(e)) => {
                    self.done = true;
                    let place = Some(Place::Row {
                        row: self.next_row,
                        line: None,
                    });
                    return Some(Err(DataError::new(&self.file.path, place, e.to_string())));
                }
                Some(Ok(batch)) => batch,
            };
            match batch_rows(&self.file.path, &self.file.columns, &batch, self.next_row) {
                Ok(rows) => {
                    self.next_row = self.next_row.saturating_add(batch.num_rows() as u64);
                    self.pending = rows.into_iter();
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Reads every row of a Parquet file held in memory and returns the row count;
/// `name` only names it in errors. For fuzzing and small in-memory files.
pub fn read_bytes(name: &Path, data: bytes::Bytes, opts: &ReadOptions) -> Result<u64, DataError> {
    footer::check(&data).map_err(|e| not_readable(name, e))?;
    let builder = no_panic(|| {
        ParquetRecordBatchReaderBuilder::try_new_with_options(data.clone(), reader_options())
    })
    .map_err(|e| not_readable(name, e))?
    .map_err(|e| not_readable(name, e))?
    .with_batch_size(BATCH_ROWS);
    check_pages(
        name,
        builder.metadata(),
        data.len() as u64,
        opts,
        |start, len| {
            let range = usize::try_from(start)
                .ok()
                .zip(usize::try_from(start + len).ok());
            Ok(range.and_then(|(s, e)| data.get(s..e)).unwrap_or_default())
        },
    )?;
    let columns: Vec<Arc<str>> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| Arc::from(f.name().as_str()))
        .collect();
    let reader = builder
        .build()
        .map(Batches::new)
        .map_err(|e| DataError::new(name, None, e.to_string()))?;
    let mut next = 1u64;
    for batch in reader {
        let batch = batch.map_err(|e| DataError::new(name, None, e.to_string()))?;
        batch_rows(name, &columns, &batch, next)?;
        next = next.saturating_add(batch.num_rows() as u64);
    }
    Ok(next - 1)
}

/// The record batches of a Parquet reader, with a panic inside the parquet
/// crate turned into an error that ends the batches. Fuzzing found hostile
/// pages that make it panic (a dictionary index out of bounds in its RLE
/// decoder); a bad file must fail on its own, not take the process down.
pub struct Batches {
    inner: ParquetRecordBatchReader,
    failed: bool,
}

impl Batches {
    fn new(inner: ParquetRecordBatchReader) -> Batches {
        Batches {
            inner,
            failed: false,
        }
    }
}

impl Iterator for Batches {
    type Item = Result<RecordBatch, String>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let inner = &mut self.inner;
        match no_panic(|| inner.next()) {
            Ok(batch) => batch.map(|b| b.map_err(|e| e.to_string())),
            Err(why) => {
                self.failed = true;
                Some(Err(why))
            }
        }
    }
}

/// Runs `f`, turning a panic in the parquet or Arrow crates into an error.
fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("the Parquet decoder failed on this file: {why}")
    })
}

/// The schema comes from the Parquet schema alone: the Arrow schema some
/// writers embed is an untrusted flatbuffer, and arrow-ipc panics on types it
/// does not know (found by fuzzing).
fn reader_options() -> ArrowReaderOptions {
    ArrowReaderOptions::new().with_skip_arrow_metadata(true)
}

fn not_readable(path: &Path, why: impl Display) -> DataError {
    DataError::new(path, None, format!("not a readable Parquet file: {why}"))
}

/// Largest Parquet footer read (schema and row-group metadata).
const MAX_FOOTER_BYTES: u64 = 64 << 20;

/// Largest page the reader may decompress: the parquet crate reserves a page's
/// declared uncompressed size before decompressing it.
const MAX_PAGE_BYTES: i32 = 256 << 20;

/// Reads the footer of `file` (`size` bytes) and checks it (see `footer.rs`)
/// before the parquet crate decodes it.
fn check_footer(path: &Path, file: &File, size: u64) -> Result<(), DataError> {
    let bad = |m: String| not_readable(path, m);
    let mut f = file;
    let mut tail = [0u8; 8];
    if size < 12 {
        return Err(bad("no Parquet footer (file truncated?)".into()));
    }
    f.seek(SeekFrom::Start(size - 8))
        .and_then(|_| f.read_exact(&mut tail))
        .map_err(|e| DataError::io(path, &e))?;
    let len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if len > MAX_FOOTER_BYTES || len > size - 8 {
        return Err(bad(format!(
            "footer of {len} bytes is over the limit or larger than the file"
        )));
    }
    let mut footer = vec![0u8; len as usize + 8];
    f.seek(SeekFrom::Start(size - 8 - len))
        .and_then(|_| f.read_exact(&mut footer))
        .map_err(|e| DataError::io(path, &e))?;
    f.seek(SeekFrom::Start(0))
        .map_err(|e| DataError::io(path, &e))?;
    // `check` wants the footer followed by its length and magic, as at the file's end.
    let mut whole = vec![b'P', b'A', b'R', b'1'];
    whole.append(&mut footer);
    footer::check(&whole).map_err(bad)
}

/// Walks the page headers of every column chunk (see `footer.rs`) before the
/// parquet crate reads them: it reserves a page's declared uncompressed size to
/// decompress it, and reads a page's declared compressed size from a file into
/// memory, trusting both. `open(start, len)` gives the `len` bytes of a file of
/// `size` bytes from `start` on.
fn check_pages<I: Input>(
    path: &Path,
    meta: &ParquetMetaData,
    size: u64,
    opts: &ReadOptions,
    mut open: impl FnMut(u64, u64) -> Result<I, DataError>,
) -> Result<(), DataError> {
    let ratio = opts.max_compression_ratio;
    let mut rows = 0i64;
    for (g, group) in meta.row_groups().iter().enumerate() {
        let n = group.num_rows();
        rows = rows
            .checked_add(n)
            .filter(|_| n >= 0)
            .ok_or_else(|| not_readable(path, format!("row group {g} declares {n} rows")))?;
        for column in group.columns() {
            let bad = |m: String| {
                let name = column.column_path().string();
                not_readable(path, format!("row group {g}, column `{name}`: {m}"))
            };
            let start = column
                .dictionary_page_offset()
                .unwrap_or(column.data_page_offset());
            let len = column.compressed_size();
            let end = u64::try_from(start)
                .ok()
                .zip(u64::try_from(len).ok())
                .and_then(|(s, l)| s.checked_add(l))
                .filter(|&end| end <= size)
                .ok_or_else(|| {
                    bad(format!(
                        "column chunk of {len} bytes at offset {start} lies outside the file ({size} bytes)"
                    ))
                })?;
            let mut pos = start as u64;
            while pos < end {
                let page = footer::page_header(open(pos, end - pos)?)
                    .map_err(|e| bad(format!("{e} (offset {pos})")))?;
                let (Some(compressed), Some(uncompressed)) = (page.compressed, page.uncompressed)
                else {
                    return Err(bad(format!("page header at offset {pos} lacks its sizes")));
                };
                let body = pos + page.len;
                let next = u64::try_from(compressed)
                    .ok()
                    .map(|c| body + c)
                    .filter(|&next| next <= end)
                    .ok_or_else(|| {
                        bad(format!(
                            "page at offset {pos} declares {compressed} compressed bytes, past the end of its column chunk"
                        ))
                    })?;
                if !(0..=MAX_PAGE_BYTES).contains(&uncompressed) {
                    return Err(bad(format!(
                        "page at offset {pos} declares {uncompressed} uncompressed bytes (limit {MAX_PAGE_BYTES})"
                    )));
                }
                let most = (next - body).max(1).saturating_mul(ratio);
                if column.compression() != Compression::UNCOMPRESSED && uncompressed as u64 > most {
                    return Err(bad(format!(
                        "page at offset {pos} declares {uncompressed} uncompressed bytes from {compressed} compressed (over {ratio} times)"
                    )));
                }
                pos = next;
            }
        }
    }
    Ok(())
}

/// The bytes of a column chunk in a file, read through a small buffer.
struct FileChunk<'a> {
    reader: BufReader<&'a File>,
    left: u64,
}

impl Input for FileChunk<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let mut b = [0u8];
        if self.left == 0 {
            return Err("ends inside a value".into());
        }
        self.reader.read_exact(&mut b).map_err(|e| e.to_string())?;
        self.left -= 1;
        Ok(b[0])
    }

    fn skip(&mut self, n: u64) -> Result<(), String> {
        let step = i64::try_from(n).map_err(|e| e.to_string())?;
        self.reader.seek_relative(step).map_err(|e| e.to_string())?;
        self.left = self.left.saturating_sub(n);
        Ok(())
    }

    fn left(&self) -> u64 {
        self.left
    }
}
