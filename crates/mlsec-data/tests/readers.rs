//! Readers on malformed input: a clear error naming the file and the row or
//! line, or a skip with the reason kept under `skip_bad_rows`; never a panic.

use mlsec_data::read::csv::CsvRows;
use mlsec_data::read::ipynb;
use mlsec_data::read::jsonl::JsonlRows;
use mlsec_data::read::parquet::{read_bytes, ParquetFile, ParquetRows};
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
    let pq = ParquetFile::open(&good, &ReadOptions::default()).unwrap();
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

// Hostile Parquet footers and page headers. The tests marked "OOM regression" make
// the parquet crate reserve gigabytes (and abort) without mlsec's pre-checks in
// read/footer.rs and read/parquet.rs; to see it, remove a check and run them under
// a memory cap: `(ulimit -v 4000000; cargo test -p mlsec-data --test readers parquet)`.
// With the checks they pass with or without the cap.

/// The error both ways of reading Parquet (from a file, from memory) give for
/// `bytes`, which must be the same.
fn parquet_refused(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.parquet");
    fs::write(&p, bytes).unwrap();
    let from_file = match ParquetFile::open(&p, &ReadOptions::default()) {
        Ok(_) => panic!("a hostile file opened"),
        Err(e) => e.to_string().replace(&p.display().to_string(), "f.parquet"),
    };
    let from_memory = read_bytes(
        Path::new("f.parquet"),
        bytes.to_vec().into(),
        &ReadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(from_file, from_memory);
    from_memory
}

/// Rows read both ways.
fn parquet_rows(bytes: &[u8]) -> Vec<mlsec_data::Row> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.parquet");
    fs::write(&p, bytes).unwrap();
    let (rows, err) = all(ParquetRows::new(
        ParquetFile::open(&p, &ReadOptions::default()).unwrap(),
    ));
    assert_eq!(err, None);
    let n = read_bytes(
        Path::new("f.parquet"),
        bytes.to_vec().into(),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(n, rows.len() as u64);
    rows
}

fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
    out
}

fn zigzag(v: i64) -> Vec<u8> {
    varint(((v << 1) ^ (v >> 63)) as u64)
}

/// A file of just `footer` (a Thrift compact FileMetaData) between the magics.
fn file_with_footer(footer: &[u8]) -> Vec<u8> {
    let mut file = b"PAR1".to_vec();
    file.extend(footer);
    file.extend((footer.len() as u32).to_le_bytes());
    file.extend(b"PAR1");
    file
}

/// FileMetaData fields 1 (version 1) and 2 (the schema: `elements`, each a
/// SchemaElement's fields), ready for field 3 on.
fn footer_with_schema(elements: &[Vec<u8>]) -> Vec<u8> {
    let mut f = vec![0x15, 0x02, 0x19];
    match elements.len() {
        n @ 0..=14 => f.push((n as u8) << 4 | 0x0c),
        n => {
            f.push(0xfc);
            f.extend(varint(n as u64));
        }
    }
    for e in elements {
        f.extend(e);
        f.push(0);
    }
    f
}

/// A SchemaElement's fields: 3 repetition REQUIRED, 4 name, 5 num_children.
fn group(name: &str, children: i64) -> Vec<u8> {
    let mut e = vec![0x35, 0x00, 0x18];
    e.extend(varint(name.len() as u64));
    e.extend(name.as_bytes());
    e.push(0x15);
    e.extend(zigzag(children));
    e
}

/// A SchemaElement's fields: 1 physical type, 3 repetition REQUIRED, 4 name.
fn leaf(name: &str, physical: i64) -> Vec<u8> {
    let mut e = vec![0x15];
    e.extend(zigzag(physical));
    e.extend([0x25, 0x00, 0x18]);
    e.extend(varint(name.len() as u64));
    e.extend(name.as_bytes());
    e
}

