#![no_main]
//! Keras model configs (config.json / model_config JSON).
use libfuzzer_sys::fuzz_target;
use mlsec_scan::{rules::keras, Ctx, Report, ScanConfig};

fuzz_target!(|data: &[u8]| {
    let config = ScanConfig::default();
    let ctx = Ctx::new(&config, "config.json", None);
    let mut report = Report::default();
    keras::scan_keras_config(&ctx, data, &mut report);
});
