#![no_main]
//! The `.npy` header parser and the NumPy rules, on any bytes.
use libfuzzer_sys::fuzz_target;
use mlsec_formats::npy;
use mlsec_scan::{rules::numpy, Ctx, Report, ScanConfig};

fuzz_target!(|data: &[u8]| {
    // Most inputs lack the magic; give the header parser a chance at them too.
    let mut with_magic = npy::MAGIC.to_vec();
    with_magic.extend_from_slice(data);
    for input in [data, &with_magic[..]] {
        if let Ok(header) = npy::parse_header(input, 1 << 20) {
            let _ = (header.payload_len(), header.dtype.has_object());
        }
        let config = ScanConfig::default();
        let ctx = Ctx::new(&config, "fuzz.npy", None);
        let mut report = Report::default();
        numpy::scan_npy(&ctx, input, &mut report);
    }
});
