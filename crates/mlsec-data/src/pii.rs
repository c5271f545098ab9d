//! `mlsec data pii`: run the detectors over every cell and line of data files,
//! in parallel over files and, inside a file, over batches of rows (CSV, JSONL,
//! text) or row groups (Parquet).

use crate::detect::{locate, Detect, Located};
use crate::manifest::collect_files;
use crate::read::csv::{CsvRows, TextRecord};
use crate::read::parquet::ParquetFile;
use crate::read::text::TextLines;
use crate::read::{ipynb, ReadOptions, Row, Skipped, Table};
use crate::{rules, DataError, DataFormat};
use mlsec_core::{declare_rule, Finding, Location, Rule};
use rayon::prelude::*;
use std::collections::BTreeMap;
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

/// Counts `hits` into `counts` and keeps those within `max` per column and
/// entity (0: keep all).
fn tally(
    hits: Vec<Located>,
    max: usize,
    kept: &mut Vec<Located>,
    counts: &mut BTreeMap<(String, String), u64>,
) {
    for h in hits {
        let key = (
            h.location.column.clone().unwrap_or_default(),
            h.entity.clone(),
        );
        let n = counts.entry(key).or_default();
        *n += 1;
        if max == 0 || *n <= max as u64 {
            kept.push(h);
        }
    }
}

fn scan_rows(detector: &dyn Detect, rows: &[Row]) -> Vec<Located> {
    rows.par_iter()
        .flat_map_iter(|row| {
            let mut out = Vec::new();
            for (column, cell) in &row.cells {
                if let Some(text) = cell.as_str() {
                    let hits = detector.detect(Some(column), text);
                    if !hits.is_empty() {
                        out.extend(locate(
                            detector,
                            text,
                            hits,
                            Some(row.number),
                            Some(column),
                            None,
                        ));
                    }
                }
            }
            out
        })
        .collect()
}

/// [`scan_rows`] for CSV records, which keep their cells in one buffer.
fn scan_records(
    detector: &dyn Detect,
    columns: &[Arc<str>],
    records: &[TextRecord],
) -> Vec<Located> {
    records
        .par_iter()
        .flat_map_iter(|record| {
            let mut out = Vec::new();
            for (column, text) in columns.iter().zip(&record.fields) {
                let hits = detector.detect(Some(column), text);
                if !hits.is_empty() {
                    let at = Some(record.number);
                    out.extend(locate(detector, text, hits, at, Some(column), None));
                }
            }
            out
        })
        .collect()
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
    let max = max_findings;
    let result = match format {
        DataFormat::Parquet => scan_parquet(path, detector, max, &mut scan),
        DataFormat::Csv => scan_csv(path, detector, opts, max, &mut scan),
        DataFormat::Jsonl => scan_table(path, format, detector, opts, max, &mut scan),
        DataFormat::Text => scan_text(path, detector, opts, max, &mut scan),
        DataFormat::Ipynb => scan_notebook(path, detector, opts, max, &mut scan),
    };
    if let Err(e) = result {
        scan.error = Some(e);
    }
    scan.hits.sort_by_key(|h| (h.location.row, h.location.line));
    scan
}

fn scan_table(
    path: &Path,
    format: DataFormat,
    detector: &dyn Detect,
    opts: &ReadOptions,
    max: usize,
    scan: &mut FileScan,
) -> Result<(), DataError> {
    let mut table = Table::open(path, format, opts)?;
    let outcome = in_batches(&mut table, |batch| {
        tally(
            scan_rows(detector, &batch),
            max,
            &mut scan.hits,
            &mut scan.counts,
        );
    });
    scan.skipped = table.skipped();
    outcome
}

fn scan_csv(
    path: &Path,
    detector: &dyn Detect,
    opts: &ReadOptions,
    max: usize,
    scan: &mut FileScan,
) -> Result<(), DataError> {
    let mut rows = CsvRows::open(path, opts)?;
    let columns = rows.columns().to_vec();
    let outcome = in_batches(&mut rows.text_records(), |batch| {
        let hits = scan_records(detector, &columns, &batch);
        tally(hits, max, &mut scan.hits, &mut scan.counts);
    });
    scan.skipped = rows.skipped().clone();
    outcome
}

