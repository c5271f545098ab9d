#![no_main]
//! CSV reader: any bytes, any delimiter; errors allowed, panics and unbounded memory not.
use libfuzzer_sys::fuzz_target;
use mlsec_data::read::csv::{delimiter, CsvRows};
use mlsec_data::ReadOptions;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.csv");
    let opts = ReadOptions {
        skip_bad_rows: data.first().is_some_and(|b| b & 1 == 1),
        max_record_bytes: 1 << 16,
        ..Default::default()
    };
    if let Ok(rows) = CsvRows::new(path, data, delimiter(path, data), &opts) {
        for row in rows {
            if let Ok(row) = row {
                let _ = mlsec_data::manifest::row_digest(mlsec_data::DataFormat::Csv, &row);
            }
        }
    }
});
