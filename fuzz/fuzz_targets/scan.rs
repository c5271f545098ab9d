#![no_main]
//! The whole pipeline: format detection, every parser and every rule, on any bytes.
use libfuzzer_sys::fuzz_target;
use mlsec_scan::{scan_bytes, Ctx, Report, ScanConfig};

fuzz_target!(|data: &[u8]| {
    let config = ScanConfig::default();
    let ctx = Ctx::new(&config, "fuzz", None);
    let mut report = Report::default();
    scan_bytes(&ctx, data, &mut report);
});
