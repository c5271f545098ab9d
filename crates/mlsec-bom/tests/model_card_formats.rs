//! What the model files themselves say about the model goes into the model
//! card: GGUF `general.*` metadata.

use mlsec_bom::{build, to_json, validate::validate, BomOptions};
use serde_json::Value;
use std::fs;

/// A GGUF v3 header with the given string entries and no tensors.
fn gguf(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes());
    out.extend(0u64.to_le_bytes());
    out.extend((entries.len() as u64).to_le_bytes());
    for (k, v) in entries {
        out.extend((k.len() as u64).to_le_bytes());
        out.extend(k.as_bytes());
        out.extend(8u32.to_le_bytes());
        out.extend((v.len() as u64).to_le_bytes());
        out.extend(v.as_bytes());
    }
    out
}

#[test]
fn gguf_general_metadata_becomes_model_card_properties() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("tiny.gguf"),
        gguf(&[
            ("general.architecture", "llama"),
            ("general.name", "Tiny Llama"),
            ("general.license", "apache-2.0"),
            ("tokenizer.ggml.model", "llama"),
        ]),
    )
    .unwrap();
    let bom = build(&BomOptions {
        model: dir.path().to_path_buf(),
        ..BomOptions::default()
    })
    .unwrap();
    let doc: Value = serde_json::from_str(&to_json(&bom).unwrap()).unwrap();
    assert_eq!(validate(&doc).unwrap(), [], "{doc:#}");
    let props: Vec<(&str, &str)> = doc["metadata"]["component"]["modelCard"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        props,
        [
            ("mlsec:gguf:general.architecture", "llama"),
            ("mlsec:gguf:general.name", "Tiny Llama"),
            ("mlsec:gguf:general.license", "apache-2.0"),
        ],
        "tokenizer keys are not model card facts"
    );
}

#[test]
fn a_folder_without_gguf_has_no_gguf_properties() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), "general.name").unwrap();
    let bom = build(&BomOptions {
        model: dir.path().to_path_buf(),
        ..BomOptions::default()
    })
    .unwrap();
    let doc: Value = serde_json::from_str(&to_json(&bom).unwrap()).unwrap();
    assert_eq!(validate(&doc).unwrap(), []);
    assert!(!to_json(&bom).unwrap().contains("mlsec:gguf:"));
}
