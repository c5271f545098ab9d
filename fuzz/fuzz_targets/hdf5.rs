#![no_main]
//! HDF5: the root-attribute reader and the legacy Keras H5 rules. Inputs
//! without the signature get one prepended so the fuzzer reaches the parser.
use libfuzzer_sys::fuzz_target;
use mlsec_formats::hdf5;
use mlsec_scan::{rules::keras, Ctx, Report, ScanConfig};

fuzz_target!(|data: &[u8]| {
    let owned;
    let data = if data.starts_with(hdf5::SIGNATURE) {
        data
    } else {
        owned = [hdf5::SIGNATURE, data].concat();
        &owned[..]
    };
    let _ = hdf5::root_attributes(data, 1 << 20);
    let config = ScanConfig::default();
    let ctx = Ctx::new(&config, "fuzz.h5", None);
    let mut report = Report::default();
    keras::scan_h5(&ctx, data, &mut report);
});
