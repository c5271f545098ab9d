//! `mlsec data pii`: run the detectors over every cell and line of data files,
//! in parallel over files and, inside a file, over batches of rows (CSV, JSONL,
//! text) or row groups (Parquet).

use crate::detect::{locate_one, normalise, Detect, FieldHint, Hit, Located};
use crate::manifest::collect_files;
use crate::read::csv::{CsvRows, TextBatch};
use crate::read::parquet::ParquetFile;
use crate::read::text::{TextLine, TextLines};
use crate::read::{ipynb, Filled, ReadOptions, Row, Skipped, Table};
use crate::{rules, DataError, DataFormat};
use foldhash::fast::RandomState;
use mlsec_core::{declare_rule, Finding, Rule};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows or lines handed to the thread pool at a time.
const BATCH: usize = 4096;

/// Findings kept per file for each column and entity by default; the rest are
/// only counted, so memory and report size stay flat however large the file.
pub const DEFAULT_MAX_FINDINGS: usize = 1000;

declare_rule! {
    /// ## What it does
    /// Reports personal data in a dataset: email addresses, phone numbers,
    /// payment card numbers (Luhn-checked), IBANs (mod-97), US social security
    /// numbers, IP addresses and dates of birth. The finding names the file, the
    /// row and column (or line) and the character span, with the entity type, a
    /// confidence and a masked preview; the value itself is never printed.
    ///
    /// ## Why is this bad?
    /// Personal data in training data ends up in the model, which can repeat it
    /// to anyone; it also puts the dataset under privacy law (GDPR, CCPA) with
    /// every copy made of it.
    ///
    /// ## Example
    /// `users.csv: row 12 [email]: EMAIL a****@e******.org`
    ///
    /// ## How to fix
    /// Remove or pseudonymise the values before training: `mlsec data redact
    /// FILE -o OUT --strategy hash` keeps joins working, `replace` or `mask`
    /// keep the text readable, `drop-column` removes whole columns.
    pub const PERSONAL_DATA = Rule {
        id: "PII001", name: "personal-data", severity: Medium, category: Suspicious,
        summary: "Personal data (email, phone, card, IBAN, SSN, IP, date of birth) in a dataset",
    };
}

declare_rule! {
    /// ## What it does
    /// Reports credentials in a dataset, notebook or log: cloud keys (AWS),
    /// GitHub, GitLab, Slack, Stripe, Google and OpenAI-style tokens, JWTs, PEM
    /// private keys, passwords in connection strings and high-entropy tokens
    /// next to words like key, secret or token.
    ///
    /// ## Why is this bad?
    /// A model trained on a secret can reproduce it; a notebook output or a log
    /// file shared with a dataset hands the key to every reader. Leaked keys are
    /// found and abused within minutes of publication.
    ///
    /// ## Example
    /// `analysis.ipynb: cell 4 [outputs[0].text] line 2: AWS_ACCESS_KEY AKIA************`
    ///
    /// ## How to fix
    /// Revoke and rotate the credential first, then remove it from the data
    /// (`mlsec data redact`) and from history.
    pub const SECRET = Rule {
        id: "PII002", name: "secret-in-data", severity: High, category: Suspicious,
        summary: "Credential or secret (API key, token, private key, password) in data",
    };
}

/// The rules `mlsec data pii` reports, with the reader errors.
pub const RULES: &[Rule] = &[
    PERSONAL_DATA,
    SECRET,
    rules::UNREADABLE_DATA,
    rules::ROWS_SKIPPED,
];

/// What scanning one file found.
#[derive(Debug, Clone)]
pub struct FileScan {
    /// The path as found (for reports and SARIF).
    pub path: String,
    pub format: Option<DataFormat>,
    pub bytes: u64,
    /// The first hits in file order, at most `max_findings` per column and entity.
    pub hits: Vec<Located>,
    /// Every hit counted, by column (empty for text) and entity.
    pub counts: BTreeMap<(String, String), u64>,
    pub skipped: Skipped,
    /// Why the file could not be read to its end; hits before it are kept.
    pub error: Option<DataError>,
}

impl FileScan {
    /// Hits counted but not kept under the cap.
    pub fn unlisted(&self) -> u64 {
        self.counts.values().sum::<u64>() - self.hits.len() as u64
    }
}