#[test]
fn a_footer_declaring_a_billion_schema_elements_is_refused_before_allocating() {
    // OOM regression, found by fuzzing: the parquet crate reserved ~180 GB for this tiny footer.
    let err = parquet_refused(include_bytes!("fixtures/parquet-huge-thrift-list.parquet"));
    assert!(
        err.starts_with("f.parquet: not a readable Parquet file: footer"),
        "{err}"
    );
}

#[test]
fn a_parquet_footer_field_of_the_wrong_type_is_refused_before_allocating() {
    // OOM regression, found by fuzzing: the crate reserved 76 GB for this 121-byte file.
    assert_eq!(
        parquet_refused(include_bytes!(
            "fixtures/parquet-field-type-mismatch.parquet"
        )),
        "f.parquet: not a readable Parquet file: footer field 1 (version) of FileMetaData \
         has type i64, expected i32"
    );
    // The trick spelled out. Field 5 (key-value metadata) is declared a struct holding
    // struct field 15 = { i32 field 23 = 10507345 }. The crate goes by the field id
    // alone and reads a list header there instead: 0xfc and a varint count of
    // 1,352,684,625 KeyValues, 65 GB; skipping by the declared types looks harmless.
    let footer = [
        0x15, 0x02, 0x4c, 0xfc, 0x85, 0x85, 0x85, 0x85, 0x05, 0x00, 0x00, 0x00,
    ];
    assert_eq!(
        parquet_refused(&file_with_footer(&footer)),
        "f.parquet: not a readable Parquet file: footer field 5 (key_value_metadata) of \
         FileMetaData has type struct, expected list"
    );
    // A list of the wrong element type.
    let footer = [0x15, 0x02, 0x49, 0x15, 0x02, 0x00];
    assert_eq!(
        parquet_refused(&file_with_footer(&footer)),
        "f.parquet: not a readable Parquet file: footer field 5 (key_value_metadata) of \
         FileMetaData is a list of i32, expected a list of struct"
    );
}

#[test]
fn a_parquet_footer_of_many_empty_row_groups_is_refused_for_the_memory_they_need() {
    // OOM regression: 48 million empty row groups take a byte each, so the count fits
    // the footer, but the crate reserves 96 bytes of metadata for each: 4.6 GB.
    let n = 48_000_000;
    let mut footer = footer_with_schema(&[group("root", 0)]);
    footer.extend([0x16, 0x00, 0x19, 0xfc]); // 3: num_rows 0; 4: row_groups, a list of structs
    footer.extend(varint(n as u64));
    footer.resize(footer.len() + n, 0);
    footer.push(0);
    let err = parquet_refused(&file_with_footer(&footer));
    assert!(
        err.starts_with(
            "f.parquet: not a readable Parquet file: footer would make the reader reserve over "
        ) && err.ends_with(" bytes (limit 1073741824)"),
        "{err}"
    );
}

#[test]
fn parquet_schemas_that_are_not_one_shallow_tree_are_refused() {
    let refused = |elements: &[Vec<u8>]| {
        let mut footer = footer_with_schema(elements);
        footer.push(0);
        parquet_refused(&file_with_footer(&footer))
    };
    // The crate reserves room for a group's children before reading them:
    // usize::MAX pointers for -1 children.
    assert_eq!(
        refused(&[group("root", -1)]),
        "f.parquet: not a readable Parquet file: footer schema element 0 declares -1 children"
    );
    assert_eq!(
        refused(&[group("root", 3), leaf("a", 1)]),
        "f.parquet: not a readable Parquet file: footer schema declares more children than \
         it has elements"
    );
    assert_eq!(
        refused(&[group("root", 1), leaf("a", 1), leaf("b", 1)]),
        "f.parquet: not a readable Parquet file: footer schema has elements after its root's \
         children (element 2)"
    );
    // The crate and Arrow walk the schema recursively: a deep chain overflows the stack.
    let mut chain: Vec<Vec<u8>> = (0..100).map(|_| group("g", 1)).collect();
    chain.push(leaf("x", 1));
    assert_eq!(
        refused(&chain),
        "f.parquet: not a readable Parquet file: footer schema is nested over 100 levels deep"
    );
}

