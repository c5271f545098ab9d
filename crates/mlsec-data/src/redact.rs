//! `mlsec data redact`: a copy of a data file with detected values replaced, in
//! the same format and schema (CSV: same header and delimiter; JSONL: same keys,
//! written in key order; Parquet: same Arrow schema, Snappy-compressed; text and
//! notebooks: same structure). The output is written to a temporary file beside
//! it and renamed into place, so it is complete or absent; the input is only read.
//!
//! Strategies:
//! - `mask`: the detectors' masked form (`a****@e******.org`).
//! - `hash`: `<EMAIL:3f9a0c2b7d1e4a66>`, the first 8 bytes (hex) of
//!   SHA-256(run key ‖ entity ‖ 0x00 ‖ value), where the run key is 32 random bytes
//!   drawn once per run and never stored: equal values get equal tokens within
//!   one run (joins and counts still work), tokens cannot be linked across runs
//!   or reversed by hashing guesses.
//! - `replace`: the entity name, `<EMAIL>`.
//! - `drop-column`: tables only; every column (top-level key) with a detected
//!   value is removed, the rest is copied unchanged.

use crate::detect::{normalise, Detect, Hit};
use crate::read::parquet::{string_at, ParquetFile};
use crate::read::text::{LineSplitter, RawLine, TextLines};
use crate::read::{ipynb, ReadOptions, Table};
use crate::{DataError, DataFormat, DatasetError, Place};
use arrow_array::{Array, ArrayRef, LargeStringArray, RecordBatch, StringArray, StringViewArray};
use arrow_schema::{DataType, Schema};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Mask,
    Hash,
    Replace,
    DropColumn,
}

/// What was redacted: counts per entity and column (or notebook field; `-` for
/// text lines), and the columns dropped.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RedactReport {
    pub input: String,
    pub output: String,
    pub format: Option<DataFormat>,
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    pub dropped_columns: Vec<String>,
    pub total: u64,
}

/// Replaces detected values in text according to a strategy.
pub struct Redactor<'a> {
    detector: &'a dyn Detect,
    strategy: Strategy,
    key: [u8; 32],
}

impl<'a> Redactor<'a> {
    /// A redactor with a fresh random run key (for `hash`).
    pub fn new(detector: &'a dyn Detect, strategy: Strategy) -> Result<Self, DatasetError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| {
            DatasetError::Environment(format!("no randomness for the hash key: {e}"))
        })?;
        Ok(Redactor {
            detector,
            strategy,
            key,
        })
    }

    fn token(&self, hit: &Hit, value: &str) -> String {
        match self.strategy {
            Strategy::Mask => self.detector.mask(hit.entity, value),
            Strategy::Replace | Strategy::DropColumn => format!("<{}>", hit.entity),
            Strategy::Hash => {
                let mut h = Sha256::new();
                h.update(self.key);
                h.update(hit.entity.as_bytes());
                h.update([0u8]);
                h.update(value.as_bytes());
                let d = h.finalize();
                format!(
                    "<{}:{}>",
                    hit.entity,
                    crate::manifest::hex(d.get(..8).unwrap_or_default())
                )
            }
        }
    }

    /// `text` with its detected values replaced; counts go to `report` under `field`.
    pub fn redact(
        &self,
        field: Option<&str>,
        text: &str,
        report: &mut RedactReport,
    ) -> Option<String> {
        let mut hits = Vec::new();
        self.detector.detect(field, text, &mut hits);
        normalise(text, &mut hits);
        if hits.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for h in &hits {
            out.push_str(text.get(at..h.start).unwrap_or_default());
            out.push_str(&self.token(h, text.get(h.start..h.end).unwrap_or_default()));
            at = h.end;
            *report
                .counts
                .entry(h.entity.to_string())
                .or_default()
                .entry(field.unwrap_or("-").to_string())
                .or_default() += 1;
            report.total += 1;
        }
        out.push_str(text.get(at..).unwrap_or_default());
        Some(out)
    }
}