/// Counts hits per column and entity and keeps the first `max` of each (0:
/// all), building the located form (code-point offsets, masked preview) only
/// for those kept: on a large file almost every hit is over the cap, and then
/// costs one counter increment.
struct Tally<'d> {
    detector: &'d dyn Detect,
    max: u64,
    /// Hits kept, with their entity as counted.
    kept: Vec<(Located, &'static str)>,
    /// Column ("" for text lines) -> entity -> hits counted. Looked up per
    /// hit, so with a fast hash (seeded per process, like std's).
    counts: HashMap<Box<str>, Vec<(&'static str, u64)>, RandomState>,
    /// The hits of the batch being scanned (see [`detect_cells`]).
    chunks: Vec<Vec<CellHit>>,
}

impl<'d> Tally<'d> {
    fn new(detector: &'d dyn Detect, max: usize) -> Self {
        Tally {
            detector,
            max: max as u64,
            kept: Vec::new(),
            counts: HashMap::default(),
            chunks: Vec::new(),
        }
    }

    /// The number of hits of `entity` in `column` so far, this one included.
    fn count(&mut self, column: &str, entity: &'static str, by: u64) -> u64 {
        let entities = match self.counts.get_mut(column) {
            Some(entities) => entities,
            None => self.counts.entry(column.into()).or_default(),
        };
        match entities.iter_mut().find(|(e, _)| *e == entity) {
            Some((_, n)) => {
                *n += by;
                *n
            }
            None => {
                entities.push((entity, by));
                by
            }
        }
    }

    /// Counts `hit`, found in `text` at this place, and keeps it if under the cap.
    fn add(
        &mut self,
        hit: &Hit,
        text: &str,
        row: Option<u64>,
        column: Option<&str>,
        line: Option<u64>,
    ) {
        let n = self.count(column.unwrap_or_default(), hit.entity, 1);
        if self.max == 0 || n <= self.max {
            let located = locate_one(self.detector, text, hit, row, column, line);
            self.kept.push((located, hit.entity));
        }
    }

    /// Adds a tally of a later part of the same file: its kept hits count
    /// (and are kept) as if found here, then what it only counted is added.
    fn merge(&mut self, later: Tally) {
        for (h, entity) in later.kept {
            let n = self.count(h.location.column.as_deref().unwrap_or_default(), entity, 1);
            if self.max == 0 || n <= self.max {
                self.kept.push((h, entity));
            }
        }
        if later.max == 0 {
            return;
        }
        for (column, entities) in &later.counts {
            for &(entity, n) in entities {
                self.count(column, entity, n.saturating_sub(later.max));
            }
        }
    }

    fn finish(self, scan: &mut FileScan) {
        scan.hits = self.kept.into_iter().map(|(h, _)| h).collect();
        scan.counts = self
            .counts
            .into_iter()
            .flat_map(|(column, entities)| {
                entities
                    .into_iter()
                    .map(move |(entity, n)| ((column.to_string(), entity.to_string()), n))
            })
            .collect();
    }
}

/// A hit in a batch: which item and which of its cells.
struct CellHit {
    item: usize,
    cell: usize,
    hit: Hit,
}

/// Items handed to one task of the thread pool.
const CHUNK: usize = 256;

/// The field a cell belongs to, as the detector should see it.
#[derive(Clone, Copy)]
enum Field<'a> {
    /// A name that may change from row to row (JSONL keys).
    Name(Option<&'a str>),
    /// A table column's name, worked out once by the detector.
    Hint(FieldHint),
}

/// Runs the detector over the cells of items `0..items` in parallel, then
/// hands each hit to `add`, in item and cell order. `cells` calls its
/// callback with each text cell of an item: the cell's index, its field and
/// its text.
///
/// The hits wait in `tally.chunks`, a vector per chunk of items, kept from
/// batch to batch so that the hits of a batch need no fresh memory (which
/// would be allocated on one thread and freed on another).
fn detect_cells(
    tally: &mut Tally,
    items: usize,
    cells: impl Fn(usize, &mut dyn FnMut(usize, Field, &str)) + Sync,
    mut add: impl FnMut(&mut Tally, &CellHit),
) {
    let detector = tally.detector;
    let mut chunks = std::mem::take(&mut tally.chunks);
    chunks.resize_with(items.div_ceil(CHUNK), Vec::new);
    chunks.par_iter_mut().enumerate().for_each(|(c, out)| {
        out.clear();
        let mut hits = Vec::new();
        for item in c * CHUNK..items.min((c + 1) * CHUNK) {
            cells(item, &mut |cell, field, text| {
                match field {
                    Field::Name(name) => detector.detect(name, text, &mut hits),
                    Field::Hint(hint) => detector.detect_in(hint, text, &mut hits),
                }
                if hits.is_empty() {
                    return;
                }
                normalise(text, &mut hits);
                out.extend(hits.drain(..).map(|hit| CellHit { item, cell, hit }));
            });
        }
    });
    for h in chunks.iter().flatten() {
        add(tally, h);
    }
    tally.chunks = chunks;
}

fn scan_rows(tally: &mut Tally, rows: &[Row]) {
    // Items and cells are numbered from these rows, so every `get` finds one.
    let cells = |i: usize, each: &mut dyn FnMut(usize, Field, &str)| {
        let Some(row) = rows.get(i) else { return };
        for (k, (column, cell)) in row.cells.iter().enumerate() {
            if let Some(text) = cell.as_str() {
                each(k, Field::Name(Some(column)), text);
            }
        }
    };
    detect_cells(tally, rows.len(), cells, |tally, h| {
        let Some(row) = rows.get(h.item) else { return };
        let Some((column, cell)) = row.cells.get(h.cell) else {
            return;
        };
        let text = cell.as_str().unwrap_or_default();
        tally.add(&h.hit, text, Some(row.number), Some(column), None);
    });
}

/// [`scan_rows`] for a batch of CSV records, which keep their cells in one
/// buffer and share the header's columns.
fn scan_batch(tally: &mut Tally, columns: &[(Arc<str>, FieldHint)], batch: &TextBatch) {
    let cells = |i: usize, each: &mut dyn FnMut(usize, Field, &str)| {
        for (k, ((_, hint), text)) in columns.iter().zip(batch.cells(i)).enumerate() {
            each(k, Field::Hint(*hint), text);
        }
    };
    detect_cells(tally, batch.len(), cells, |tally, h| {
        let text = batch.cell(h.item, h.cell);
        let column = columns.get(h.cell).map(|(c, _)| &**c);
        tally.add(&h.hit, text, Some(batch.number(h.item)), column, None);
    });
}

/// [`scan_rows`] for the lines of a text file.
fn scan_lines(tally: &mut Tally, lines: &[TextLine]) {
    let none = Field::Hint(tally.detector.field(None));
    // Items are numbered from these lines, so every `get` finds one.
    let cells = |i: usize, each: &mut dyn FnMut(usize, Field, &str)| {
        if let Some(l) = lines.get(i) {
            each(0, none, &l.text);
        }
    };
    detect_cells(tally, lines.len(), cells, |tally, h| {
        if let Some(l) = lines.get(h.item) {
            tally.add(&h.hit, &l.text, None, None, Some(l.line));
        }
    });
}

/// Scans one file, keeping at most `max_findings` hits per column and entity
/// (0: all).
pub fn scan_file(
    path: &Path,
    detector: &dyn Detect,
    opts: &ReadOptions,
    max_findings: usize,
) -> FileScan {
    let mut scan = FileScan {
        path: path.display().to_string(),
        format: None,
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        hits: Vec::new(),
        counts: BTreeMap::new(),
        skipped: Skipped::default(),
        error: None,
    };
    let format = match crate::detect(path) {
        Ok(f) => f,
        Err(e) => {
            scan.error = Some(e);
            return scan;
        }
    };
    scan.format = Some(format);
    let mut tally = Tally::new(detector, max_findings);
    let result = match format {
        DataFormat::Parquet => scan_parquet(path, opts, &mut tally),
        DataFormat::Csv => scan_csv(path, opts, &mut tally, &mut scan),
        DataFormat::Jsonl => scan_table(path, format, opts, &mut tally, &mut scan),
        DataFormat::Text => scan_text(path, opts, &mut tally, &mut scan),
        DataFormat::Ipynb => scan_notebook(path, opts, &mut tally),
    };
    if let Err(e) = result {
        scan.error = Some(e);
    }
    tally.finish(&mut scan);
    scan.hits.sort_by_key(|h| (h.location.row, h.location.line));
    scan
}

fn scan_table(
    path: &Path,
    format: DataFormat,
    opts: &ReadOptions,
    tally: &mut Tally,
    scan: &mut FileScan,
) -> Result<(), DataError> {
    let mut table = Table::open(path, format, opts)?;
    let outcome = in_batches(&mut Items(&mut table), |batch| scan_rows(tally, batch));
    scan.skipped = table.skipped();
    outcome
}

fn scan_csv(
    path: &Path,
    opts: &ReadOptions,
    tally: &mut Tally,
    scan: &mut FileScan,
) -> Result<(), DataError> {
    let mut rows = CsvRows::open(path, opts)?;
    let columns: Vec<_> = rows
        .columns()
        .iter()
        .map(|c| (c.clone(), tally.detector.field(Some(c))))
        .collect();
    let outcome = in_batches(&mut rows, |batch| scan_batch(tally, &columns, batch));
    scan.skipped = rows.skipped().clone();
    outcome
}

/// A reader that hands out its items a batch at a time (see [`in_batches`]).
trait Batches: Send {
    type Batch: Default + Send;
    /// Empties `batch` (keeping its buffers) and reads up to [`BATCH`] items
    /// into it.
    fn read_batch(&mut self, batch: &mut Self::Batch) -> Filled;
}

/// A reader of one item at a time, collected into batches.
struct Items<'a, I>(&'a mut I);