#[test]
fn a_parquet_schema_nested_to_the_limit_reads_on_a_small_stack() {
    use arrow_array::{ArrayRef, Int32Array, StructArray};
    use arrow_schema::{DataType, Field};
    // Root, 98 structs, the leaf: a 100-level schema tree, read where threads
    // of a pool would (2 MiB stacks).
    let mut array: ArrayRef = std::sync::Arc::new(Int32Array::from(vec![7, 8]));
    for depth in 0..98 {
        let field = Field::new(format!("s{depth}"), array.data_type().clone(), false);
        array = std::sync::Arc::new(StructArray::from(vec![(std::sync::Arc::new(field), array)]));
    }
    assert!(matches!(array.data_type(), DataType::Struct(_)));
    let batch = arrow_array::RecordBatch::try_from_iter([("deep", array)]).unwrap();
    let mut bytes = Vec::new();
    // Without the Arrow schema in the metadata: arrow-ipc reads it only 64 levels deep.
    let options =
        parquet::arrow::arrow_writer::ArrowWriterOptions::new().with_skip_arrow_metadata(true);
    let mut w =
        parquet::arrow::ArrowWriter::try_new_with_options(&mut bytes, batch.schema(), options)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let rows = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || parquet_rows(&bytes).len())
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(rows, 2);
}

#[test]
fn int96_statistics_longer_than_12_bytes_are_refused() {
    // The crate asserts (panics) that INT96 statistics are 12 bytes.
    let mut footer = footer_with_schema(&[group("root", 1), leaf("t", 3)]);
    footer.extend([0x16, 0x00, 0x19, 0x1c]); // 3: num_rows 0; 4: one row group
    footer.extend([0x19, 0x1c, 0x3c, 0xcc, 0x28, 13]); // columns: [{meta_data: {statistics: {min:
    footer.extend([0u8; 13]); // 13 bytes
    footer.extend([0, 0, 0, 0, 0]); // }}}]}}
    assert_eq!(
        parquet_refused(&file_with_footer(&footer)),
        "f.parquet: not a readable Parquet file: footer has 13-byte statistics for INT96 \
         column 0 (INT96 is 12 bytes)"
    );
}

/// A Parquet file as data tools write them: 3 row groups of several pages,
/// dictionary-encoded strings, integers, floats, nulls and a list column, Snappy.
fn realistic_parquet(version: parquet::file::properties::WriterVersion) -> Vec<u8> {
    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use std::sync::Arc;
    let n = 3000;
    let id: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n as i64));
    let name: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..n).map(|i| ["alice", "bob", "carol"][i % 3]),
    ));
    let score: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..n).map(|i| i as f64 / 4.0),
    ));
    let note: ArrayRef = Arc::new(StringArray::from_iter(
        (0..n).map(|i| (i % 3 != 0).then(|| format!("note {i}"))),
    ));
    let mut tags = ListBuilder::new(StringBuilder::new());
    for i in 0..n {
        for t in 0..i % 3 {
            tags.values().append_value(format!("t{t}"));
        }
        tags.append(i % 5 != 0);
    }
    let tags: ArrayRef = Arc::new(tags.finish());
    let batch = arrow_array::RecordBatch::try_from_iter([
        ("id", id),
        ("name", name),
        ("score", score),
        ("note", note),
        ("tags", tags),
    ])
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_writer_version(version)
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_max_row_group_size(1000)
        .set_data_page_size_limit(1024)
        .build();
    let mut bytes = Vec::new();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    bytes
}

