//! Readers on malformed input: a clear error naming the file and the row or
//! line, or a skip with the reason kept under `skip_bad_rows`; never a panic.

use mlsec_data::read::csv::CsvRows;
use mlsec_data::read::ipynb;
use mlsec_data::read::jsonl::JsonlRows;
use mlsec_data::read::parquet::ParquetFile;
use mlsec_data::read::text::TextLines;
use mlsec_data::{detect, Cell, DataFormat, ReadOptions, Table};
use std::fs;
use std::path::Path;

fn all<T>(it: impl Iterator<Item = Result<T, mlsec_data::DataError>>) -> (Vec<T>, Option<String>) {
    let mut ok = Vec::new();
    for r in it {
        match r {
            Ok(x) => ok.push(x),
            Err(e) => return (ok, Some(e.to_string())),
        }
    }
    (ok, None)
}

fn skip() -> ReadOptions {
    ReadOptions {
        skip_bad_rows: true,
        ..Default::default()
    }
}

#[test]
fn csv_reads_quoted_fields_bom_and_semicolons() {
    let data = "\u{feff}id;note\n1;\"a;b\nsecond line\"\n2;plain\n";
    let rows = CsvRows::new(
        Path::new("x.csv"),
        data.as_bytes(),
        b';',
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(&*rows.columns()[0], "id");
    let (rows, err) = all(rows);
    assert!(err.is_none());
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].cells[1].1, Cell::Text("a;b\nsecond line".into()));
    assert_eq!((rows[1].number, rows[1].line), (2, Some(4)));
    let d = mlsec_data::read::csv::delimiter(Path::new("x.csv"), data.as_bytes());
    assert_eq!(d, b';');
}

#[test]
fn ragged_csv_rows_fail_or_are_skipped() {
    let data = "a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n";
    let (rows, err) = all(CsvRows::new(
        Path::new("r.csv"),
        data.as_bytes(),
        b',',
        &ReadOptions::default(),
    )
    .unwrap());
    assert_eq!(rows.len(), 1);
    assert_eq!(
        err.unwrap(),
        "r.csv: row 2 (line 3): 2 field(s) but the header has 3"
    );
    let mut reader = CsvRows::new(Path::new("r.csv"), data.as_bytes(), b',', &skip()).unwrap();
    let rows: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.iter().map(|r| r.number).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(reader.skipped().count, 2);
    assert!(reader.skipped().first[1]
        .to_string()
        .contains("row 4 (line 5): 4 field(s)"));
}

#[test]
fn invalid_utf8_in_a_cell_names_row_and_column() {
    let data: &[u8] = b"name,city\nJos\xe9,Paris\n";
    let (_, err) =
        all(CsvRows::new(Path::new("l1.csv"), data, b',', &ReadOptions::default()).unwrap());
    assert_eq!(
        err.unwrap(),
        "l1.csv: row 1 (line 2): column `name`: invalid UTF-8 at byte 3 of the cell"
    );
    let (_, err) = all(TextLines::new(
        Path::new("t.txt"),
        &b"ok\nbad \xff\n"[..],
        &ReadOptions::default(),
    ));
    assert_eq!(
        err.unwrap(),
        "t.txt: line 2: invalid UTF-8 at byte 4 of the line"
    );
}

#[test]
fn an_unterminated_quote_hits_the_record_limit_not_memory() {
    let mut data = b"a,b\n1,\"never closed".to_vec();
    data.extend(std::iter::repeat_n(b'x', 3 << 20));
    let opts = ReadOptions {
        max_record_bytes: 1 << 20,
        ..Default::default()
    };
    let (_, err) = all(CsvRows::new(Path::new("q.csv"), &data[..], b',', &opts).unwrap());
    let err = err.unwrap();
    assert!(
        err.starts_with("q.csv: row 1 (line 2): record over the limit of 1048576 bytes"),
        "{err}"
    );
}

#[test]
fn huge_lines_are_bounded_in_text_and_jsonl() {
    let opts = ReadOptions {
        max_record_bytes: 1000,
        ..Default::default()
    };
    let mut data = "short\n".to_string();
    data.push_str(&"y".repeat(5000));
    data.push_str("\nafter\n");
    let (lines, err) = all(TextLines::new(Path::new("h.txt"), data.as_bytes(), &opts));
    assert_eq!(lines.len(), 1);
    assert_eq!(
        err.unwrap(),
        "h.txt: line 2: line of 5000 bytes is over the limit of 1000 bytes"
    );
    let opts = ReadOptions {
        skip_bad_rows: true,
        ..opts
    };
    let lines: Vec<_> = TextLines::new(Path::new("h.txt"), data.as_bytes(), &opts)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        lines
            .iter()
            .map(|l| (l.line, l.text.as_str()))
            .collect::<Vec<_>>(),
        [(1, "short"), (3, "after")]
    );
    let json = format!("{{\"a\":1}}\n{{\"a\":\"{}\"}}\n", "z".repeat(5000));
    let opts = ReadOptions {
        max_record_bytes: 1000,
        ..Default::default()
    };
    let (_, err) = all(JsonlRows::new(Path::new("h.jsonl"), json.as_bytes(), &opts));
    assert!(err
        .unwrap()
        .starts_with("h.jsonl: row 2 (line 2): line of 5008 bytes"));
}

