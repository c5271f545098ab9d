#![no_main]
//! CSV reader: any bytes, any delimiter; errors allowed, panics and unbounded
//! memory not. The rows and the text records (the PII scan's fast path) must
//! agree row for row, error for error, with records read into recycled buffers,
//! and every row must hold the fields the csv crate reads from the same bytes.
use libfuzzer_sys::fuzz_target;
use mlsec_data::read::csv::{delimiter, CsvRows};
use mlsec_data::read::{Cell, Recycle};
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
    let mut records = records.text_records();
    for row in rows {
        let record = records.next().expect("as many records as rows");
        match (row, record) {
            (Ok(row), Ok(record)) => {
                let _ = mlsec_data::manifest::row_digest(mlsec_data::DataFormat::Csv, &row);
                assert_eq!(row.number, record.number);
                let cells: Vec<&str> = row
                    .cells
                    .iter()
                    .map(|(_, c)| match c {
                        Cell::Text(t) => t.as_str(),
                        _ => unreachable!("CSV cells are text"),
                    })
                    .collect();
                assert_eq!(cells, record.fields.iter().collect::<Vec<_>>());
                // Record 0 is the header.
                let want = &by_csv[row.number as usize];
                assert_eq!(cells.len(), want.len());
                assert!(cells.iter().zip(want).all(|(a, b)| a.as_bytes() == b));
                // The next record is read into this one's buffer.
                records.recycle(&mut vec![record]);
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!(
                "rows and records disagree: {:?} vs {:?}",
                a.is_ok(),
                b.is_ok()
            ),
        }
    }
    assert!(records.next().is_none(), "more records than rows");
});