/// Hands the items of `source` to `scan` in batches of [`BATCH`], reading the
/// next batches on a thread of its own meanwhile, so that parsing overlaps
/// detection. Stops at the first error, after scanning what came before it.
fn in_batches<T: Send, I: Iterator<Item = Result<T, DataError>> + Send>(
    source: &mut I,
    mut scan: impl FnMut(Vec<T>),
) -> Result<(), DataError> {
    // Two batches ahead at most: memory stays a few batches whatever the file.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<T>>(2);
    std::thread::scope(|threads| {
        let reader = threads.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            for item in source {
                match item {
                    Ok(item) => batch.push(item),
                    Err(e) => {
                        let _ = tx.send(batch);
                        return Err(e);
                    }
                }
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if tx.send(full).is_err() {
                        return Ok(());
                    }
                }
            }
            let _ = tx.send(batch);
            Ok(())
        });
        for batch in rx {
            scan(batch);
        }
        reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn scan_parquet(
    path: &Path,
    detector: &dyn Detect,
    max: usize,
    scan: &mut FileScan,
) -> Result<(), DataError> {
    let file = ParquetFile::open(path)?;
    // Each row group keeps its own first `max` per key; merged in order below.
    let groups: Vec<Result<_, DataError>> = (0..file.row_groups())
        .into_par_iter()
        .map(|g| {
            let (mut hits, mut counts) = (Vec::new(), BTreeMap::new());
            file.read_group(g, |rows| {
                tally(scan_rows(detector, &rows), max, &mut hits, &mut counts);
                Ok(())
            })?;
            Ok((hits, counts))
        })
        .collect();
    for g in groups {
        let (hits, counts) = g?;
        // Re-tally the kept hits against the file-wide cap, then add what the
        // group counted beyond them.
        let mut group_kept = BTreeMap::new();
        for h in &hits {
            let key = (
                h.location.column.clone().unwrap_or_default(),
                h.entity.clone(),
            );
            *group_kept.entry(key).or_insert(0u64) += 1;
        }
        tally(hits, max, &mut scan.hits, &mut scan.counts);
        for (key, n) in counts {
            let unlisted = n - group_kept.get(&key).copied().unwrap_or(0);
            *scan.counts.entry(key).or_default() += unlisted;
        }
    }
    Ok(())
}

fn scan_lines(detector: &dyn Detect, lines: &[crate::read::text::TextLine]) -> Vec<Located> {
    lines
        .par_iter()
        .flat_map_iter(|l| {
            let hits = detector.detect(None, &l.text);
            locate(detector, &l.text, hits, None, None, Some(l.line))
        })
        .collect()
}

fn scan_text(
    path: &Path,
    detector: &dyn Detect,
    opts: &ReadOptions,
    max: usize,
    scan: &mut FileScan,
) -> Result<(), DataError> {
    let mut lines = TextLines::open(path, opts)?;
    let outcome = in_batches(&mut lines, |batch| {
        tally(
            scan_lines(detector, &batch),
            max,
            &mut scan.hits,
            &mut scan.counts,
        );
    });
    scan.skipped = lines.skipped().clone();
    outcome
}

fn scan_notebook(
    path: &Path,
    detector: &dyn Detect,
    opts: &ReadOptions,
    max: usize,
    scan: &mut FileScan,
) -> Result<(), DataError> {
    let nb = ipynb::load(path, opts)?;
    for l in ipynb::lines(path, &nb)? {
        let hits = detector.detect(Some(&l.field), &l.text);
        // A notebook place is cell (as the row), field (as the column) and line.
        let located = locate(
            detector,
            &l.text,
            hits,
            Some(l.cell),
            Some(&l.field),
            Some(l.line),
        );
        tally(located, max, &mut scan.hits, &mut scan.counts);
    }
    Ok(())
}

/// Scans every file under `paths`, files in parallel.
pub fn scan_paths(
    paths: &[PathBuf],
    detector: &dyn Detect,
    opts: &ReadOptions,
    max_findings: usize,
) -> Result<Vec<FileScan>, String> {
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
            let mut f = Finding::new(rule, s.path.clone(), format!("{} {}", h.entity, h.preview));
            f.location = Some(Location::Data(h.location.clone()));
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
        assert_eq!(ParquetFile::open(&pq).unwrap().row_groups(), 4);
        assert_capped(&scan_file(&pq, &Toy, &ReadOptions::default(), 1000));
    }
}
