#![no_main]
//! The symbolic pickle machine and the pickle rules, on any bytes.
use libfuzzer_sys::fuzz_target;
use mlsec_formats::pickle::{analyze, describe, PickleLimits};
use mlsec_scan::{rules::pickle, Ctx, Report, ScanConfig};

fuzz_target!(|data: &[u8]| {
    let limits = PickleLimits { max_opcodes: 100_000, ..PickleLimits::default() };
    let trace = analyze(data, 0, &limits);
    if let Some(result) = trace.result {
        let _ = describe(&trace.values, result);
    }
    let config = ScanConfig::default();
    let ctx = Ctx::new(&config, "fuzz.pkl", None);
    let mut report = Report::default();
    if !pickle::probe(&ctx, data, &mut report) {
        pickle::scan(&ctx, data, &mut report);
    }
});
