//! A Hugging Face style model folder built in the test becomes an ML-BOM that
//! validates against the official schema and carries what the folder says.

use mlsec_bom::{build, to_json, validate::validate, BomOptions};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::Path;

const CARD: &str = "---\nlicense: apache-2.0\ndatasets:\n- s2orc\n- ms_marco\n\
base_model: nreimers/MiniLM-L6-H384-uncased\npipeline_tag: sentence-similarity\n\
language: en\ntags:\n- sentence-transformers\n---\n# A model\n";

fn safetensors() -> Vec<u8> {
    let header = br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header);
    out.extend_from_slice(&[0u8; 8]);
    out
}

fn model_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(p.join("README.md"), CARD).unwrap();
    fs::write(
        p.join("config.json"),
        r#"{"architectures":["BertModel"],"model_type":"bert"}"#,
    )
    .unwrap();
    fs::write(p.join("model.safetensors"), safetensors()).unwrap();
    fs::write(
        p.join("requirements.txt"),
        "torch==2.3.1\nsentence_transformers>=3\n",
    )
    .unwrap();
    fs::create_dir(p.join("1_Pooling")).unwrap();
    fs::write(p.join("1_Pooling/config.json"), "{}").unwrap();
    fs::create_dir(p.join(".git")).unwrap();
    fs::write(p.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    dir
}

fn bom_of(dir: &Path) -> Value {
    let bom = build(&BomOptions {
        model: dir.to_path_buf(),
        name: Some("all-MiniLM-L6-v2".into()),
        version: Some("1.0".into()),
        datasets: Vec::new(),
        output: None,
        ..Default::default()
    })
    .unwrap();
    serde_json::from_str(&to_json(&bom).unwrap()).unwrap()
}

fn sha256(path: &Path) -> String {
    Sha256::digest(fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn bom_validates_against_the_cyclonedx_1_6_schema() {
    let dir = model_folder();
    let doc = bom_of(dir.path());
    assert_eq!(validate(&doc).unwrap(), []);
    assert_eq!(doc["specVersion"], "1.6");
    assert!(doc["serialNumber"]
        .as_str()
        .unwrap()
        .starts_with("urn:uuid:"));
}

#[test]
fn every_file_is_listed_with_its_sha256_and_format() {
    let dir = model_folder();
    let doc = bom_of(dir.path());
    let model = &doc["metadata"]["component"];
    assert_eq!(model["type"], "machine-learning-model");
    assert_eq!(model["name"], "all-MiniLM-L6-v2");
    let files = model["components"].as_array().unwrap();
    let names: Vec<_> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "1_Pooling/config.json",
            "README.md",
            "config.json",
            "model.safetensors",
            "requirements.txt"
        ],
        ".git is left out"
    );
    for f in files {
        assert_eq!(f["type"], "file");
        assert_eq!(f["hashes"][0]["alg"], "SHA-256");
        let on_disk = sha256(&dir.path().join(f["name"].as_str().unwrap()));
        assert_eq!(f["hashes"][0]["content"], on_disk.as_str());
    }
    let weights = files
        .iter()
        .find(|f| f["name"] == "model.safetensors")
        .unwrap();
    assert_eq!(weights["properties"][0]["name"], "mlsec:format");
    assert_eq!(weights["properties"][0]["value"], "safetensors");
    assert_eq!(weights["properties"][2]["name"], "mlsec:tensor-count");
    assert_eq!(weights["properties"][2]["value"], "1");
    assert_eq!(
        weights["properties"][3]["value"], "2",
        "one tensor of shape [2]"
    );
    let card = &model["modelCard"]["properties"][0];
    assert_eq!(card["name"], "mlsec:parameter-count");
    assert_eq!(card["value"], "2");
}

#[test]
fn model_card_licence_base_model_datasets_and_architecture() {
    let dir = model_folder();
    let doc = bom_of(dir.path());
    let model = &doc["metadata"]["component"];
    assert_eq!(model["licenses"][0]["license"]["id"], "Apache-2.0");
    let base = &model["pedigree"]["ancestors"][0];
    assert_eq!(base["name"], "nreimers/MiniLM-L6-H384-uncased");
    assert_eq!(
        base["purl"],
        "pkg:huggingface/nreimers/MiniLM-L6-H384-uncased"
    );
    let params = &model["modelCard"]["modelParameters"];
    assert_eq!(params["task"], "sentence-similarity");
    assert_eq!(params["modelArchitecture"], "BertModel");
    assert_eq!(params["architectureFamily"], "bert");
    let dataset_refs: Vec<_> = params["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["ref"].as_str().unwrap())
        .collect();
    assert_eq!(dataset_refs, ["dataset:s2orc", "dataset:ms_marco"]);
    let data: Vec<_> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "data")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(data, ["s2orc", "ms_marco"]);
    assert_eq!(model["tags"][0], "sentence-transformers");
}

