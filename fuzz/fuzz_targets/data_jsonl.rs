#![no_main]
//! JSONL and plain-text readers on any bytes.
use libfuzzer_sys::fuzz_target;
use mlsec_data::read::jsonl::JsonlRows;
use mlsec_data::read::text::TextLines;
use mlsec_data::ReadOptions;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let opts = ReadOptions {
        skip_bad_rows: data.first().is_some_and(|b| b & 1 == 1),
        max_record_bytes: 1 << 16,
        max_columns: 64,
        ..Default::default()
    };
    for row in JsonlRows::new(Path::new("fuzz.jsonl"), data, &opts).flatten() {
        let _ = mlsec_data::manifest::row_digest(mlsec_data::DataFormat::Jsonl, &row);
    }
    for _ in TextLines::new(Path::new("fuzz.txt"), data, &opts) {}
});
