#![no_main]
//! TensorFlow SavedModel / GraphDef / keras_metadata: sniffer, decoders, rules.
use libfuzzer_sys::fuzz_target;
use mlsec_formats::savedmodel;
use mlsec_scan::{rules, Ctx, Report, ScanConfig};

fuzz_target!(|data: &[u8]| {
    let _ = savedmodel::decode_saved_model(data);
    let _ = savedmodel::decode_graph_def(data);
    let _ = savedmodel::decode_keras_metadata(data);
    let config = ScanConfig::default();
    let ctx = Ctx::new(&config, "saved_model.pb", None);
    let mut report = Report::default();
    let _ = rules::savedmodel::probe(&ctx, data, &mut report);
});