impl<T: Send, I> Batches for Items<'_, I>
where
    I: Iterator<Item = Result<T, DataError>> + Send,
{
    type Batch = Vec<T>;
    fn read_batch(&mut self, batch: &mut Vec<T>) -> Filled {
        batch.clear();
        while batch.len() < BATCH {
            match self.0.next() {
                Some(Ok(item)) => batch.push(item),
                Some(Err(e)) => return Filled::Failed(e),
                None => return Filled::End,
            }
        }
        Filled::More
    }
}

impl<R: std::io::Read + Send> Batches for CsvRows<R> {
    type Batch = TextBatch;
    fn read_batch(&mut self, batch: &mut TextBatch) -> Filled {
        self.fill(batch, BATCH)
    }
}

/// Hands the items of `source` to `scan` in batches of [`BATCH`], reading the
/// next batches on a thread of its own meanwhile, so that parsing overlaps
/// detection. Scanned batches go back to the reader, which reads into them
/// again (and frees on the thread that allocated). Stops at the first error,
/// after scanning what came before it.
fn in_batches<B: Batches>(
    source: &mut B,
    mut scan: impl FnMut(&B::Batch),
) -> Result<(), DataError> {
    // Two batches ahead at most: memory stays a few batches whatever the file.
    let (tx, rx) = std::sync::mpsc::sync_channel::<B::Batch>(2);
    let (back_tx, back_rx) = std::sync::mpsc::sync_channel::<B::Batch>(4);
    std::thread::scope(|threads| {
        let reader = threads.spawn(move || loop {
            let mut batch = back_rx.try_recv().unwrap_or_default();
            let filled = source.read_batch(&mut batch);
            if tx.send(batch).is_err() {
                return Ok(());
            }
            match filled {
                Filled::More => {}
                Filled::End => return Ok(()),
                Filled::Failed(e) => return Err(e),
            }
        });
        for batch in rx {
            scan(&batch);
            // Full (the reader is behind): drop it here instead.
            let _ = back_tx.try_send(batch);
        }
        drop(back_tx);
        reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn scan_parquet(path: &Path, opts: &ReadOptions, tally: &mut Tally) -> Result<(), DataError> {
    let file = ParquetFile::open(path, opts)?;
    // Each row group keeps its own first `max` per key; merged in order below.
    let groups: Vec<Result<Tally, DataError>> = (0..file.row_groups())
        .into_par_iter()
        .map(|g| {
            let mut group = Tally::new(tally.detector, tally.max as usize);
            file.read_group(g, |rows| {
                scan_rows(&mut group, &rows);
                Ok(())
            })?;
            Ok(group)
        })
        .collect();
    for g in groups {
        tally.merge(g?);
    }
    Ok(())
}

fn scan_text(
    path: &Path,
    opts: &ReadOptions,
    tally: &mut Tally,
    scan: &mut FileScan,
) -> Result<(), DataError> {
    let mut lines = TextLines::open(path, opts)?;
    let outcome = in_batches(&mut Items(&mut lines), |batch| scan_lines(tally, batch));
    scan.skipped = lines.skipped().clone();
    outcome
}

fn scan_notebook(path: &Path, opts: &ReadOptions, tally: &mut Tally) -> Result<(), DataError> {
    let nb = ipynb::load(path, opts)?;
    let mut hits = Vec::new();
    for l in ipynb::lines(path, &nb)? {
        tally.detector.detect(Some(&l.field), &l.text, &mut hits);
        normalise(&l.text, &mut hits);
        // A notebook place is cell (as the row), field (as the column) and line.
        for h in hits.drain(..) {
            tally.add(&h, &l.text, Some(l.cell), Some(&l.field), Some(l.line));
        }
    }
    Ok(())
}

/// Scans every file under `paths`, files in parallel.
pub fn scan_paths(
    paths: &[PathBuf],
    detector: &dyn Detect,
    opts: &ReadOptions,
    max_findings: usize,
) -> Result<Vec<FileScan>, crate::DatasetError> {
    let files = collect_files(paths, &[])?;
    Ok(files
        .par_iter()
        .map(|f| scan_file(&f.path, detector, opts, max_findings))
        .collect())
}

/// The findings of scans: one per hit (PII001/PII002), plus DAT009 for a file
/// not read to its end and DAT010 for skipped rows.
pub fn findings(scans: &[FileScan]) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in scans {
        for h in &s.hits {
            let rule = if h.secret { &SECRET } else { &PERSONAL_DATA };
            let mut f = Finding::new(rule, s.path.clone(), format!("{} {}", h.entity, h.preview))
                .in_data(h.location.clone());
            f.entity = Some(h.entity.clone());
            f.confidence = Some((f64::from(h.confidence) * 1000.0).round() / 1000.0);
            f.preview = Some(h.preview.clone());
            out.push(f);
        }
        if s.skipped.count > 0 {
            out.push(crate::verify::skipped_finding(&s.path, &s.skipped));
        }
        if let Some(e) = &s.error {
            out.push(Finding::new(
                &rules::UNREADABLE_DATA,
                s.path.clone(),
                e.to_string(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::testing::Toy;

    #[test]
    fn hits_are_located_by_row_column_and_line_in_every_format() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("u.csv");
        std::fs::write(
            &csv,
            "id,contact\n1,none\n2,\"Zoë <zoë@example.org>, AKIAABCDEFGHIJKLMNOP\"\n",
        )
        .unwrap();
        let s = scan_file(&csv, &Toy, &ReadOptions::default(), 0);
        assert!(s.error.is_none());
        let got: Vec<_> = s
            .hits
            .iter()
            .map(|h| {
                (
                    h.entity.as_str(),
                    h.location.row,
                    h.location.column.as_deref(),
                    h.location.start,
                    h.location.end,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("EMAIL", Some(2), Some("contact"), 4, 21),
                ("AWS_ACCESS_KEY", Some(2), Some("contact"), 23, 43)
            ]
        );
        let f = findings(&[s]);
        assert_eq!(
            f.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(),
            ["PII001", "PII002"]
        );
        assert!(!serde_json::to_string(&f)
            .unwrap()
            .contains("AKIAABCDEFGHIJKLMNOP"));

        let txt = dir.path().join("log.txt");
        std::fs::write(&txt, "start\nuser bob@example.org logged in\n").unwrap();
        let s = scan_file(&txt, &Toy, &ReadOptions::default(), 0);
        assert_eq!(
            (s.hits[0].location.line, s.hits[0].location.start),
            (Some(2), 5)
        );

        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "a,b\nx@y.org,1\n2\n").unwrap();
        let s = scan_file(&bad, &Toy, &ReadOptions::default(), 0);
        assert_eq!(s.hits.len(), 1, "hits before the error are kept");
        let f = findings(&[s]);
        assert_eq!(f[1].rule, "DAT009");
        assert!(f[1].message.contains("row 2 (line 3)"));
    }

    /// 2,500 rows with an email in `a`, a secret in `b` on row 2,400 only.
    fn many_emails() -> (Vec<String>, Vec<String>) {
        let a = (1..=2500).map(|i| format!("u{i}@example.org")).collect();
        let b = (1..=2500)
            .map(|i| {
                if i == 2400 {
                    "AKIAABCDEFGHIJKLMNOP".into()
                } else {
                    "-".into()
                }
            })
            .collect();
        (a, b)
    }

    /// Keeps the first 1,000 emails in row order, counts all, and still keeps
    /// the one secret that comes after the cap was reached for emails.
    fn assert_capped(s: &FileScan) {
        assert!(s.error.is_none(), "{:?}", s.error);
        let emails: Vec<u64> = s
            .hits
            .iter()
            .filter(|h| h.entity == "EMAIL")
            .filter_map(|h| h.location.row)
            .collect();
        assert_eq!(emails, (1..=1000).collect::<Vec<u64>>());
        let secret: Vec<_> = s.hits.iter().filter(|h| h.secret).collect();
        assert_eq!(secret.len(), 1);
        assert_eq!(secret[0].location.row, Some(2400));
        assert_eq!(s.counts[&("a".into(), "EMAIL".into())], 2500);
        assert_eq!(s.counts[&("b".into(), "AWS_ACCESS_KEY".into())], 1);
        assert_eq!(s.unlisted(), 1500);
    }

    /// Emails in column `a` on every row, in `b` on every third; AWS keys in
    /// `b` on every fifth row: hits of several columns and entities
    /// interleave across batch boundaries (10,000 rows: three batches).
    #[test]
    fn the_cap_and_counts_hold_across_batches_in_csv_and_jsonl() {
        let dir = tempfile::tempdir().unwrap();
        let rows = 10_000u64;
        let cell_b = |i: u64| match (i % 3, i % 5) {
            (0, _) => format!("b{i}@example.org"),
            (_, 0) => "AKIAABCDEFGHIJKLMNOP".to_string(),
            _ => "-".to_string(),
        };
        let mut csv = String::from("a,b\n");
        let mut jsonl = String::new();
        for i in 1..=rows {
            csv.push_str(&format!("a{i}@example.org,{}\n", cell_b(i)));
            jsonl.push_str(&format!(
                "{{\"a\": \"a{i}@example.org\", \"b\": \"{}\"}}\n",
                cell_b(i)
            ));
        }
        let (csv_path, jsonl_path) = (dir.path().join("t.csv"), dir.path().join("t.jsonl"));
        std::fs::write(&csv_path, csv).unwrap();
        std::fs::write(&jsonl_path, jsonl).unwrap();
        for path in [csv_path, jsonl_path] {
            let s = scan_file(&path, &Toy, &ReadOptions::default(), 50);
            assert!(s.error.is_none(), "{:?}", s.error);
            let count = |c: &str, e: &str| s.counts[&(c.to_string(), e.to_string())];
            assert_eq!(count("a", "EMAIL"), rows);
            assert_eq!(count("b", "EMAIL"), rows / 3);
            // Every fifth row that is not also a third one.
            assert_eq!(count("b", "AWS_ACCESS_KEY"), rows / 5 - rows / 15);
            assert_eq!(s.hits.len(), 150);
            assert_eq!(s.unlisted(), rows + rows / 3 + rows / 5 - rows / 15 - 150);
            let kept = |c: &str, e: &str| -> Vec<u64> {
                s.hits
                    .iter()
                    .filter(|h| h.location.column.as_deref() == Some(c) && h.entity == e)
                    .filter_map(|h| h.location.row)
                    .collect()
            };
            assert_eq!(kept("a", "EMAIL"), (1..=50).collect::<Vec<_>>());
            assert_eq!(
                kept("b", "EMAIL"),
                (1..=50).map(|k| 3 * k).collect::<Vec<_>>()
            );
            let aws: Vec<u64> = (1..=rows)
                .filter(|i| i % 5 == 0 && i % 3 != 0)
                .take(50)
                .collect();
            assert_eq!(kept("b", "AWS_ACCESS_KEY"), aws, "{}", path.display());
        }
    }

    #[test]
    fn findings_are_capped_per_column_and_entity_but_all_counted() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = many_emails();
        let csv = dir.path().join("u.csv");
        let mut text = String::from("a,b\n");
        for (x, y) in a.iter().zip(&b) {
            text.push_str(&format!("{x},{y}\n"));
        }
        std::fs::write(&csv, text).unwrap();
        assert_capped(&scan_file(&csv, &Toy, &ReadOptions::default(), 1000));
        assert_eq!(
            scan_file(&csv, &Toy, &ReadOptions::default(), 0).hits.len(),
            2501
        );

        // Parquet row groups are scanned in parallel, each capped on its own,
        // then merged in order under the file-wide cap.
        use arrow_array::{ArrayRef, RecordBatch, StringArray};
        use std::sync::Arc;
        let batch = RecordBatch::try_from_iter([
            ("a", Arc::new(StringArray::from(a)) as ArrayRef),
            ("b", Arc::new(StringArray::from(b)) as ArrayRef),
        ])
        .unwrap();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_size(700)
            .build();
        let pq = dir.path().join("u.parquet");
        let file = std::fs::File::create(&pq).unwrap();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        assert_eq!(
            ParquetFile::open(&pq, &ReadOptions::default())
                .unwrap()
                .row_groups(),
            4
        );
        assert_capped(&scan_file(&pq, &Toy, &ReadOptions::default(), 1000));
    }
}