#[test]
fn a_realistic_parquet_file_passes_the_checks_and_reads_fully() {
    use parquet::file::properties::WriterVersion;
    for version in [WriterVersion::PARQUET_1_0, WriterVersion::PARQUET_2_0] {
        let bytes = realistic_parquet(version);
        let meta = parquet::file::metadata::ParquetMetaDataReader::new()
            .parse_and_finish(&bytes::Bytes::from(bytes.clone()))
            .unwrap();
        assert_eq!(meta.num_row_groups(), 3);
        let name = meta.row_group(0).column(1);
        assert!(name.dictionary_page_offset().is_some());
        assert_eq!(name.compression(), parquet::basic::Compression::SNAPPY);
        let rows = parquet_rows(&bytes);
        assert_eq!(rows.len(), 3000);
        let cells: Vec<(&str, &Cell)> = rows[4].cells.iter().map(|(k, v)| (&**k, v)).collect();
        assert_eq!(
            cells,
            [
                ("id", &Cell::Other("4".into())),
                ("name", &Cell::Text("bob".into())),
                ("score", &Cell::Other("1.0".into())),
                ("note", &Cell::Text("note 4".into())),
                ("tags", &Cell::Other("[t0]".into())),
            ]
        );
        assert_eq!(rows[2999].number, 3000);
        assert_eq!(rows[3].cells[3].1, Cell::Null);
    }
}

/// A valid file of one text column in one page, whose header carries statistics
/// (room to rewrite the header in place), and where its page is: (file, page
/// offset, header length, compressed size, values).
fn one_page_parquet(codec: parquet::basic::Compression) -> (Vec<u8>, usize, usize, i32, i32) {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let text = arrow_array::StringArray::from_iter_values(
        (0..100).map(|i| format!("row {i:03} of a column with room for page statistics")),
    );
    let batch = arrow_array::RecordBatch::try_from_iter([("text", std::sync::Arc::new(text) as _)])
        .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(codec)
        .set_dictionary_enabled(false)
        .set_write_page_header_statistics(true)
        .build();
    let mut bytes = Vec::new();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    // Where the page is, from the crate's own reading of the file.
    let reader = SerializedFileReader::new(bytes::Bytes::from(bytes.clone())).unwrap();
    let chunk = reader.metadata().row_group(0).column(0).clone();
    let mut pages = reader
        .get_row_group(0)
        .unwrap()
        .get_column_page_reader(0)
        .unwrap();
    let page = pages.get_next_page().unwrap().unwrap();
    assert!(pages.get_next_page().unwrap().is_none());
    assert_eq!(page.encoding(), parquet::basic::Encoding::PLAIN);
    assert_eq!(chunk.dictionary_page_offset(), None);
    // The chunk's sizes count the header once each.
    let header = chunk.uncompressed_size() as usize - page.buffer().len();
    let compressed = chunk.compressed_size() as usize - header;
    let offset = chunk.data_page_offset() as usize;
    (
        bytes,
        offset,
        header,
        compressed as i32,
        page.num_values() as i32,
    )
}

/// A data page header declaring `uncompressed` and `compressed` sizes (then the
/// fields in `extra`), padded through its statistics to `len` bytes.
fn page_header(
    uncompressed: i32,
    compressed: i32,
    values: i32,
    extra: &[u8],
    len: usize,
) -> Vec<u8> {
    for filler in 0..len {
        let mut h = vec![0x15, 0x00, 0x15]; // 1: type DATA_PAGE; 2:
        h.extend(zigzag(uncompressed.into()));
        h.push(0x15); // 3:
        h.extend(zigzag(compressed.into()));
        h.extend([0x2c, 0x15]); // 5: DataPageHeader { 1: num_values
        h.extend(zigzag(values.into()));
        h.extend([0x15, 0x00, 0x15, 0x06, 0x15, 0x06]); // PLAIN values, RLE levels
        h.extend([0x1c, 0x18]); // 5: statistics { 1: max
        h.extend(varint(filler as u64));
        h.resize(h.len() + filler, b'x');
        h.extend([0x00, 0x00]); // } }
        h.extend(extra);
        h.push(0x00);
        if h.len() == len {
            return h;
        }
    }
    panic!("no page header fits {len} bytes");
}

