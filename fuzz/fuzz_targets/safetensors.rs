#![no_main]
//! The safetensors header parser and rules, on any bytes.
use libfuzzer_sys::fuzz_target;
use mlsec_formats::safetensors::{parse, REFERENCE_MAX_HEADER};
use mlsec_scan::{rules::safetensors, Ctx, Report, ScanConfig};

fuzz_target!(|data: &[u8]| {
    let _ = parse(data, REFERENCE_MAX_HEADER);
    // Also as a header: prefix the input's own length, so the JSON checks are reached.
    let mut framed = (data.len() as u64).to_le_bytes().to_vec();
    framed.extend_from_slice(data);
    let config = ScanConfig::default();
    let ctx = Ctx::new(&config, "fuzz.safetensors", None);
    for input in [data, &framed[..]] {
        let mut report = Report::default();
        safetensors::scan(&ctx, input, &mut report);
    }
});
