//! A table read into columns: for each column, its numbers (when every value
//! is one) and the counts of its distinct values (up to a cap), so that drift
//! can test numeric and categorical columns alike.
//!
//! CSV is read in bulk records, JSONL row by row, and Parquet straight from its
//! Arrow batches, numeric columns without formatting them as text.

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use mlsec_data::read::csv::{CsvRows, TextBatch};
use mlsec_data::read::parquet::ParquetFile;
use mlsec_data::read::{jsonl::JsonlRows, Filled};
use mlsec_data::{Cell, DataError, DataFormat, ReadOptions};
use mlsec_stats::sketch::{FrequencyTable, KllSketch, Moments};
use std::collections::HashMap;
use std::path::Path;

/// Distinct values counted per column before it counts as high-cardinality
/// (an identifier, a timestamp as text, free text): such a column cannot be
/// compared category by category.
pub const MAX_CATEGORIES: usize = 10_000;

/// Longest category value kept, in bytes (longer ones are cut on a character
/// boundary, so a column of long texts cannot fill memory).
pub const MAX_CATEGORY_BYTES: usize = 256;

/// Most columns a table may have here: each column's summaries take up to
/// about 60 KB (a quantile sketch and a table of 1,000 values), so a wider
/// table could exhaust memory from a small file.
pub const MAX_COLUMNS: usize = 10_000;

/// Values CSV readers take for missing (pandas' defaults), so that a column of
/// numbers with `NA` in it is still numeric.
const CSV_MISSING: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// One column, read to the end.
#[derive(Debug, Clone, Default)]
pub struct Column {
    pub name: String,
    /// Rows of the table (missing values included).
    pub rows: u64,
    /// Null, empty or a missing marker.
    pub missing: u64,
    /// Finite numbers.
    pub finite: u64,
    /// Values that parse as numbers but are not finite (`inf`).
    pub non_finite: u64,
    /// Values that are not numbers, and the first of them (row, value).
    pub non_numeric: u64,
    pub first_non_numeric: Option<(u64, String)>,
    /// The file's schema says the column holds numbers (Parquet).
    pub typed_numeric: bool,
    /// The column holds values that cannot be compared (Parquet lists, structs,
    /// binary): the type, as the schema names it.
    pub unsupported: Option<String>,
    /// The values themselves, or a summary of them.
    pub values: Values,
}

/// A column's values: all of them while they fit in memory, else mergeable
/// summaries whose size does not grow with the rows.
#[derive(Debug, Clone)]
pub enum Values {
    Exact(Exact),
    Summary(Box<Summary>),
}

impl Default for Values {
    fn default() -> Self {
        Values::Exact(Exact::default())
    }
}

/// Every value of a column.
#[derive(Debug, Clone, Default)]
pub struct Exact {
    /// One entry per row: the value when it is a finite number, else NaN
    /// (missing, not a number, infinite), so that rows of several columns line
    /// up for the multivariate test.
    pub numbers: Vec<f64>,
    /// Every non-missing value's count, by its text (numbers as written), until
    /// more than [`MAX_CATEGORIES`] distinct values were seen.
    pub counts: HashMap<String, u64, foldhash::fast::RandomState>,
    /// More than [`MAX_CATEGORIES`] distinct values: `counts` is incomplete.
    pub high_cardinality: bool,
    /// Each row's value as a code, when the table was read with
    /// [`Keep::Rows`].
    pub codes: Option<RowCodes>,
}

/// Each row's value of a column as a small integer: the index of its text in
/// `names` (numbers as `f64`'s shortest form, so `1.0` and `1` are one value),
/// or [`RowCodes::MISSING`]. Row-aligned with [`Exact::numbers`] until the
/// column has more than [`MAX_CATEGORIES`] distinct values; then `overflow`
/// is set and the codes are dropped.
#[derive(Debug, Clone, Default)]
pub struct RowCodes {
    pub codes: Vec<u32>,
    pub names: Vec<String>,
    index: HashMap<String, u32, foldhash::fast::RandomState>,
    pub overflow: bool,
}