#[test]
fn requirements_become_libraries_in_the_dependency_graph() {
    let dir = model_folder();
    let doc = bom_of(dir.path());
    let libs: Vec<_> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "library")
        .collect();
    assert_eq!(libs.len(), 2);
    assert_eq!(libs[0]["purl"], "pkg:pypi/torch@2.3.1");
    assert_eq!(libs[0]["version"], "2.3.1");
    assert_eq!(libs[1]["purl"], "pkg:pypi/sentence-transformers");
    let deps = doc["dependencies"].as_array().unwrap();
    assert_eq!(deps.len(), 1);
    assert_eq!(deps[0]["ref"], "model:all-MiniLM-L6-v2@1.0");
    let on: Vec<_> = deps[0]["dependsOn"].as_array().unwrap().iter().collect();
    assert!(on.contains(&&Value::from("pkg:pypi/torch@2.3.1")));
    assert!(on.contains(&&Value::from("dataset:s2orc")));
}

#[test]
fn pyproject_dependencies_are_read_and_merged() {
    let dir = model_folder();
    fs::write(
        dir.path().join("pyproject.toml"),
        "[project]\nname = \"m\"\ndependencies = [\"torch>=2\", \"transformers==4.41.0\"]\n",
    )
    .unwrap();
    let doc = bom_of(dir.path());
    assert_eq!(validate(&doc).unwrap(), []);
    let purls: Vec<_> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    assert_eq!(
        purls,
        [
            "pkg:pypi/torch@2.3.1",
            "pkg:pypi/sentence-transformers",
            "pkg:pypi/transformers@4.41.0"
        ]
    );
}

#[test]
fn folder_name_is_the_default_name_and_a_bare_folder_still_validates() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("resnet");
    fs::create_dir(&model).unwrap();
    fs::write(model.join("weights.bin"), b"\x80\x04K\x01.").unwrap();
    let bom = build(&BomOptions {
        model: model.clone(),
        ..Default::default()
    })
    .unwrap();
    let doc: Value = serde_json::from_str(&to_json(&bom).unwrap()).unwrap();
    assert_eq!(doc["metadata"]["component"]["name"], "resnet");
    assert_eq!(
        doc["metadata"]["component"]["components"][0]["properties"][0]["value"],
        "pickle"
    );
    assert!(doc.get("dependencies").is_none());
    assert_eq!(validate(&doc).unwrap(), []);
}

