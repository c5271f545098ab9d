#![no_main]
//! A tabular ONNX model loaded for redteam and drift: the graph surgery
//! (ZipMap, pruning, labels), mlsec's ai.onnx.ml operators and tract's
//! parser, then one row predicted. Errors are fine; a panic, hang or
//! unbounded allocation is not.
use libfuzzer_sys::fuzz_target;
use mlsec_model::Model;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = mlsec_onnx::OnnxModel::from_bytes("fuzz.onnx", data) {
        let features = model.features();
        if features <= 4096 {
            let _ = model.predict(&vec![0.5; features]);
        }
    }
});
