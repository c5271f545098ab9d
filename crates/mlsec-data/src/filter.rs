//! A copy of a table without some of its rows (`mlsec data issues
//! --write-clean`): same format, header, delimiter and schema; JSONL lines and
//! Parquet values are copied as they are. Rows are numbered as the readers
//! number data rows (1 is the first row after a CSV header; blank JSONL lines
//! do not count). The copy is written to a temporary file beside the output
//! and renamed into place, so it is complete or absent.

use crate::read::parquet::ParquetFile;
use crate::read::text::{LineSplitter, RawLine};
use crate::read::{ReadOptions, Table};
use crate::{DataError, DataFormat, DatasetError, Place};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

/// Writes `input` without the data rows in `drop` (1-based) to `output`;
/// returns the rows written. The input is only read; an output that is the
/// input is refused.
pub fn write_without_rows(
    input: &Path,
    output: &Path,
    drop: &BTreeSet<u64>,
    opts: &ReadOptions,
) -> Result<u64, DatasetError> {
    let format = crate::detect(input)?;
    let mut tmp = crate::redact::output_beside(input, output, ".mlsec-clean-")?;
    let written = {
        let sink = std::io::BufWriter::with_capacity(1 << 20, tmp.file_mut());
        let write = |e: &dyn std::fmt::Display| DatasetError::write(output, e);
        match format {
            DataFormat::Csv => csv_rows(input, sink, drop, opts, &write)?,
            DataFormat::Jsonl => jsonl_rows(input, sink, drop, opts, &write)?,
            DataFormat::Parquet => parquet_rows(input, sink, drop, opts, &write)?,
            DataFormat::Text | DataFormat::Ipynb => {
                return Err(DatasetError::Usage(format!(
                    "{}: not a table (CSV, JSONL or Parquet)",
                    input.display()
                )))
            }
        }
    };
    tmp.commit().map_err(|e| DatasetError::write(output, e))?;
    Ok(written)
}

type WriteError<'a> = dyn Fn(&dyn std::fmt::Display) -> DatasetError + 'a;

fn csv_rows(
    input: &Path,
    sink: impl Write,
    drop: &BTreeSet<u64>,
    opts: &ReadOptions,
    write: &WriteError,
) -> Result<u64, DatasetError> {
    let Table::Csv(mut rows) = Table::open(input, DataFormat::Csv, opts)? else {
        return Err(DataError::new(input, None, "not CSV").into());
    };
    let mut w = csv::WriterBuilder::new()
        .delimiter(rows.delimiter())
        .from_writer(sink);
    let header: Vec<String> = rows.columns().iter().map(|c| c.to_string()).collect();
    if !header.is_empty() {
        w.write_record(&header).map_err(|e| write(&e))?;
    }
    let mut written = 0;
    for (n, row) in (1u64..).zip(rows.by_ref()) {
        let row = row?;
        if drop.contains(&n) {
            continue;
        }
        let cells = row
            .cells
            .iter()
            .map(|(_, c)| c.as_str().unwrap_or_default());
        w.write_record(cells).map_err(|e| write(&e))?;
        written += 1;
    }
    w.flush().map_err(|e| write(&e))?;
    Ok(written)
}

fn jsonl_rows(
    input: &Path,
    mut sink: impl Write,
    drop: &BTreeSet<u64>,
    opts: &ReadOptions,
    write: &WriteError,
) -> Result<u64, DatasetError> {
    let file = std::fs::File::open(input).map_err(|e| DatasetError::io(input, &e))?;
    let mut lines = LineSplitter::new(file, opts.max_record_bytes);
    let (mut n, mut written) = (0u64, 0u64);
    loop {
        let line = lines.line + 1;
        match lines.next_line() {
            Err(e) => return Err(DatasetError::io(input, &e)),
            Ok(None) => break,
            Ok(Some(RawLine::TooLong(len))) => {
                let why = format!("line of {len} bytes is over the limit");
                return Err(DataError::new(input, Some(Place::Line(line)), why).into());
            }
            Ok(Some(RawLine::Bytes(b))) if b.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(Some(RawLine::Bytes(b))) => {
                n += 1;
                if drop.contains(&n) {
                    continue;
                }
                sink.write_all(b)
                    .and_then(|_| sink.write_all(b"\n"))
                    .map_err(|e| write(&e))?;
                written += 1;
            }
        }
    }
    sink.flush().map_err(|e| write(&e))?;
    Ok(written)
}

fn parquet_rows(
    input: &Path,
    sink: impl Write + Send,
    drop: &BTreeSet<u64>,
    opts: &ReadOptions,
    write: &WriteError,
) -> Result<u64, DatasetError> {
    let file = ParquetFile::open(input, opts)?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(sink, file.schema().clone(), Some(props))
        .map_err(|e| write(&e))?;
    let mut next = 1u64; // the 1-based number of the batch's first row
    let mut written = 0u64;
    for g in 0..file.row_groups() {
        for batch in file.batches(g)? {
            let batch = batch.map_err(|e| DataError::new(input, Some(Place::RowGroup(g)), e))?;
            // Runs of kept rows, written as slices of the batch.
            let len = batch.num_rows();
            let mut start = 0;
            while start < len {
                while start < len && drop.contains(&(next + start as u64)) {
                    start += 1;
                }
                let mut end = start;
                while end < len && !drop.contains(&(next + end as u64)) {
                    end += 1;
                }
                if end > start {
                    writer
                        .write(&batch.slice(start, end - start))
                        .map_err(|e| write(&e))?;
                    written += (end - start) as u64;
                }
                start = end;
            }
            next += len as u64;
        }
        writer.flush().map_err(|e| write(&e))?;
    }
    writer.close().map_err(|e| write(&e))?;
    Ok(written)
}
