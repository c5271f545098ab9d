//! `mlsec bom` as users and CI see it: output files, exit codes of --validate.

use assert_cmd::Command;
use serde_json::{json, Value};
use std::fs;

fn mlsec() -> Command {
    Command::cargo_bin("mlsec").unwrap()
}

/// Runs `mlsec bom --validate FILE`: exit code and standard output.
fn validate(file: &std::path::Path) -> (i32, String) {
    let out = mlsec()
        .args(["bom", "--validate"])
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn model_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("README.md"),
        "---\nlicense: mit\nbase_model: org/base\n---\n",
    )
    .unwrap();
    fs::write(dir.path().join("requirements.txt"), "numpy==1.26.4\n").unwrap();
    fs::write(dir.path().join("model.pkl"), b"\x80\x04K\x01.").unwrap();
    dir
}

#[test]
fn writes_a_bom_that_validates() {
    let model = model_folder();
    let out = tempfile::tempdir().unwrap();
    let bom = out.path().join("bom.json");
    mlsec()
        .args(["bom", "--name", "m", "--version", "2", "--dataset"])
        .arg(model.path().join("requirements.txt"))
        .arg("--output")
        .arg(&bom)
        .arg(model.path())
        .assert()
        .success()
        .stdout("");
    let doc: Value = serde_json::from_slice(&fs::read(&bom).unwrap()).unwrap();
    assert_eq!(doc["metadata"]["component"]["bom-ref"], "model:m@2");
    assert_eq!(
        doc["metadata"]["component"]["licenses"][0]["license"]["id"],
        "MIT"
    );
    assert_eq!(doc["components"][0]["type"], "data");
    assert_eq!(doc["components"][0]["name"], "requirements.txt");
    let (code, stdout) = validate(&bom);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("valid CycloneDX 1.6"), "{stdout}");
}

#[test]
fn writes_to_stdout_by_default() {
    let model = model_folder();
    let out = mlsec().arg("bom").arg(model.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["bomFormat"], "CycloneDX");
}

fn write(doc: &Value) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    fs::write(f.path(), serde_json::to_vec(doc).unwrap()).unwrap();
    f
}

fn base() -> Value {
    json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "components": [{"type": "library", "name": "a", "bom-ref": "a"},
                       {"type": "library", "name": "b", "bom-ref": "b"}],
        "dependencies": [{"ref": "a", "dependsOn": ["b"]}]
    })
}

#[test]
fn validate_reports_duplicate_refs_with_their_path() {
    let mut doc = base();
    doc["components"][1]["bom-ref"] = json!("a");
    let f = write(&doc);
    let (code, stdout) = validate(f.path());
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("/components/1/bom-ref: bom-ref \"a\" is not unique"),
        "{stdout}"
    );
}

#[test]
fn validate_reports_dangling_dependency_refs() {
    let mut doc = base();
    doc["dependencies"][0]["dependsOn"] = json!(["ghost"]);
    let f = write(&doc);
    let (code, stdout) = validate(f.path());
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("/dependencies/0/dependsOn/0"), "{stdout}");
}

#[test]
fn validate_reports_schema_violations() {
    let mut doc = base();
    doc["components"][0]["type"] = json!("spaceship");
    let f = write(&doc);
    let (code, stdout) = validate(f.path());
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("/components/0/type"), "{stdout}");
    fs::write(f.path(), "{not json").unwrap();
    let (code, stdout) = validate(f.path());
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("not JSON"), "{stdout}");
}

#[test]
fn usage_and_io_errors_exit_2() {
    mlsec()
        .args(["bom", "--validate", "/nonexistent/bom.json"])
        .assert()
        .code(2);
    mlsec().args(["bom", "/nonexistent/model"]).assert().code(2);
    mlsec().arg("bom").assert().code(2);
    // A broken card is a warning, not an error (see below).
    let model = model_folder();
    fs::write(model.path().join("README.md"), "---\nlicense: [\n---\n").unwrap();
    let out = mlsec().arg("bom").arg(model.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: "));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid YAML"));
}

#[test]
fn a_bom_written_into_the_model_folder_does_not_list_itself() {
    let model = model_folder();
    let bom = model.path().join("bom.cdx.json");
    for _ in 0..2 {
        mlsec()
            .arg("bom")
            .arg(model.path())
            .arg("--output")
            .arg(&bom)
            .assert()
            .success();
    }
    let doc: Value = serde_json::from_slice(&fs::read(&bom).unwrap()).unwrap();
    let names: Vec<_> = doc["metadata"]["component"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["README.md", "model.pkl", "requirements.txt"]);
}