/// Writes a redacted copy of `input` to `output`.
pub fn redact_file(
    input: &Path,
    output: &Path,
    redactor: &Redactor,
    opts: &ReadOptions,
) -> Result<RedactReport, DatasetError> {
    refuse_overwrite(input, output)?;
    let format = crate::detect(input)?;
    let mut report = RedactReport {
        input: input.display().to_string(),
        output: output.display().to_string(),
        format: Some(format),
        ..Default::default()
    };
    if redactor.strategy == Strategy::DropColumn && !format.is_table() {
        return Err(DatasetError::Usage(format!(
            "{}: drop-column needs a table (CSV, JSONL or Parquet)",
            input.display()
        )));
    }
    let drop: BTreeSet<String> = if redactor.strategy == Strategy::DropColumn {
        let scan = crate::pii::scan_file(input, redactor.detector, opts, 1);
        if let Some(e) = scan.error {
            return Err(e.into());
        }
        scan.counts.into_keys().map(|(column, _)| column).collect()
    } else {
        BTreeSet::new()
    };
    report.dropped_columns = drop.iter().cloned().collect();
    let mut tmp = output_beside(input, output, ".mlsec-redact-")?;
    {
        let sink = std::io::BufWriter::with_capacity(1 << 20, tmp.file_mut());
        let io = Io { input, output };
        match format {
            DataFormat::Csv => redact_csv(io, sink, redactor, opts, &drop, &mut report)?,
            DataFormat::Jsonl => redact_jsonl(io, sink, redactor, opts, &drop, &mut report)?,
            DataFormat::Parquet => redact_parquet(io, sink, redactor, opts, &drop, &mut report)?,
            DataFormat::Text => redact_text(io, sink, redactor, opts, &mut report)?,
            DataFormat::Ipynb => redact_notebook(io, sink, redactor, opts, &mut report)?,
        }
    }
    tmp.commit().map_err(|e| DatasetError::write(output, e))?;
    Ok(report)
}

/// An error when `output` is `input` (a copy must never replace what it copies).
fn refuse_overwrite(input: &Path, output: &Path) -> Result<(), DatasetError> {
    if output
        .canonicalize()
        .ok()
        .is_some_and(|o| input.canonicalize().is_ok_and(|i| i == o))
    {
        return Err(DatasetError::Usage(format!(
            "{}: the output would overwrite the input",
            output.display()
        )));
    }
    Ok(())
}

/// The temporary file a copy of `input` is written to before it is renamed to
/// `output` (refused when `output` is `input`): written as every mlsec output
/// is, atomically, with the mode of the file it replaces or else the umask's.
pub(crate) fn output_beside(
    input: &Path,
    output: &Path,
    prefix: &str,
) -> Result<mlsec_core::output::AtomicFile, DatasetError> {
    refuse_overwrite(input, output)?;
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    mlsec_core::output::AtomicFile::create(output, prefix).map_err(|e| DatasetError::io(dir, &e))
}

/// The file read and the file written, for errors that name the right one.
#[derive(Clone, Copy)]
struct Io<'a> {
    input: &'a Path,
    output: &'a Path,
}

impl Io<'_> {
    fn write(self, e: impl std::fmt::Display) -> DatasetError {
        DatasetError::write(self.output, e)
    }
}

fn redact_csv(
    io: Io,
    sink: impl Write,
    r: &Redactor,
    opts: &ReadOptions,
    drop: &BTreeSet<String>,
    report: &mut RedactReport,
) -> Result<(), DatasetError> {
    let Table::Csv(mut rows) = Table::open(io.input, DataFormat::Csv, opts)? else {
        return Err(DataError::new(io.input, None, "not CSV").into());
    };
    let mut w = csv::WriterBuilder::new()
        .delimiter(rows.delimiter())
        .from_writer(sink);
    let keep: Vec<bool> = rows
        .columns()
        .iter()
        .map(|c| !drop.contains(&**c))
        .collect();
    let header: Vec<&str> = rows
        .columns()
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(c, _)| &**c)
        .collect();
    if !rows.columns().is_empty() {
        w.write_record(&header).map_err(|e| io.write(e))?;
    }
    for row in rows.by_ref() {
        let row = row?;
        let mut out: Vec<String> = Vec::with_capacity(row.cells.len());
        for ((column, cell), keep) in row.cells.iter().zip(&keep) {
            if !keep {
                continue;
            }
            let text = cell.as_str().unwrap_or_default();
            out.push(
                r.redact(Some(column), text, report)
                    .unwrap_or_else(|| text.to_string()),
            );
        }
        w.write_record(&out).map_err(|e| io.write(e))?;
    }
    w.flush().map_err(|e| io.write(e))
}