impl RowCodes {
    /// The code of a missing (or non-finite) value.
    pub const MISSING: u32 = u32::MAX;

    fn push(&mut self, value: Option<&str>) {
        if self.overflow {
            return;
        }
        let Some(value) = value else {
            self.codes.push(Self::MISSING);
            return;
        };
        let value = truncate(value);
        let code = match self.index.get(value) {
            Some(&c) => c,
            None if self.names.len() < MAX_CATEGORIES => {
                let c = self.names.len() as u32;
                self.names.push(value.to_string());
                self.index.insert(value.to_string(), c);
                c
            }
            None => {
                *self = RowCodes {
                    overflow: true,
                    ..RowCodes::default()
                };
                return;
            }
        };
        self.codes.push(code);
    }

    /// Appends a later part's codes, mapped into this column's names.
    fn append(&mut self, other: RowCodes) {
        if self.overflow || other.overflow {
            *self = RowCodes {
                overflow: true,
                ..RowCodes::default()
            };
            return;
        }
        let names = other.names;
        for c in other.codes {
            let value = names.get(c as usize).map(String::as_str);
            self.push(value);
        }
    }
}

/// Summaries of a column: quantiles and moments of its numbers, and the
/// counts of its values up to a cap.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub moments: Moments,
    pub quantiles: KllSketch,
    pub frequencies: FrequencyTable,
    /// The frequency table stopped taking values: the column held more
    /// distinct numbers than the table keeps and nothing but numbers, so its
    /// quantiles describe it; counting on would only cost time.
    pub frequencies_stopped: bool,
}

/// A value computed rather than read (a model's prediction).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Computed {
    Number(f64),
    Text(String),
}

impl Column {
    /// A column of computed values, every one kept; `None` is missing.
    pub(crate) fn computed(
        name: &str,
        values: impl IntoIterator<Item = Option<Computed>>,
    ) -> Column {
        let mut column = Column::new(
            name,
            Keep::Values {
                max_cells: u64::MAX,
            },
        );
        for (row, v) in values.into_iter().enumerate() {
            match v {
                None => column.missing(),
                Some(Computed::Number(x)) => column.number(x),
                Some(Computed::Text(t)) => column.text(row as u64 + 1, &t, false),
            }
        }
        column
    }

    fn new(name: &str, keep: Keep) -> Column {
        let values = match keep {
            Keep::Summaries => Values::Summary(Box::default()),
            Keep::Values { .. } => Values::default(),
            Keep::Rows { .. } => Values::Exact(Exact {
                codes: Some(RowCodes::default()),
                ..Exact::default()
            }),
        };
        Column {
            name: name.to_string(),
            values,
            ..Column::default()
        }
    }

    /// Each row's value as a code ([`Keep::Rows`] only; `None` otherwise).
    pub fn codes(&self) -> Option<&RowCodes> {
        match &self.values {
            Values::Exact(e) => e.codes.as_ref(),
            Values::Summary(_) => None,
        }
    }

    /// Each row's number, NaN where missing or not a number (`None` for a
    /// summary).
    pub fn numbers(&self) -> Option<&[f64]> {
        match &self.values {
            Values::Exact(e) => Some(&e.numbers),
            Values::Summary(_) => None,
        }
    }

    /// Whether the column is numeric: some value and every non-missing value
    /// is a number.
    pub fn is_numeric(&self) -> bool {
        self.non_numeric == 0 && (self.typed_numeric || self.finite > 0 || self.non_finite > 0)
    }

    /// Non-missing values.
    pub fn present(&self) -> u64 {
        self.rows.saturating_sub(self.missing)
    }

    /// More distinct values than a category column can have.
    pub fn high_cardinality(&self) -> bool {
        match &self.values {
            Values::Exact(e) => e.high_cardinality,
            Values::Summary(s) => s.frequencies_stopped || !s.frequencies.is_exact(),
        }
    }

    /// Distinct values counted (all of them unless [`high_cardinality`](Self::high_cardinality)).
    pub fn distinct(&self) -> usize {
        match &self.values {
            Values::Exact(e) => e.counts.len(),
            Values::Summary(s) => s.frequencies.len(),
        }
    }