#[test]
fn hf_id_and_revision_give_the_model_its_purl_and_name() {
    let model = model_folder();
    let out = mlsec()
        .args([
            "bom",
            "--hf-id",
            "acme/tiny-bert",
            "--revision",
            "0123ABCdef",
        ])
        .arg(model.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let component = &doc["metadata"]["component"];
    assert_eq!(
        component["purl"],
        "pkg:huggingface/acme/tiny-bert@0123abcdef"
    );
    assert_eq!(component["name"], "tiny-bert");
    assert_eq!(
        mlsec_bom::validate::validate(&doc).unwrap().len(),
        0,
        "{doc:#}"
    );
}

#[test]
fn revision_without_hf_id_and_a_bad_hf_id_are_refused() {
    let model = model_folder();
    mlsec()
        .args(["bom", "--revision", "main"])
        .arg(model.path())
        .assert()
        .failure()
        .stdout("");
    let out = mlsec()
        .args(["bom", "--hf-id", "no-org"])
        .arg(model.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ORG/NAME"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn xml_format_writes_the_same_bom_as_cyclonedx_xml() {
    let model = model_folder();
    let out = tempfile::tempdir().unwrap();
    let xml = out.path().join("bom.cdx.xml");
    mlsec()
        .args([
            "bom",
            "--format",
            "cyclonedx-xml",
            "--hf-id",
            "acme/m",
            "--output",
        ])
        .arg(&xml)
        .arg(model.path())
        .assert()
        .success()
        .stdout("");
    let text = fs::read_to_string(&xml).unwrap();
    assert!(
        text.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\" serialNumber=\"urn:uuid:"
        ),
        "{text}"
    );
    for want in [
        "<component type=\"machine-learning-model\" bom-ref=\"model:m\">",
        "<supplier>\n        <name>acme</name>",
        "<hash alg=\"SHA-256\">",
        "<id>MIT</id>",
        "<reference type=\"website\">",
        "<dependency ref=\"model:m\">\n      <dependency ref=\"pkg:pypi/numpy@1.26.4\"/>",
    ] {
        assert!(text.contains(want), "{want} missing from\n{text}");
    }
    // -f is the short form; stdout is the default.
    let stdout = mlsec()
        .args(["bom", "-f", "cyclonedx-xml"])
        .arg(model.path())
        .output()
        .unwrap();
    assert_eq!(stdout.status.code(), Some(0));
    assert!(stdout.stdout.ends_with(b"</bom>\n"));

    // --validate is for JSON and says so for XML.
    let (code, out) = validate(&xml);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("XML; --validate checks CycloneDX JSON only"),
        "{out}"
    );
}

#[test]
fn unknown_format_is_a_usage_error() {
    let model = model_folder();
    let out = mlsec()
        .args(["bom", "--format", "spdx"])
        .arg(model.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cyclonedx-xml"), "{err}");
}

/// Malformed card, config and dependency files no longer abort the BOM: it is
/// written, valid, with one warning per file on stderr and in the metadata.
#[test]
fn malformed_metadata_files_are_warnings_not_errors() {
    let model = model_folder();
    let deep = format!(
        "---\nx: {}{}\n---\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    fs::write(model.path().join("README.md"), deep).unwrap();
    fs::write(model.path().join("config.json"), "{\"architectures\": [").unwrap();
    fs::write(model.path().join("pyproject.toml"), "[project\nname=").unwrap();
    let started = std::time::Instant::now();
    let out = mlsec().arg("bom").arg(model.path()).output().unwrap();
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings: Vec<&str> = doc["metadata"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "mlsec:warning")
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    for (warning, file) in warnings
        .iter()
        .zip(["README.md", "config.json", "pyproject.toml"])
    {
        assert!(warning.contains(file), "{warning}");
        assert!(stderr.contains(warning), "{stderr}");
    }
    // requirements.txt still gives its package, and the file verdicts hold.
    assert!(doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "numpy"));
    let file = tempfile::NamedTempFile::new().unwrap();
    fs::write(file.path(), &out.stdout).unwrap();
    let (code, stdout) = validate(file.path());
    assert_eq!(code, 0, "{stdout}");
}
