//! Pins the whole BOM of a realistic model folder (components, hashes,
//! properties, dependencies, vulnerabilities) and the `bom` envelope's
//! subjects, with only the serial number, time and tool version taken out.
//! Update with `INSTA_UPDATE=always cargo test -p mlsec-bom --test snapshots`.

use mlsec_bom::{run, BomDetails, BomOptions};
use serde_json::Value;
use std::fs;
use std::path::Path;

const CARD: &str = "---\nlicense: apache-2.0\ndatasets:\n- sentence-transformers/s2orc\n\
base_model: nreimers/MiniLM-L6-H384-uncased\npipeline_tag: sentence-similarity\n\
language: en\nmodel-index:\n- name: all-MiniLM-L6-v2\n  results:\n  - task:\n      type: sts\n    \
dataset:\n      name: stsb\n      type: mteb/stsbenchmark-sts\n    metrics:\n    - type: cos_sim_spearman\n      value: 82.03\n\
---\n# all-MiniLM-L6-v2\n";

fn folder(root: &Path) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    fs::create_dir_all(root.join("1_Pooling")).unwrap();
    fs::write(root.join("README.md"), CARD).unwrap();
    fs::copy(
        fixtures.join("folders/hf_model/config.json"),
        root.join("config.json"),
    )
    .unwrap();
    fs::copy(
        fixtures.join("folders/hf_model/model.safetensors"),
        root.join("model.safetensors"),
    )
    .unwrap();
    fs::copy(
        fixtures.join("folders/hf_model/tokenizer_config.json"),
        root.join("tokenizer_config.json"),
    )
    .unwrap();
    fs::write(
        root.join("1_Pooling/config.json"),
        r#"{"pooling_mode_mean_tokens": true}"#,
    )
    .unwrap();
    fs::write(
        root.join("requirements.txt"),
        "torch==2.3.1\nsentence-transformers>=3\n",
    )
    .unwrap();
    // A downloaded extra that runs os.system when unpickled.
    fs::copy(
        fixtures.join("pickle/inst_os_system.pkl"),
        root.join("training_args.bin"),
    )
    .unwrap();
}

/// The document with what changes from run to run taken out.
fn stable(mut doc: Value, root: &Path) -> String {
    doc["serialNumber"] = "urn:uuid:SERIAL".into();
    doc["metadata"]["timestamp"] = "TIME".into();
    doc["metadata"]["tools"]["components"][0]["version"] = "VERSION".into();
    // Key order is serde_json's build setting, not the BOM's content.
    mlsec_core::json::sort_keys(&mut doc);
    serde_json::to_string_pretty(&doc)
        .unwrap()
        .replace(&*root.to_string_lossy(), "ROOT")
}

#[test]
fn bom_of_a_model_folder_with_a_trojaned_extra() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("all-MiniLM-L6-v2");
    folder(&root);
    let data = dir.path().join("stsb");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("test.csv"), "s1,s2,score\na,b,0.5\n").unwrap();
    let evidence = run(&BomOptions {
        model: root.clone(),
        version: Some("1.0".into()),
        hf_id: Some("sentence-transformers/all-MiniLM-L6-v2".into()),
        revision: Some("c9745ed1d9f207416be6d2e6f8de32d1f16199bf".into()),
        datasets: vec![data],
        ..Default::default()
    })
    .unwrap();
    let subjects: Vec<String> = evidence
        .subjects
        .iter()
        .map(|s| format!("{} sha256:{}", s.name, s.digest["sha256"]))
        .collect();
    insta::assert_snapshot!("subjects", subjects.join("\n"));
    let details: BomDetails = serde_json::from_value(evidence.details).unwrap();
    assert!(details.warnings.is_empty(), "{:?}", details.warnings);
    insta::assert_snapshot!("cyclonedx", stable(details.cyclonedx, dir.path()));
}