    /// The count of `value`.
    pub fn count_of(&self, value: &str) -> u64 {
        match &self.values {
            Values::Exact(e) => e.counts.get(value).copied().unwrap_or(0),
            Values::Summary(s) => s.frequencies.count(value),
        }
    }

    /// The values counted, with their counts.
    pub fn counts(&self) -> Vec<(&str, u64)> {
        match &self.values {
            Values::Exact(e) => e.counts.iter().map(|(k, n)| (k.as_str(), *n)).collect(),
            Values::Summary(s) => s.frequencies.iter().collect(),
        }
    }

    /// The finite numbers, sorted (none for a summary).
    pub fn sorted_numbers(&self) -> Vec<f64> {
        let Values::Exact(e) = &self.values else {
            return Vec::new();
        };
        let mut v: Vec<f64> = e
            .numbers
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .collect();
        v.sort_unstable_by(f64::total_cmp);
        v
    }

    fn missing(&mut self) {
        self.rows += 1;
        self.missing += 1;
        match &mut self.values {
            Values::Exact(e) => {
                e.numbers.push(f64::NAN);
                if let Some(codes) = &mut e.codes {
                    codes.push(None);
                }
            }
            Values::Summary(s) => {
                s.moments.update_missing();
                s.frequencies.update_missing();
            }
        }
    }

    fn number(&mut self, x: f64) {
        self.rows += 1;
        if x.is_nan() {
            self.missing += 1;
        } else if x.is_finite() {
            self.finite += 1;
        } else {
            self.non_finite += 1;
        }
        match &mut self.values {
            Values::Exact(e) => {
                e.numbers.push(if x.is_finite() { x } else { f64::NAN });
                if let Some(codes) = &mut e.codes {
                    codes.push(x.is_finite().then(|| x.to_string()).as_deref());
                }
            }
            Values::Summary(s) => {
                if x.is_finite() {
                    s.moments.update(x);
                    s.quantiles.update(x);
                } else {
                    s.moments.update_missing();
                }
            }
        }
    }

    /// A value that is not a number where one could be (a row's cell, for the
    /// rows to line up).
    fn not_a_number(&mut self, row: u64, text: &str) {
        self.rows += 1;
        self.non_numeric += 1;
        if self.first_non_numeric.is_none() {
            self.first_non_numeric = Some((row, truncate(text).to_string()));
        }
        match &mut self.values {
            Values::Exact(e) => {
                e.numbers.push(f64::NAN);
                if let Some(codes) = &mut e.codes {
                    codes.push(Some(text));
                }
            }
            Values::Summary(s) => s.moments.update_missing(),
        }
    }

