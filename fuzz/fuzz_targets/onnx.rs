#![no_main]
//! ONNX: the sniffer, the wire pre-check, the prost decoder and the rules.
use libfuzzer_sys::fuzz_target;
use mlsec_scan::{rules::onnx, Ctx, Report, ScanConfig};

fuzz_target!(|data: &[u8]| {
    let _ = mlsec_formats::onnx::decode(data);
    let config = ScanConfig::default();
    let ctx = Ctx::new(&config, "fuzz.onnx", None);
    let mut report = Report::default();
    let _ = onnx::probe(&ctx, data, &mut report);
});