#[test]
fn parquet_page_headers_declaring_huge_or_bad_sizes_are_refused() {
    use parquet::basic::Compression;
    let (file, at, len, compressed, values) = one_page_parquet(Compression::UNCOMPRESSED);
    let with_header = |header: Vec<u8>| {
        let mut f = file.clone();
        f[at..at + len].copy_from_slice(&header);
        f
    };
    // The rewritten header reads as the original did.
    let rows = parquet_rows(&with_header(page_header(
        compressed,
        compressed,
        values,
        &[],
        len,
    )));
    assert_eq!(rows.len(), 100);
    let prefix = "f.parquet: not a readable Parquet file: row group 0, column `text`: ";
    // OOM regression: the crate reserves the declared uncompressed size to decompress.
    let huge = with_header(page_header(i32::MAX, compressed, values, &[], len));
    assert_eq!(
        parquet_refused(&huge),
        format!(
            "{prefix}page at offset {at} declares 2147483647 uncompressed bytes (limit 268435456)"
        )
    );
    let negative = with_header(page_header(-1, compressed, values, &[], len));
    assert_eq!(
        parquet_refused(&negative),
        format!("{prefix}page at offset {at} declares -1 uncompressed bytes (limit 268435456)")
    );
    let long = with_header(page_header(
        compressed,
        compressed + 1_000_000,
        values,
        &[],
        len,
    ));
    assert_eq!(
        parquet_refused(&long),
        format!(
            "{prefix}page at offset {at} declares {} compressed bytes, past the end of its column chunk",
            compressed + 1_000_000
        )
    );
    // A DataPageHeaderV2 whose boolean is_compressed is an i32: the crate panics.
    let v2 = [0x3c, 0x75, 0x02, 0x00];
    let mistyped = with_header(page_header(compressed, compressed, values, &v2, len));
    assert_eq!(
        parquet_refused(&mistyped),
        format!(
            "{prefix}page header field 7 (is_compressed) of DataPageHeaderV2 has type i32, \
             expected bool (offset {at})"
        )
    );
    // A header that runs to the end of its column chunk: unknown i32 fields (id 100).
    let mut truncated = file.clone();
    let end = at + len + compressed as usize;
    for (i, b) in truncated[at..end].iter_mut().enumerate() {
        *b = [0x05, 0xc8, 0x01, 0x00][i % 4];
    }
    assert_eq!(
        parquet_refused(&truncated),
        format!("{prefix}page header ends inside a value (offset {at})")
    );
}