    /// A value read as text: a number when it parses as one.
    fn text(&mut self, row: u64, text: &str, csv: bool) {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            self.missing();
            return;
        }
        // Numbers first: most cells are numbers, and none is a missing marker
        // (`NaN` parses, and counts as missing).
        match trimmed.parse::<f64>() {
            Ok(x) => {
                self.number(x);
                // Counted by value, not by spelling: `1.0` in a CSV is the `1`
                // of a Parquet or JSON file.
                if !x.is_nan() && !self.high_cardinality() {
                    self.count(&x.to_string());
                }
                return;
            }
            Err(_) if csv && CSV_MISSING.contains(&trimmed) => {
                self.missing();
                return;
            }
            Err(_) => self.not_a_number(row, trimmed),
        }
        self.count(trimmed);
    }

    /// A value that is a category whatever it looks like (a boolean, a string
    /// in a typed file).
    fn category(&mut self, row: u64, text: &str) {
        self.not_a_number(row, text);
        self.count(text);
    }

    fn count(&mut self, text: &str) {
        let numeric = self.non_numeric == 0;
        match &mut self.values {
            Values::Exact(e) => {
                // A numeric column with many distinct values will be tested as
                // numbers: stop paying for counts once it has too many to be a
                // category.
                if e.high_cardinality {
                    return;
                }
                let key = truncate(text);
                if let Some(n) = e.counts.get_mut(key) {
                    *n += 1;
                } else if e.counts.len() < MAX_CATEGORIES {
                    e.counts.insert(key.to_string(), 1);
                } else {
                    e.high_cardinality = true;
                    e.counts = HashMap::default();
                }
            }
            Values::Summary(s) => {
                if s.frequencies_stopped {
                    return;
                }
                if numeric && !s.frequencies.is_exact() {
                    s.frequencies_stopped = true;
                    return;
                }
                s.frequencies.update(text);
            }
        }
    }

    /// Adds `other` (the same column of a later part of the table).
    fn append(&mut self, mut other: Column) -> Result<(), String> {
        self.rows += other.rows;
        self.missing += other.missing;
        self.finite += other.finite;
        self.non_finite += other.non_finite;
        self.non_numeric += other.non_numeric;
        if self.first_non_numeric.is_none() {
            self.first_non_numeric = other.first_non_numeric.take();
        }
        self.typed_numeric |= other.typed_numeric;
        if self.unsupported.is_none() {
            self.unsupported = other.unsupported.take();
        }
        match (&mut self.values, other.values) {
            (Values::Exact(a), Values::Exact(mut b)) => {
                a.numbers.append(&mut b.numbers);
                if let (Some(codes), Some(more)) = (&mut a.codes, b.codes.take()) {
                    codes.append(more);
                }
                if a.high_cardinality || b.high_cardinality {
                    a.high_cardinality = true;
                    a.counts = HashMap::default();
                    return Ok(());
                }
                for (k, n) in b.counts {
                    *a.counts.entry(k).or_default() += n;
                }
                if a.counts.len() > MAX_CATEGORIES {
                    a.high_cardinality = true;
                    a.counts = HashMap::default();
                }
            }
            (Values::Summary(a), Values::Summary(b)) => {
                a.moments.merge(&b.moments).map_err(|e| e.to_string())?;
                a.quantiles.merge(&b.quantiles).map_err(|e| e.to_string())?;
                a.frequencies
                    .merge(&b.frequencies)
                    .map_err(|e| e.to_string())?;
                a.frequencies_stopped |= b.frequencies_stopped;
            }
            _ => return Err("cannot append exact values to a summary".into()),
        }
        Ok(())
    }

    /// Turns exact values into summaries (when the data outgrows memory).
    fn summarise(&mut self) {
        let Values::Exact(e) = &self.values else {
            return;
        };
        let mut s = Summary::default();
        for &x in &e.numbers {
            if x.is_finite() {
                s.moments.update(x);
                s.quantiles.update(x);
            } else {
                s.moments.update_missing();
            }
        }
        if e.high_cardinality {
            s.frequencies_stopped = true;
        } else {
            let mut counts: Vec<(&String, &u64)> = e.counts.iter().collect();
            counts.sort();
            for (k, &n) in counts {
                for _ in 0..n {
                    s.frequencies.update(k);
                }
            }
        }
        self.values = Values::Summary(Box::new(s));
    }
}

fn truncate(text: &str) -> &str {
    if text.len() <= MAX_CATEGORY_BYTES {
        return text;
    }
    let mut end = MAX_CATEGORY_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// How much of a table to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every value while the table has at most this many cells, then
    /// summaries (the exact tests need every value; memory must stay bounded).
    Values { max_cells: u64 },
    /// Summaries only (a profile).
    Summaries,
    /// Every value and each row's value as a code ([`RowCodes`]), for
    /// row-level checks; a table of more than `max_cells` cells is an error.
    Rows { max_cells: u64 },
}

/// Cells kept as values before a table is summarised instead: 2^25 cells,
/// 256 MiB of numbers per table (1.6 million rows of 20 columns).
pub const MAX_EXACT_CELLS: u64 = 1 << 25;

impl Default for Keep {
    fn default() -> Self {
        Keep::Values {
            max_cells: MAX_EXACT_CELLS,
        }
    }
}

