#![no_main]
//! Parquet reader (footer, pages, Arrow conversion) on any bytes.
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::Once;

fuzz_target!(|data: &[u8]| {
    // mlsec turns a panic inside the parquet crate into an error (see
    // `parquet::Batches`); libFuzzer's hook would abort before that catch.
    // A panic anywhere else still escapes the target and is reported.
    static QUIET: Once = Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let _ = mlsec_data::read::parquet::read_bytes(
        Path::new("fuzz.parquet"),
        bytes::Bytes::copy_from_slice(data),
        &mlsec_data::ReadOptions::default(),
    );
});