/// Files pyarrow 26 wrote from one table (fuzz/seeds/make-parquet.py), once in
/// each codec it offers: gzip, zstd (Polars' default), LZ4 and Brotli must read
/// as the uncompressed file does.
#[test]
fn parquet_in_every_codec_reads_the_same_rows() {
    let fixture = |codec: &str| {
        fs::read(format!(
            "{}/tests/fixtures/pyarrow-{codec}.parquet",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let plain = parquet_rows(&fixture("none"));
    assert_eq!(plain.len(), 40);
    assert!(
        plain[39]
            .cells
            .iter()
            .any(|(name, cell)| &**name == "email"
                && *cell == Cell::Text("user39@example.com".into()))
    );
    for codec in ["snappy", "gzip", "zstd", "lz4", "brotli"] {
        assert_eq!(parquet_rows(&fixture(codec)), plain, "{codec}");
    }
}

#[test]
fn a_compressed_page_declaring_a_decompression_bomb_is_refused() {
    use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
    for codec in [
        Compression::SNAPPY,
        Compression::GZIP(GzipLevel::default()),
        Compression::ZSTD(ZstdLevel::default()),
        Compression::LZ4,
        Compression::LZ4_RAW,
        Compression::BROTLI(BrotliLevel::default()),
    ] {
        page_declaring_a_bomb_is_refused(codec);
    }
}

fn page_declaring_a_bomb_is_refused(codec: parquet::basic::Compression) {
    let (file, at, len, compressed, values) = one_page_parquet(codec);
    let with_sizes = |uncompressed: i32| {
        let mut f = file.clone();
        f[at..at + len].copy_from_slice(&page_header(uncompressed, compressed, values, &[], len));
        f
    };
    let (_, _, _, plain, _) = one_page_parquet(parquet::basic::Compression::UNCOMPRESSED);
    assert_eq!(parquet_rows(&with_sizes(plain)).len(), 100);
    let bomb = compressed * 201;
    assert_eq!(
        parquet_refused(&with_sizes(bomb)),
        format!(
            "f.parquet: not a readable Parquet file: row group 0, column `text`: page at offset \
             {at} declares {bomb} uncompressed bytes from {compressed} compressed (over 200 times)"
        )
    );
}

#[test]
fn the_parquet_compression_ratio_limit_comes_from_the_read_options() {
    let (file, _, _, compressed, _) = one_page_parquet(parquet::basic::Compression::SNAPPY);
    let (_, _, _, plain, _) = one_page_parquet(parquet::basic::Compression::UNCOMPRESSED);
    assert!(plain > compressed, "the test page must compress");
    assert_eq!(parquet_rows(&file).len(), 100);
    let strict = ReadOptions {
        max_compression_ratio: 1,
        ..ReadOptions::default()
    };
    let err = read_bytes(Path::new("f.parquet"), file.clone().into(), &strict)
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("(over 1 times)"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.parquet");
    fs::write(&p, &file).unwrap();
    assert!(ParquetFile::open(&p, &strict).is_err());
    assert!(ParquetFile::open(&p, &ReadOptions::default()).is_ok());
}

#[test]
fn a_parquet_page_that_makes_the_decoder_panic_is_an_error_naming_the_file() {
    // Found by fuzzing: a dictionary index past the dictionary's end makes the
    // parquet crate's RLE decoder panic (index out of bounds).
    let bytes = include_bytes!("fixtures/parquet-dictionary-index-panic.parquet");
    let err = mlsec_data::read::parquet::read_bytes(
        Path::new("f.parquet"),
        bytes.to_vec().into(),
        &ReadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("f.parquet: "), "{err}");
    assert!(
        err.contains("the Parquet decoder failed on this file"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.parquet");
    fs::write(&p, bytes).unwrap();
    let file = ParquetFile::open(&p, &ReadOptions::default()).unwrap();
    let err = (0..file.row_groups())
        .find_map(|g| file.read_group(g, |_| Ok(())).err())
        .expect("a row group fails")
        .to_string();
    assert!(
        err.contains("the Parquet decoder failed on this file"),
        "{err}"
    );
    let rows: Vec<_> = mlsec_data::read::parquet::ParquetRows::open(&p, &ReadOptions::default())
        .unwrap()
        .collect();
    assert!(rows.last().unwrap().is_err());
}

#[test]
fn an_embedded_arrow_schema_is_not_decoded() {
    // Found by fuzzing: an `ARROW:schema` key-value holding an unknown type made
    // arrow-ipc panic (`not implemented`) while the footer was read.
    let bytes = include_bytes!("fixtures/parquet-bad-arrow-schema.parquet");
    let r = mlsec_data::read::parquet::read_bytes(
        Path::new("f.parquet"),
        bytes.to_vec().into(),
        &ReadOptions::default(),
    );
    if let Err(e) = r {
        assert!(!e.to_string().contains("decoder failed"), "{e}");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.parquet");
    fs::write(&p, bytes).unwrap();
    let _ = ParquetFile::open(&p, &ReadOptions::default());
}
