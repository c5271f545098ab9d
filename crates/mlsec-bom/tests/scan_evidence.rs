//! The BOM carries mlsec's own scan: a verdict per file and for the model, and
//! a CycloneDX vulnerability per high or critical finding, pointing at the file.

use mlsec_bom::{build, to_json, validate::validate, BomOptions};
use serde_json::Value;
use std::fs;
use std::path::Path;

/// `os.system("id")` via GLOBAL + REDUCE: a pickle that runs a command on load.
const MALICIOUS_PICKLE: &[u8] = b"cos\nsystem\n(S'id'\ntR.";

fn safetensors() -> Vec<u8> {
    let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header);
    out.extend_from_slice(&[0u8; 8]);
    out
}

fn bom_of(model: &Path) -> Value {
    let bom = build(&BomOptions {
        model: model.to_path_buf(),
        ..BomOptions::default()
    })
    .unwrap();
    let doc: Value = serde_json::from_str(&to_json(&bom).unwrap()).unwrap();
    assert_eq!(validate(&doc).unwrap(), [], "{doc:#}");
    doc
}

fn property<'a>(component: &'a Value, name: &str) -> Option<&'a str> {
    component["properties"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["value"]
        .as_str()
}

fn file<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["metadata"]["component"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap()
}

#[test]
fn malicious_pickle_gives_verdicts_and_a_vulnerability_on_its_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("model.safetensors"), safetensors()).unwrap();
    fs::write(dir.path().join("pytorch_model.pkl"), MALICIOUS_PICKLE).unwrap();
    let doc = bom_of(dir.path());

    let model = &doc["metadata"]["component"];
    assert_eq!(property(model, "mlsec:scan:verdict"), Some("malicious"));
    assert_eq!(
        property(file(&doc, "model.safetensors"), "mlsec:scan:verdict"),
        Some("clean")
    );
    let pickle = file(&doc, "pytorch_model.pkl");
    assert_eq!(property(pickle, "mlsec:scan:verdict"), Some("malicious"));

    let vulns = doc["vulnerabilities"].as_array().unwrap();
    assert!(!vulns.is_empty());
    for v in vulns {
        assert_eq!(v["source"]["name"], "mlsec");
        assert_eq!(v["affects"][0]["ref"], pickle["bom-ref"]);
        let severity = v["ratings"][0]["severity"].as_str().unwrap();
        assert!(matches!(severity, "high" | "critical"), "{severity}");
        assert!(!v["description"].as_str().unwrap().is_empty());
    }
    let os_system = vulns
        .iter()
        .find(|v| v["description"].as_str().unwrap().contains("system"))
        .expect("a finding that names os.system");
    assert!(os_system["id"].as_str().unwrap().starts_with("PKL"));
    assert_eq!(os_system["ratings"][0]["severity"], "critical");
}

#[test]
fn clean_folder_has_clean_verdicts_and_no_vulnerabilities() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("model.safetensors"), safetensors()).unwrap();
    fs::write(dir.path().join("README.md"), "# A model\n").unwrap();
    let doc = bom_of(dir.path());
    assert_eq!(
        property(file(&doc, "README.md"), "mlsec:scan:verdict"),
        Some("unsupported")
    );
    assert_eq!(
        property(&doc["metadata"]["component"], "mlsec:scan:verdict"),
        Some("clean")
    );
    assert_eq!(
        property(file(&doc, "model.safetensors"), "mlsec:scan:verdict"),
        Some("clean")
    );
    assert!(doc.get("vulnerabilities").is_none());
}

#[test]
fn a_folder_with_no_model_file_is_unsupported_not_clean() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("README.md"), "# A model\n").unwrap();
    let doc = bom_of(dir.path());
    assert_eq!(
        property(&doc["metadata"]["component"], "mlsec:scan:verdict"),
        Some("unsupported")
    );
}

#[test]
fn a_single_malicious_file_is_scanned_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.pkl");
    fs::write(&path, MALICIOUS_PICKLE).unwrap();
    let doc = bom_of(&path);
    let pickle = file(&doc, "model.pkl");
    assert_eq!(property(pickle, "mlsec:scan:verdict"), Some("malicious"));
    assert_eq!(
        doc["vulnerabilities"][0]["affects"][0]["ref"],
        pickle["bom-ref"]
    );
}

#[test]
fn truncated_safetensors_is_an_error_verdict_with_a_high_vulnerability() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = safetensors();
    data.truncate(data.len() - 4);
    fs::write(dir.path().join("model.safetensors"), data).unwrap();
    let doc = bom_of(dir.path());
    assert_eq!(
        property(file(&doc, "model.safetensors"), "mlsec:scan:verdict"),
        Some("error")
    );
    assert_eq!(
        property(&doc["metadata"]["component"], "mlsec:scan:verdict"),
        Some("error")
    );
    assert_eq!(doc["vulnerabilities"][0]["ratings"][0]["severity"], "high");
}

#[test]
fn the_projects_scan_configuration_decides_as_it_does_for_mlsec_scan() {
    // mypkg.models.Net(3, 10): a call of a global nobody vouched for (PKL002).
    let unknown = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/pickle/unknown_class_reduce.pkl"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("model.pkl"), unknown).unwrap();
    let verdict = |scan_config: mlsec_scan::ScanConfig| {
        let bom = build(&BomOptions {
            model: dir.path().to_path_buf(),
            scan_config,
            ..BomOptions::default()
        })
        .unwrap();
        let doc: Value = serde_json::from_str(&to_json(&bom).unwrap()).unwrap();
        property(&doc["metadata"]["component"], "mlsec:scan:verdict").map(str::to_string)
    };
    assert_eq!(verdict(Default::default()).as_deref(), Some("suspicious"));
    let allowed =
        mlsec_scan::ScanConfig::from_toml_str("[scan]\nallow = [\"mypkg.models.*\"]\n").unwrap();
    assert_eq!(verdict(allowed).as_deref(), Some("clean"));
}
