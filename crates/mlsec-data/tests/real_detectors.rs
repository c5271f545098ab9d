//! The data commands with the real detectors (mlsec-pii), end to end.
//!
//! Issue 9: the numbers of a score column (random floats, as Python's
//! `random.random()` and Arrow print them) are not phone numbers, whether the
//! file types them (Parquet float and integer columns, JSON numbers) or not
//! (CSV), so `pii` reports none and `redact --strategy drop-column` keeps the
//! column. Issue 10: a private key cut short is found and redacted whole.

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use mlsec_data::pii::scan_file;
use mlsec_data::redact::{redact_file, Redactor, Strategy};
use mlsec_data::{PiiDetector, ReadOptions};
use std::fs;
use std::path::Path;
use std::sync::Arc;

const ROWS: usize = 100_000;

/// Floats in [0, 1) from a fixed xorshift, 53 random bits each.
fn scores() -> Vec<f64> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..ROWS)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// The note of row `i` (0-based): one real phone number, on the last row.
fn note(i: usize) -> String {
    if i + 1 == ROWS {
        "call me on +1 415 555 0132".into()
    } else {
        format!("row {i}")
    }
}

/// What `pii` counts per (column, entity), and the columns `drop-column` drops.
fn scan(path: &Path) -> (Vec<(String, String, u64)>, Vec<String>) {
    let detector = PiiDetector::for_entities(&[]).unwrap();
    let s = scan_file(path, &detector, &ReadOptions::default(), 10);
    assert!(s.error.is_none(), "{:?}", s.error);
    let counts = s.counts.into_iter().map(|((c, e), n)| (c, e, n)).collect();
    let out = path.with_extension(format!(
        "out.{}",
        path.extension().unwrap().to_string_lossy()
    ));
    let r = Redactor::new(&detector, Strategy::DropColumn).unwrap();
    let report = redact_file(path, &out, &r, &ReadOptions::default()).unwrap();
    (counts, report.dropped_columns)
}

fn assert_only_the_note(path: &Path) {
    let (counts, dropped) = scan(path);
    assert_eq!(
        counts,
        [("note".to_string(), "PHONE".to_string(), 1)],
        "{}",
        path.display()
    );
    assert_eq!(dropped, ["note"], "{}", path.display());
}

#[test]
fn score_columns_are_not_phone_numbers_in_any_format() {
    let dir = tempfile::tempdir().unwrap();
    let scores = scores();

    let parquet = dir.path().join("scores.parquet");
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            Arc::new(Int64Array::from_iter_values(0..ROWS as i64)) as ArrayRef,
        ),
        (
            "score",
            Arc::new(Float64Array::from(scores.clone())) as ArrayRef,
        ),
        (
            "score_pct",
            Arc::new(Float64Array::from_iter_values(
                scores.iter().map(|v| v * 100.0),
            )) as ArrayRef,
        ),
        (
            "note",
            Arc::new(StringArray::from_iter_values((0..ROWS).map(note))) as ArrayRef,
        ),
    ])
    .unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        fs::File::create(&parquet).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    assert_only_the_note(&parquet);

    let (mut jsonl, mut csv) = (String::new(), String::from("id,score,score_pct,note\n"));
    for (i, v) in scores.iter().enumerate() {
        let row = serde_json::json!({"id": i, "score": v, "score_pct": v * 100.0, "note": note(i)});
        jsonl.push_str(&format!("{row}\n"));
        csv.push_str(&format!("{i},{v},{},{}\n", v * 100.0, note(i)));
    }
    let jsonl_path = dir.path().join("scores.jsonl");
    fs::write(&jsonl_path, jsonl).unwrap();
    assert_only_the_note(&jsonl_path);
    let csv_path = dir.path().join("scores.csv");
    fs::write(&csv_path, csv).unwrap();
    assert_only_the_note(&csv_path);
}

/// A column named for phone numbers still holds phone numbers when the file
/// stores them as integers (a leading `+` or `0` lost): the name is the
/// evidence, as for a bare digit run in a CSV phone column. Its floats are not.
#[test]
fn an_integer_phone_column_is_still_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contacts.jsonl");
    fs::write(
        &path,
        "{\"phone\": 4155550132, \"mobile_score\": 0.0948123594256941}\n",
    )
    .unwrap();
    let (counts, dropped) = scan(&path);
    assert_eq!(counts, [("phone".to_string(), "PHONE".to_string(), 1)]);
    assert_eq!(dropped, ["phone"]);
}

/// Base64 lines of 64 characters, as a PEM body (not a real key).
const KEY_LINES: [&str; 3] = [
    "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi8LYQZqXxBVJUZoqsSq1YdQp1x",
    "Hq3w8ZkR0mXo5bXvN2cPq7tLhJ9sYd4WfUeK1aGz6rTnB0yVcM5pQx3iLwEo8uSj",
    "Zr4NtY7bHk2PqW9mXc1VdL6sJf0RgA3eUo8iTy5KnB2wQz7MhC4xGv9pEl1aDs6u",
];

/// A key whose END line was cut off, in a JSONL string (line breaks as JSON
/// escapes, so real ones in the value), in a JSONL string whose breaks were
/// escaped twice (`\\n` in the file, `\n` in the value) and in a log line:
/// found, and the redacted copy keeps none of its material.
#[test]
fn a_private_key_cut_short_is_found_and_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let begin = "-----BEGIN RSA PRIVATE KEY-----";
    let cut = &KEY_LINES[2][..40];
    let key = format!("{begin}\n{}\n{}\n{cut}", KEY_LINES[0], KEY_LINES[1]);
    let twice = format!("{begin}\\n{}\\n{}\\n{cut}", KEY_LINES[0], KEY_LINES[1]);
    let jsonl = dir.path().join("chat.jsonl");
    fs::write(
        &jsonl,
        format!(
            "{}\n{}\n",
            serde_json::json!({"id": 1, "message": format!("here is the key: {key}")}),
            serde_json::json!({"id": 2, "message": twice}),
        ),
    )
    .unwrap();
    let log = dir.path().join("app.log");
    fs::write(
        &log,
        format!("12:00:01 INFO start\n12:00:02 WARN config dump: {twice}\n12:00:03 INFO done\n"),
    )
    .unwrap();
    let detector = PiiDetector::for_entities(&[]).unwrap();
    for (path, column) in [(&jsonl, "message"), (&log, "")] {
        let s = scan_file(path, &detector, &ReadOptions::default(), 0);
        assert!(s.error.is_none(), "{:?}", s.error);
        let want = if column.is_empty() { 1 } else { 2 };
        assert_eq!(
            s.counts
                .get(&(column.to_string(), "PRIVATE_KEY".to_string())),
            Some(&want),
            "{}: {:?}",
            path.display(),
            s.counts
        );
        for h in &s.hits {
            assert!(!h.preview.contains(&KEY_LINES[0][20..40]), "{}", h.preview);
        }
        let out = dir.path().join(format!(
            "out.{}",
            path.extension().unwrap().to_string_lossy()
        ));
        let r = Redactor::new(&detector, Strategy::Mask).unwrap();
        let report = redact_file(path, &out, &r, &ReadOptions::default()).unwrap();
        assert_eq!(report.counts["PRIVATE_KEY"].values().sum::<u64>(), want);
        let text = fs::read_to_string(&out).unwrap();
        for line in KEY_LINES.iter().take(2).chain([&cut]) {
            assert!(
                !text.contains(&line[20..40]),
                "{} left in {text}",
                &line[20..40]
            );
        }
        assert!(text.contains("-----BEGIN RSA PRIVATE KEY----- ["), "{text}");
    }
}
