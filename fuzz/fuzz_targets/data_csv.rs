#![no_main]
//! CSV reader: any bytes, any delimiter; errors allowed, panics and unbounded
//! memory not. The rows and the batches of records (the PII scan's fast path)
//! must agree row for row, error for error, with batches of a few records read
//! into the same buffers again, and every row must hold the fields the csv
//! crate reads from the same bytes.
use libfuzzer_sys::fuzz_target;
use mlsec_data::read::csv::{delimiter, CsvRows, TextBatch};
use mlsec_data::read::{Cell, Filled};
use mlsec_data::ReadOptions;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.csv");
    let opts = ReadOptions {
        skip_bad_rows: data.first().is_some_and(|b| b & 1 == 1),
        max_record_bytes: 1 << 16,
        ..Default::default()
    };
    let Ok(rows) = CsvRows::new(path, data, delimiter(path, data), &opts) else {
        return;
    };
    let Ok(mut records) = CsvRows::new(path, data, delimiter(path, data), &opts) else {
        panic!("the same header read twice gave different results");
    };
    let by_csv: Vec<csv::ByteRecord> = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(path, data))
        .from_reader(data)
        .byte_records()
        .map_while(Result::ok)
        .collect();
    // Batches of 1 to 4 records, so that records straddle batches.
    let per_batch = usize::from(data.first().map_or(0, |b| b >> 1 & 3)) + 1;
    let mut batch = TextBatch::default();
    let mut filled = records.fill(&mut batch, per_batch);
    let mut at = 0;
    for row in rows {
        if at == batch.len() && matches!(filled, Filled::More) {
            filled = records.fill(&mut batch, per_batch);
            at = 0;
        }
        if at < batch.len() {
            let row = row.expect("rows fail where records do");
            let _ = mlsec_data::manifest::row_digest(mlsec_data::DataFormat::Csv, &row);
            assert_eq!(row.number, batch.number(at));
            let cells: Vec<&str> = row
                .cells
                .iter()
                .map(|(_, c)| match c {
                    Cell::Text(t) => t.as_str(),
                    _ => unreachable!("CSV cells are text"),
                })
                .collect();
            assert_eq!(cells, batch.cells(at).collect::<Vec<_>>());
            // Record 0 is the header.
            let want = &by_csv[row.number as usize];
            assert_eq!(cells.len(), want.len());
            assert!(cells.iter().zip(want).all(|(a, b)| a.as_bytes() == b));
            at += 1;
            continue;
        }
        match (row, &filled) {
            (Err(a), Filled::Failed(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("rows and batches disagree: {:?} vs {b:?}", a.is_ok()),
        }
        filled = Filled::End;
    }
    // A full batch does not know yet that the file ends after it.
    if at == batch.len() && matches!(filled, Filled::More) {
        filled = records.fill(&mut batch, per_batch);
        at = 0;
    }
    assert!(
        at == batch.len() && matches!(filled, Filled::End),
        "more records than rows"
    );
});
