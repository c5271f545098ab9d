#![no_main]
//! Parquet reader (footer, pages, Arrow conversion) on any bytes.
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = mlsec_data::read::parquet::read_bytes(
        Path::new("fuzz.parquet"),
        bytes::Bytes::copy_from_slice(data),
    );
});