fn redact_value(r: &Redactor, field: &str, v: &mut Value, report: &mut RedactReport) {
    match v {
        Value::String(s) => {
            if let Some(new) = r.redact(Some(field), s, report) {
                *s = new;
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| redact_value(r, field, v, report)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| redact_value(r, field, v, report)),
        _ => {}
    }
}

fn redact_jsonl(
    io: Io,
    mut sink: impl Write,
    r: &Redactor,
    opts: &ReadOptions,
    drop: &BTreeSet<String>,
    report: &mut RedactReport,
) -> Result<(), DatasetError> {
    let input = io.input;
    let file = std::fs::File::open(input).map_err(|e| DatasetError::io(input, &e))?;
    let mut lines = LineSplitter::new(file, opts.max_record_bytes);
    loop {
        let line = lines.line + 1;
        let at = Some(Place::Line(line));
        let map = match lines.next_line() {
            Err(e) => return Err(DatasetError::io(input, &e)),
            Ok(None) => break,
            Ok(Some(RawLine::TooLong(n))) => {
                let why = format!("line of {n} bytes is over the limit");
                return Err(DataError::new(input, at, why).into());
            }
            Ok(Some(RawLine::Bytes(b))) if b.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(Some(RawLine::Bytes(b))) => {
                match serde_json::from_slice::<serde_json::Map<String, Value>>(b) {
                    Ok(m) => m,
                    Err(e) => {
                        let why = format!("not a JSON object: {e}");
                        return Err(DataError::new(input, at, why).into());
                    }
                }
            }
        };
        let mut map = mlsec_core::json::sorted(map);
        map.retain(|k, _| !drop.contains(k));
        for (key, value) in map.iter_mut() {
            redact_value(r, key, value, report);
        }
        serde_json::to_writer(&mut sink, &map).map_err(|e| io.write(e))?;
        sink.write_all(b"\n").map_err(|e| io.write(e))?;
    }
    sink.flush().map_err(|e| io.write(e))
}

fn redact_text(
    io: Io,
    mut sink: impl Write,
    r: &Redactor,
    opts: &ReadOptions,
    report: &mut RedactReport,
) -> Result<(), DatasetError> {
    for line in TextLines::open(io.input, opts)? {
        let line = line?;
        let text = r.redact(None, &line.text, report).unwrap_or(line.text);
        sink.write_all(text.as_bytes())
            .and_then(|_| sink.write_all(b"\n"))
            .map_err(|e| io.write(e))?;
    }
    sink.flush().map_err(|e| io.write(e))
}

fn redact_notebook(
    io: Io,
    mut sink: impl Write,
    r: &Redactor,
    opts: &ReadOptions,
    report: &mut RedactReport,
) -> Result<(), DatasetError> {
    let mut nb = ipynb::load(io.input, opts)?;
    ipynb::for_each_text(io.input, &mut nb, |_, field, text| {
        if let Some(new) = r.redact(Some(field), text, report) {
            *text = new;
        }
    })?;
    serde_json::to_writer_pretty(&mut sink, &nb).map_err(|e| io.write(e))?;
    sink.write_all(b"\n")
        .and_then(|_| sink.flush())
        .map_err(|e| io.write(e))
}

fn redact_parquet(
    io: Io,
    sink: impl Write + Send,
    r: &Redactor,
    opts: &ReadOptions,
    drop: &BTreeSet<String>,
    report: &mut RedactReport,
) -> Result<(), DatasetError> {
    let input = io.input;
    let file = ParquetFile::open(input, opts)?;
    let source = file.schema().clone();
    let keep: Vec<usize> = (0..source.fields().len())
        .filter(|&i| !drop.contains(source.field(i).name()))
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(
        keep.iter()
            .map(|&i| source.field(i).clone())
            .collect::<Vec<_>>(),
        source.metadata().clone(),
    ));
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(sink, schema.clone(), Some(props))
        .map_err(|e| io.write(e))?;
    for g in 0..file.row_groups() {
        for batch in file.batches(g)? {
            let batch = batch.map_err(|e| DataError::new(input, Some(Place::RowGroup(g)), e))?;
            let mut columns: Vec<ArrayRef> = Vec::with_capacity(keep.len());
            for &i in &keep {
                let name = source.field(i).name();
                columns.push(redact_column(r, name, batch.column(i), report));
            }
            // Same columns, same types, same lengths as the batch read.
            let out = RecordBatch::try_new(schema.clone(), columns)
                .map_err(|e| DatasetError::Internal(e.to_string()))?;
            writer.write(&out).map_err(|e| io.write(e))?;
        }
        writer.flush().map_err(|e| io.write(e))?;
    }
    writer.close().map_err(|e| io.write(e))?;
    Ok(())
}

/// A string column with its values redacted (same type and nulls); other columns as they are.
fn redact_column(
    r: &Redactor,
    name: &str,
    column: &ArrayRef,
    report: &mut RedactReport,
) -> ArrayRef {
    let values: Vec<Option<String>> = match column.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => (0..column.len())
            .map(|i| {
                if column.is_null(i) {
                    return None;
                }
                let s = string_at(column.as_ref(), i).unwrap_or_default();
                Some(
                    r.redact(Some(name), s, report)
                        .unwrap_or_else(|| s.to_string()),
                )
            })
            .collect(),
        _ => return column.clone(),
    };
    match column.data_type() {
        DataType::LargeUtf8 => Arc::new(LargeStringArray::from(values)),
        DataType::Utf8View => Arc::new(StringViewArray::from(values)),
        _ => Arc::new(StringArray::from(values)),
    }
}
