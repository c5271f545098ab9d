//! `mlsec data pii`: run the detectors over every cell and line of data files,
//! in parallel over files and, inside a file, over batches of rows (CSV, JSONL,
//! text) or row groups (Parquet).

use crate::detect::{locate, Detect, Located};
use crate::manifest::collect_files;
use crate::read::parquet::ParquetFile;
use crate::read::text::TextLines;
use crate::read::{ipynb, ReadOptions, Row, Skipped, Table};
use crate::{rules, DataError, DataFormat};
use mlsec_core::{declare_rule, Finding, Location, Rule};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Rows or lines handed to the thread pool at a time.
const BATCH: usize = 4096;

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
    pub hits: Vec<Located>,
    pub skipped: Skipped,
    /// Why the file could not be read to its end; hits before it are kept.
    pub error: Option<DataError>,
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

/// Scans one file.
pub fn scan_file(path: &Path, detector: &dyn Detect, opts: &ReadOptions) -> FileScan {
    let mut scan = FileScan {
        path: path.display().to_string(),
        format: None,
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        hits: Vec::new(),
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
    let result = match format {
        DataFormat::Parquet => scan_parquet(path, detector, &mut scan),
        DataFormat::Csv | DataFormat::Jsonl => scan_table(path, format, detector, opts, &mut scan),
        DataFormat::Text => scan_text(path, detector, opts, &mut scan),
        DataFormat::Ipynb => scan_notebook(path, detector, opts, &mut scan),
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
    scan: &mut FileScan,
) -> Result<(), DataError> {
    let mut table = Table::open(path, format, opts)?;
    let mut batch = Vec::with_capacity(BATCH);
    let mut outcome = Ok(());
    for row in table.by_ref() {
        match row {
            Ok(row) => batch.push(row),
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
        if batch.len() == BATCH {
            scan.hits.extend(scan_rows(detector, &batch));
            batch.clear();
        }
    }
    scan.hits.extend(scan_rows(detector, &batch));
    scan.skipped = table.skipped();
    outcome
}

fn scan_parquet(path: &Path, detector: &dyn Detect, scan: &mut FileScan) -> Result<(), DataError> {
    let file = ParquetFile::open(path)?;
    let groups: Vec<Result<Vec<Located>, DataError>> = (0..file.row_groups())
        .into_par_iter()
        .map(|g| {
            let mut hits = Vec::new();
            file.read_group(g, |rows| {
                hits.extend(scan_rows(detector, &rows));
                Ok(())
            })?;
            Ok(hits)
        })
        .collect();
    for g in groups {
        scan.hits.extend(g?);
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
    scan: &mut FileScan,
) -> Result<(), DataError> {
    let mut lines = TextLines::open(path, opts)?;
    let mut batch = Vec::with_capacity(BATCH);
    let mut outcome = Ok(());
    for line in lines.by_ref() {
        match line {
            Ok(l) => batch.push(l),
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
        if batch.len() == BATCH {
            scan.hits.extend(scan_lines(detector, &batch));
            batch.clear();
        }
    }
    scan.hits.extend(scan_lines(detector, &batch));
    scan.skipped = lines.skipped().clone();
    outcome
}

fn scan_notebook(
    path: &Path,
    detector: &dyn Detect,
    opts: &ReadOptions,
    scan: &mut FileScan,
) -> Result<(), DataError> {
    let nb = ipynb::load(path, opts)?;
    for l in ipynb::lines(path, &nb)? {
        let hits = detector.detect(Some(&l.field), &l.text);
        // A notebook place is cell (as the row), field (as the column) and line.
        scan.hits.extend(locate(
            detector,
            &l.text,
            hits,
            Some(l.cell),
            Some(&l.field),
            Some(l.line),
        ));
    }
    Ok(())
}

/// Scans every file under `paths`, files in parallel.
pub fn scan_paths(
    paths: &[PathBuf],
    detector: &dyn Detect,
    opts: &ReadOptions,
) -> Result<Vec<FileScan>, String> {
    let files = collect_files(paths, &[])?;
    Ok(files
        .par_iter()
        .map(|f| scan_file(&f.path, detector, opts))
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
        let s = scan_file(&csv, &Toy, &ReadOptions::default());
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
        let s = scan_file(&txt, &Toy, &ReadOptions::default());
        assert_eq!(
            (s.hits[0].location.line, s.hits[0].location.start),
            (Some(2), 5)
        );

        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "a,b\nx@y.org,1\n2\n").unwrap();
        let s = scan_file(&bad, &Toy, &ReadOptions::default());
        assert_eq!(s.hits.len(), 1, "hits before the error are kept");
        let f = findings(&[s]);
        assert_eq!(f[1].rule, "DAT009");
        assert!(f[1].message.contains("row 2 (line 3)"));
    }
}
