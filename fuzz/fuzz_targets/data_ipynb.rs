#![no_main]
//! Notebook reader on any bytes.
use libfuzzer_sys::fuzz_target;
use mlsec_data::read::ipynb;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.ipynb");
    if let Ok(nb) = ipynb::parse(path, data) {
        let _ = ipynb::lines(path, &nb);
    }
});