#[test]
fn malformed_front_matter_is_a_warning_naming_the_file() {
    let dir = model_folder();
    fs::write(dir.path().join("README.md"), "---\nlicense: [mit\n---\n").unwrap();
    let bom = build(&BomOptions {
        model: dir.path().to_path_buf(),
        ..Default::default()
    })
    .unwrap();
    let warning = &bom.metadata.properties[0];
    assert_eq!(warning.name, mlsec_bom::WARNING_PROPERTY);
    assert!(
        warning.value.contains("README.md") && warning.value.contains("not valid YAML"),
        "{}",
        warning.value
    );
    assert!(bom.metadata.component.licenses.is_empty());
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_refused() {
    let dir = model_folder();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("weights.bin")).unwrap();
    let err = build(&BomOptions {
        model: dir.path().to_path_buf(),
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(err, mlsec_bom::BomError::Usage(_)), "{err:?}");
    let err = err.to_string();
    assert!(
        err.contains("weights.bin") && err.contains("symbolic link"),
        "{err}"
    );
}

#[test]
fn missing_model_path_is_an_error() {
    let err = build(&BomOptions {
        model: "/nonexistent/model".into(),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(err.fault(), mlsec_core::Fault::Input, "{err:?}");
    assert!(err.to_string().contains("/nonexistent/model"), "{err}");
}

#[test]
fn config_name_or_path_is_the_base_model_when_the_card_names_none() {
    let dir = model_folder();
    fs::write(dir.path().join("README.md"), "---\nlicense: mit\n---\n").unwrap();
    fs::write(
        dir.path().join("config.json"),
        r#"{"_name_or_path":"nreimers/MiniLM-L6-H384-uncased","architectures":["BertModel"]}"#,
    )
    .unwrap();
    let doc = bom_of(dir.path());
    let base = &doc["metadata"]["component"]["pedigree"]["ancestors"][0];
    assert_eq!(
        base["purl"],
        "pkg:huggingface/nreimers/MiniLM-L6-H384-uncased"
    );
    assert_eq!(base["properties"][0]["value"], "config.json _name_or_path");
    assert_eq!(validate(&doc).unwrap(), []);

    // A model saved under its own name is not its own ancestor.
    fs::write(
        dir.path().join("config.json"),
        r#"{"_name_or_path":"sentence-transformers/all-MiniLM-L6-v2"}"#,
    )
    .unwrap();
    let doc = bom_of(dir.path());
    assert!(doc["metadata"]["component"].get("pedigree").is_none());
}

#[test]
fn every_dependency_file_format_is_read_and_the_bom_validates() {
    let dir = model_folder();
    let p = dir.path();
    fs::write(
        p.join("poetry.lock"),
        "[[package]]\nname = \"tokenizers\"\nversion = \"0.19.1\"\n",
    )
    .unwrap();
    fs::write(
        p.join("Pipfile.lock"),
        r#"{"default": {"safetensors": {"version": "==0.4.3"}}}"#,
    )
    .unwrap();
    fs::write(
        p.join("environment.yml"),
        "dependencies:\n- python=3.11\n- pip:\n  - accelerate==0.30.1\n",
    )
    .unwrap();
    let doc = bom_of(p);
    assert_eq!(validate(&doc).unwrap(), []);
    let purls: Vec<_> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    for want in [
        "pkg:pypi/tokenizers@0.19.1",
        "pkg:pypi/safetensors@0.4.3",
        "pkg:conda/python@3.11",
        "pkg:pypi/accelerate@0.30.1",
    ] {
        assert!(purls.contains(&want), "{want} missing from {purls:?}");
    }
    let depends_on = doc["dependencies"][0]["dependsOn"].as_array().unwrap();
    assert_eq!(depends_on.len(), purls.len() + 2, "libraries and datasets");
}

#[test]
fn local_datasets_are_data_components_with_hashes() {
    let dir = model_folder();
    let data = tempfile::tempdir().unwrap();
    let csv = data.path().join("train.csv");
    fs::write(&csv, "text,label\nhi,1\n").unwrap();
    let folder = data.path().join("eval");
    fs::create_dir(&folder).unwrap();
    fs::write(folder.join("part-0.jsonl"), "{}\n").unwrap();
    let bom = build(&BomOptions {
        model: dir.path().to_path_buf(),
        name: Some("m".into()),
        version: None,
        datasets: vec![csv.clone(), folder.clone()],
        output: None,
        ..Default::default()
    })
    .unwrap();
    let doc: Value = serde_json::from_str(&to_json(&bom).unwrap()).unwrap();
    assert_eq!(validate(&doc).unwrap(), []);
    let data: Vec<_> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "data" && c["bom-ref"].as_str().unwrap().starts_with("data:"))
        .collect();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["name"], "train.csv");
    assert_eq!(data[0]["hashes"][0]["content"], sha256(&csv).as_str());
    assert_eq!(data[1]["name"], "eval");
    assert_eq!(
        data[1]["components"][0]["hashes"][0]["content"],
        sha256(&folder.join("part-0.jsonl")).as_str()
    );
    let card_refs: Vec<_> = doc["metadata"]["component"]["modelCard"]["modelParameters"]
        ["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["ref"].as_str().unwrap().to_string())
        .collect();
    assert!(card_refs.contains(&format!("data:{}", csv.display())));
}

#[test]
fn a_single_model_file_is_described_with_its_folder_card() {
    let dir = model_folder();
    let weights = dir.path().join("model.safetensors");
    let bom = build(&BomOptions {
        model: weights.clone(),
        ..Default::default()
    })
    .unwrap();
    let doc: Value = serde_json::from_str(&to_json(&bom).unwrap()).unwrap();
    assert_eq!(validate(&doc).unwrap(), []);
    let model = &doc["metadata"]["component"];
    assert_eq!(model["name"], "model.safetensors");
    let files = model["components"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["name"], "model.safetensors");
    assert_eq!(files[0]["hashes"][0]["content"], sha256(&weights).as_str());
    assert_eq!(model["licenses"][0]["license"]["id"], "Apache-2.0");
}
