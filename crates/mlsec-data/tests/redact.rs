//! Redacted copies keep format and schema and contain none of the detected values.

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use mlsec_data::detect::{Detect, FieldHint, Hit};
use mlsec_data::read::parquet::ParquetFile;
use mlsec_data::redact::{redact_file, Redactor, Strategy};
use mlsec_data::{DataFormat, ReadOptions, Table};
use std::fs;
use std::sync::Arc;

/// Emails (words with `@` and `.`) and AWS access key ids, enough for round trips.
struct Toy;

impl Detect for Toy {
    fn field(&self, _name: Option<&str>) -> FieldHint {
        FieldHint::default()
    }

    fn detect_in(&self, _field: FieldHint, text: &str, hits: &mut Vec<Hit>) {
        let mut start = 0;
        for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
            if c.is_whitespace() || ",;=<>\"".contains(c) {
                let word = &text[start..i];
                if word.contains('@') && word.contains('.') {
                    hits.push(Hit {
                        entity: "EMAIL",
                        secret: false,
                        start,
                        end: i,
                        confidence: 0.9,
                    });
                } else if word.len() == 20 && word.starts_with("AKIA") {
                    hits.push(Hit {
                        entity: "AWS_ACCESS_KEY",
                        secret: true,
                        start,
                        end: i,
                        confidence: 0.9,
                    });
                }
                start = i + c.len_utf8();
            }
        }
    }
    fn mask(&self, _entity: &str, value: &str) -> String {
        format!("{}***", value.chars().next().unwrap_or('*'))
    }
}

const SECRETS: [&str; 3] = [
    "alice@example.org",
    "bob@example.net",
    "AKIAABCDEFGHIJKLMNOP",
];

fn assert_clean(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for s in SECRETS {
        assert!(!text.contains(s), "{s} left in {text}");
    }
}

#[test]
fn csv_keeps_header_and_delimiter_under_every_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let original = "id;email;note\n1;alice@example.org;\"key AKIAABCDEFGHIJKLMNOP; rotate\"\n2;bob@example.net;fine\n3;alice@example.org;none\n";
    fs::write(&input, original).unwrap();
    let out = dir.path().join("out.csv");
    let r = Redactor::new(&Toy, Strategy::Replace).unwrap();
    let report = redact_file(&input, &out, &r, &ReadOptions::default()).unwrap();
    assert_eq!(
        fs::read_to_string(&input).unwrap(),
        original,
        "input untouched"
    );
    let text = fs::read_to_string(&out).unwrap();
    assert_clean(text.as_bytes());
    assert!(
        text.starts_with("id;email;note\n1;<EMAIL>;key <AWS_ACCESS_KEY>; rotate\n")
            || text.starts_with("id;email;note\n1;<EMAIL>;\"key <AWS_ACCESS_KEY>; rotate\"\n"),
        "{text}"
    );
    assert_eq!(report.total, 4);
    assert_eq!(report.counts["EMAIL"]["email"], 3);
    assert_eq!(report.counts["AWS_ACCESS_KEY"]["note"], 1);

    let r = Redactor::new(&Toy, Strategy::Hash).unwrap();
    redact_file(&input, &out, &r, &ReadOptions::default()).unwrap();
    let rows: Vec<_> = Table::open(&out, DataFormat::Csv, &ReadOptions::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let email = |i: usize| rows[i].cells[1].1.as_str().unwrap().to_string();
    assert!(email(0).starts_with("<EMAIL:") && email(0).len() == "<EMAIL:>".len() + 16);
    assert_eq!(email(0), email(2), "same value, same token within a run");
    assert_ne!(email(0), email(1));

    let r = Redactor::new(&Toy, Strategy::DropColumn).unwrap();
    let report = redact_file(&input, &out, &r, &ReadOptions::default()).unwrap();
    assert_eq!(report.dropped_columns, ["email", "note"]);
    assert_eq!(fs::read_to_string(&out).unwrap(), "id\n1\n2\n3\n");
    assert!(redact_file(&input, &input, &r, &ReadOptions::default()).is_err());
}

#[test]
fn jsonl_text_and_notebooks_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let r = Redactor::new(&Toy, Strategy::Mask).unwrap();
    let jl = dir.path().join("a.jsonl");
    fs::write(&jl, "{\"user\":\"alice@example.org\",\"n\":1,\"meta\":{\"cc\":[\"bob@example.net\"]}}\n{\"user\":\"x\",\"n\":2}\n").unwrap();
    let out = dir.path().join("b.jsonl");
    redact_file(&jl, &out, &r, &ReadOptions::default()).unwrap();
    let text = fs::read_to_string(&out).unwrap();
    assert_clean(text.as_bytes());
    assert_eq!(
        text,
        "{\"meta\":{\"cc\":[\"b***\"]},\"n\":1,\"user\":\"a***\"}\n{\"n\":2,\"user\":\"x\"}\n"
    );

    let txt = dir.path().join("a.log");
    fs::write(
        &txt,
        "login alice@example.org ok\nkey=AKIAABCDEFGHIJKLMNOP\n",
    )
    .unwrap();
    let out = dir.path().join("b.log");
    redact_file(&txt, &out, &r, &ReadOptions::default()).unwrap();
    assert_eq!(
        fs::read_to_string(&out).unwrap(),
        "login a*** ok\nkey=A***\n"
    );

    let nb = dir.path().join("a.ipynb");
    let doc = serde_json::json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": ["send(\"alice@example.org\")\n", "x = 1"],
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["sent to bob@example.net\n"]}]}]});
    fs::write(&nb, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = dir.path().join("b.ipynb");
    let report = redact_file(&nb, &out, &r, &ReadOptions::default()).unwrap();
    assert_clean(&fs::read(&out).unwrap());
    let back: serde_json::Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        back["cells"][0]["source"],
        serde_json::json!(["send(\"a***\")\n", "x = 1"])
    );
    assert_eq!(report.counts["EMAIL"]["outputs[0].text"], 1);
    assert!(redact_file(
        &nb,
        &dir.path().join("c.ipynb"),
        &Redactor::new(&Toy, Strategy::DropColumn).unwrap(),
        &ReadOptions::default()
    )
    .is_err());
}

#[test]
fn parquet_keeps_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        (
            "email",
            Arc::new(StringArray::from(vec![
                Some("alice@example.org"),
                None,
                Some("bob@example.net"),
            ])) as ArrayRef,
        ),
    ])
    .unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        fs::File::create(&input).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let out = dir.path().join("out.parquet");
    let r = Redactor::new(&Toy, Strategy::Replace).unwrap();
    let report = redact_file(&input, &out, &r, &ReadOptions::default()).unwrap();
    assert_eq!(report.total, 2);
    let back = ParquetFile::open(&out, &mlsec_data::ReadOptions::default()).unwrap();
    assert_eq!(back.schema().fields(), batch.schema().fields());
    let rows: Vec<_> = Table::open(&out, DataFormat::Parquet, &ReadOptions::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let emails: Vec<Option<&str>> = rows.iter().map(|r| r.cells[1].1.as_str()).collect();
    assert_eq!(emails, [Some("<EMAIL>"), None, Some("<EMAIL>")]);
}