/// A table read into columns, in the file's column order.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    pub rows: u64,
    pub columns: Vec<Column>,
    /// Rows skipped as malformed (with `skip_bad_rows`).
    pub skipped: u64,
    keep: Keep,
}

impl Columns {
    fn new(keep: Keep) -> Columns {
        Columns {
            keep,
            ..Columns::default()
        }
    }

    pub fn get(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether the columns hold summaries rather than every value.
    pub fn summarised(&self) -> bool {
        self.columns
            .iter()
            .any(|c| matches!(c.values, Values::Summary(_)))
            || self.keep == Keep::Summaries
    }

    fn column(&mut self, name: &str) -> usize {
        if let Some(i) = self.columns.iter().position(|c| c.name == name) {
            return i;
        }
        let keep = if self.summarised() {
            Keep::Summaries
        } else {
            self.keep
        };
        let mut column = Column::new(name, keep);
        // A column first seen in a later JSONL row was missing in the rows before.
        for _ in 0..self.rows {
            column.missing();
        }
        self.columns.push(column);
        self.columns.len() - 1
    }

    /// Summarises every column once the table holds more cells than kept;
    /// with [`Keep::Rows`], an error instead.
    fn check_size(&mut self, path: &Path) -> Result<(), DataError> {
        let cells = self.rows.saturating_mul(self.columns.len() as u64);
        match self.keep {
            Keep::Values { max_cells } if cells > max_cells && !self.summarised() => {
                self.columns.iter_mut().for_each(Column::summarise);
            }
            Keep::Rows { max_cells } if cells > max_cells => {
                return Err(too_many_cells(path, max_cells));
            }
            _ => {}
        }
        Ok(())
    }

    /// Columns of summaries read from a profile.
    pub(crate) fn from_profile(rows: u64, columns: Vec<Column>) -> Columns {
        Columns {
            rows,
            columns,
            skipped: 0,
            keep: Keep::Summaries,
        }
    }

    /// Merges the summaries of another table, column by column by name; a
    /// column one table lacks is missing in each of its rows.
    pub(crate) fn merge(&mut self, other: Columns) -> Result<(), String> {
        let before = self.rows;
        let names: Vec<String> = other.columns.iter().map(|c| c.name.clone()).collect();
        for c in self.columns.iter_mut().filter(|c| !names.contains(&c.name)) {
            for _ in 0..other.rows {
                c.missing();
            }
        }
        for add in other.columns {
            match self.columns.iter_mut().find(|c| c.name == add.name) {
                Some(c) => c.append(add)?,
                None => {
                    let mut c = Column::new(&add.name, Keep::Summaries);
                    for _ in 0..before {
                        c.missing();
                    }
                    c.append(add)?;
                    self.columns.push(c);
                }
            }
        }
        self.rows += other.rows;
        Ok(())
    }

    /// Appends `part` (a later part of the same table).
    fn append(&mut self, path: &Path, part: Columns) -> Result<(), DataError> {
        self.rows += part.rows;
        self.skipped += part.skipped;
        if part.summarised() {
            self.columns.iter_mut().for_each(Column::summarise);
        }
        for (column, mut add) in self.columns.iter_mut().zip(part.columns) {
            if matches!(column.values, Values::Summary(_)) {
                add.summarise();
            }
            column.append(add).map_err(|e| {
                DataError::new(path, None, format!("column `{}`: {e}", column.name))
            })?;
        }
        self.check_size(path)
    }
}

/// Reads the table at `path` (CSV, JSONL or Parquet) into columns.
pub fn read(
    path: &Path,
    format: DataFormat,
    opts: &ReadOptions,
    keep: Keep,
) -> Result<Columns, DataError> {
    match format {
        DataFormat::Csv => read_csv(path, opts, keep),
        DataFormat::Jsonl => read_jsonl(path, opts, keep),
        DataFormat::Parquet => read_parquet(path, opts, keep),
        DataFormat::Text | DataFormat::Ipynb => Err(DataError::new(
            path,
            None,
            format!(
                "{} is not a table: only CSV, JSONL and Parquet tables are compared",
                format.as_str()
            ),
        )),
    }
}

fn read_csv(path: &Path, opts: &ReadOptions, keep: Keep) -> Result<Columns, DataError> {
    let mut rows = CsvRows::open(path, opts)?;
    let mut out = Columns::new(keep);
    too_wide(path, rows.columns().len())?;
    for name in unique_names(rows.columns()) {
        out.column(&name);
    }
    // Batches of at most about a million cells, so that a wide table is
    // summarised before its values outgrow the limit.
    let per_batch = (4096).min((1usize << 20) / out.columns.len().max(1)).max(1);
    let mut batch = TextBatch::default();
    loop {
        let filled = rows.fill(&mut batch, per_batch);
        for i in 0..batch.len() {
            let row = batch.number(i);
            for (column, cell) in out.columns.iter_mut().zip(batch.cells(i)) {
                column.text(row, cell, true);
            }
        }
        out.rows += batch.len() as u64;
        out.check_size(path)?;
        match filled {
            Filled::More => {}
            Filled::End => break,
            Filled::Failed(e) => return Err(e),
        }
    }
    out.skipped = rows.skipped().count;
    Ok(out)
}

fn too_many_cells(path: &Path, max_cells: u64) -> DataError {
    DataError::new(
        path,
        None,
        format!("more than {max_cells} cells (rows x columns): too large to check row by row here"),
    )
}

fn too_wide(path: &Path, columns: usize) -> Result<(), DataError> {
    if columns > MAX_COLUMNS {
        return Err(DataError::new(
            path,
            None,
            format!("{columns} columns: more than the {MAX_COLUMNS} a table may have here"),
        ));
    }
    Ok(())
}

/// Header names with repeats told apart as pandas does (`a`, `a.1`, `a.2`),
/// so that every column of the file is one column here.
fn unique_names(names: &[std::sync::Arc<str>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let mut candidate = name.to_string();
        let mut n = 0;
        while out.contains(&candidate) {
            n += 1;
            candidate = format!("{name}.{n}");
        }
        out.push(candidate);
    }
    out
}

fn read_jsonl(path: &Path, opts: &ReadOptions, keep: Keep) -> Result<Columns, DataError> {
    let mut rows = JsonlRows::open(path, opts)?;
    let mut out = Columns::new(keep);
    for row in rows.by_ref() {
        let row = row?;
        // Each column's cell in this row; a key given twice keeps its last
        // value, as Python's json module and pandas do.
        let mut cells: Vec<Option<&Cell>> = vec![None; out.columns.len()];
        for (name, cell) in &row.cells {
            let i = out.column(name);
            too_wide(path, out.columns.len())?;
            if cells.len() <= i {
                cells.resize(i + 1, None);
            }
            if let Some(slot) = cells.get_mut(i) {
                *slot = Some(cell);
            }
        }
        for (column, cell) in out.columns.iter_mut().zip(&cells) {
            match cell {
                // Keys absent from this row are missing values.
                None | Some(Cell::Null) => column.missing(),
                // A JSON string is a category even when it looks like a number.
                Some(Cell::Text(s)) => column.category(row.number, s),
                Some(Cell::Other(s)) if s == "true" || s == "false" => {
                    column.category(row.number, s)
                }
                Some(Cell::Other(s)) => column.text(row.number, s, false),
            }
        }
        out.rows += 1;
        if out.rows.is_multiple_of(4096) {
            out.check_size(path)?;
        }
    }
    out.check_size(path)?;
    out.skipped = rows.skipped().count;
    Ok(out)
}

fn read_parquet(path: &Path, opts: &ReadOptions, keep: Keep) -> Result<Columns, DataError> {
    use rayon::prelude::*;
    let file = ParquetFile::open(path, opts)?;
    too_wide(path, file.columns().len())?;
    let names = unique_names(file.columns());
    let total: u64 = (0..file.row_groups())
        .map(|g| file.first_row(g + 1).saturating_sub(file.first_row(g)))
        .sum();
    // The footer says how many rows there are: summarise from the start when
    // the values would not fit.
    let cells = total.saturating_mul(names.len() as u64);
    let keep = match keep {
        Keep::Values { max_cells } if cells > max_cells => Keep::Summaries,
        Keep::Rows { max_cells } if cells > max_cells => {
            return Err(too_many_cells(path, max_cells));
        }
        keep => keep,
    };
    let blank = || {
        let mut part = Columns::new(keep);
        for name in &names {
            part.column(name);
        }
        part
    };
    // Row groups in parallel, each into its own columns, appended in order.
    // Summaries merge in any order, and values need the order only to line
    // rows up, which appending in group order keeps.
    let parts: Vec<Result<Columns, DataError>> = (0..file.row_groups())
        .into_par_iter()
        .map(|group| {
            let mut part = blank();
            let mut next = file.first_row(group);
            for batch in file.batches(group)? {
                let batch = batch.map_err(|e| {
                    DataError::new(path, Some(mlsec_data::Place::RowGroup(group)), e)
                })?;
                add_batch(path, &mut part, &batch, next)?;
                next = next.saturating_add(batch.num_rows() as u64);
                part.rows += batch.num_rows() as u64;
            }
            Ok(part)
        })
        .collect();
    let mut out = blank();
    for part in parts {
        out.append(path, part?)?;
    }
    Ok(out)
}

fn add_batch(
    path: &Path,
    out: &mut Columns,
    batch: &RecordBatch,
    first: u64,
) -> Result<(), DataError> {
    for (column, array) in out.columns.iter_mut().zip(batch.columns()) {
        let array = array.as_ref();
        let data_type = array.data_type();
        if is_numeric(data_type) {
            column.typed_numeric = true;
            let values = as_f64(array).map_err(|e| {
                DataError::new(path, None, format!("column `{}`: {e}", column.name))
            })?;
            let values = values.as_primitive::<Float64Type>();
            for i in 0..values.len() {
                if values.is_null(i) {
                    column.missing();
                } else {
                    column.number(values.value(i));
                }
            }
            // Few distinct numbers may be categories (a 0/1 flag): count them
            // too, until there are too many.
            if !column.high_cardinality() {
                for i in 0..values.len() {
                    if !values.is_null(i) {
                        column.count(&values.value(i).to_string());
                    }
                }
            }
        } else if let Some(strings) = strings(array) {
            for (i, s) in strings.into_iter().enumerate() {
                match s {
                    None => column.missing(),
                    Some(s) => column.category(first + i as u64, s),
                }
            }
        } else if let Some(bools) = array.as_boolean_opt() {
            for (i, b) in bools.iter().enumerate() {
                match b {
                    None => column.missing(),
                    Some(b) => column.category(first + i as u64, if b { "true" } else { "false" }),
                }
            }
        } else {
            for i in 0..array.len() {
                if array.is_null(i) {
                    column.missing();
                } else {
                    column.not_a_number(first + i as u64, "");
                }
            }
            if column.unsupported.is_none() {
                column.unsupported = Some(data_type.to_string());
            }
        }
    }
    Ok(())
}

/// A numeric, date or time array as f64 (dates and times through their
/// integer representation).
fn as_f64(array: &dyn Array) -> Result<arrow_array::ArrayRef, arrow_schema::ArrowError> {
    if array.data_type().is_numeric() {
        return arrow_cast::cast(array, &DataType::Float64);
    }
    let int = arrow_cast::cast(array, &DataType::Int64)?;
    arrow_cast::cast(&int, &DataType::Float64)
}

/// Numbers, and dates and times (compared as numbers of their unit since the epoch).
fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
        || matches!(
            t,
            DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(..)
                | DataType::Time32(_)
                | DataType::Time64(_)
                | DataType::Duration(_)
        )
}

fn strings(array: &dyn Array) -> Option<Vec<Option<&str>>> {
    if let Some(a) = array.as_string_opt::<i32>() {
        return Some(a.iter().collect());
    }
    if let Some(a) = array.as_string_opt::<i64>() {
        return Some(a.iter().collect());
    }
    array.as_string_view_opt().map(|a| a.iter().collect())
}