#[test]
fn jsonl_rejects_non_objects_and_keeps_nested_values_as_json() {
    let data = "{\"id\": 1, \"tags\": [\"a\", \"b\"], \"n\": null}\n\n[1, 2]\n{\"id\": 2\n";
    let mut reader = JsonlRows::new(Path::new("j.jsonl"), data.as_bytes(), &skip());
    let rows: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows.len(), 1);
    let tags = rows[0].cells.iter().find(|(k, _)| &**k == "tags").unwrap();
    assert_eq!(tags.1, Cell::Other("[\"a\",\"b\"]".into()));
    assert_eq!(reader.skipped().count, 2);
    assert_eq!(
        reader.skipped().first[0].to_string(),
        "j.jsonl: row 2 (line 3): not a JSON object but array"
    );
    assert!(reader.skipped().first[1]
        .to_string()
        .starts_with("j.jsonl: row 3 (line 4): not JSON"));
}

#[test]
fn truncated_and_fake_parquet_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.parquet");
    {
        use arrow_array::{ArrayRef, RecordBatch, StringArray};
        let col: ArrayRef = std::sync::Arc::new(StringArray::from(vec!["alice@example.org"; 1000]));
        let batch = RecordBatch::try_from_iter([("email", col)]).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(
            fs::File::create(&good).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    let bytes = fs::read(&good).unwrap();
    let pq = ParquetFile::open(&good).unwrap();
    assert_eq!(pq.row_groups(), 1);
    let mut n = 0;
    pq.read_group(0, |rows| {
        n += rows.len();
        Ok(())
    })
    .unwrap();
    assert_eq!(n, 1000);
    for cut in [bytes.len() - 3, bytes.len() / 2, 8] {
        let p = dir.path().join(format!("cut{cut}.parquet"));
        fs::write(&p, &bytes[..cut]).unwrap();
        assert_eq!(detect(&p).unwrap(), DataFormat::Parquet);
        let err = match Table::open(&p, DataFormat::Parquet, &ReadOptions::default()) {
            Err(e) => e.to_string(),
            Ok(t) => all(t).1.expect("a truncated file must not read cleanly"),
        };
        assert!(
            err.starts_with(&format!("{}: not a readable Parquet file", p.display())),
            "{err}"
        );
    }
    let fake = dir.path().join("fake.parquet");
    fs::write(&fake, b"id,name\n1,a\n").unwrap();
    assert!(detect(&fake)
        .unwrap_err()
        .to_string()
        .contains("does not start with the Parquet magic"));
}

#[test]
fn detection_checks_content_against_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str, data: &[u8]| {
        let p = dir.path().join(name);
        fs::write(&p, data).unwrap();
        p
    };
    assert_eq!(detect(&p("a.csv", b"x,y\n")).unwrap(), DataFormat::Csv);
    assert_eq!(
        detect(&p("a.ndjson", b"{\"a\":1}\n")).unwrap(),
        DataFormat::Jsonl
    );
    assert_eq!(
        detect(&p("a.json", b"{\"a\":1}\n{\"a\":2}\n")).unwrap(),
        DataFormat::Jsonl
    );
    assert_eq!(detect(&p("a.log", b"hello\n")).unwrap(), DataFormat::Text);
    assert_eq!(
        detect(&p("renamed.csv", b"PAR1\x00\x00")).unwrap(),
        DataFormat::Parquet
    );
    assert!(detect(&p("b.csv", b"x\x00y"))
        .unwrap_err()
        .to_string()
        .contains("NUL"));
    assert!(detect(&p("b.jsonl", b"id,name\n"))
        .unwrap_err()
        .to_string()
        .contains("JSON object"));
}

#[test]
fn notebooks_yield_sources_and_outputs_with_cell_and_line() {
    let nb = serde_json::json!({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n", "contact: bob@example.org"]},
            {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": "print(key)",
             "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["line one\n", "AKIA...\n"]},
                {"output_type": "execute_result", "metadata": {}, "execution_count": 1,
                 "data": {"text/plain": "'x'", "image/png": "iVBOR"}},
                {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["Traceback", "KeyError"]}
             ]}
        ]
    });
    let lines = ipynb::lines(Path::new("n.ipynb"), &nb).unwrap();
    let got: Vec<(u64, &str, u64, &str)> = lines
        .iter()
        .map(|l| (l.cell, l.field.as_str(), l.line, l.text.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (1, "source", 1, "# Title"),
            (1, "source", 2, "contact: bob@example.org"),
            (2, "source", 1, "print(key)"),
            (2, "outputs[0].text", 1, "line one"),
            (2, "outputs[0].text", 2, "AKIA..."),
            (2, "outputs[1].data.text/plain", 1, "'x'"),
            (2, "outputs[2].traceback", 1, "TracebackKeyError"),
        ]
    );
    assert!(ipynb::parse(Path::new("n.ipynb"), b"{\"worksheets\": []}")
        .unwrap_err()
        .to_string()
        .contains("no `cells` list"));
    assert!(ipynb::parse(Path::new("n.ipynb"), b"{\"cells\": [").is_err());
    let bad = serde_json::json!({"cells": [{"source": 5}]});
    assert_eq!(
        ipynb::lines(Path::new("n.ipynb"), &bad)
            .unwrap_err()
            .to_string(),
        "n.ipynb: cell 1: `source` is neither text nor a list of lines"
    );
}

#[test]
fn a_footer_declaring_a_billion_schema_elements_is_refused_before_allocating() {
    // Found by fuzzing: the parquet crate reserved ~180 GB for this tiny footer.
    let bytes = include_bytes!("fixtures/parquet-huge-thrift-list.parquet");
    let err = mlsec_data::read::parquet::read_bytes(Path::new("f.parquet"), bytes.to_vec().into())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("f.parquet: not a readable Parquet file: footer"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.parquet");
    fs::write(&p, bytes).unwrap();
    assert!(ParquetFile::open(&p).is_err());
}
