//! `mlsec threat-model` as users and CI see it, on the example project's
//! pipeline.yaml.

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn mlsec() -> Command {
    Command::cargo_bin("mlsec").unwrap()
}

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/pipeline.yaml")
}

#[test]
fn the_example_prints_components_boundaries_and_threats() {
    let run = mlsec().arg("threat-model").arg(example()).assert().code(0);
    let text = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    assert!(text.starts_with("threat model: penguin-service"), "{text}");
    assert!(!text.contains('\x1b'), "no colour off a terminal");
    for line in [
        "  downloads        model-source  external",
        "  inbound   downloads → trainer        model",
        "  public    species-api                exposure: public",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    let row = |id: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("  {id} ")))
            .unwrap_or_else(|| panic!("{id}\n{text}"))
            .to_string()
    };
    assert!(row("AML.T0010.003").contains("MLP001 MLP002 MLP101 (MLP103)"));
    assert!(row("AML.T0010.003").ends_with("downloads → trainer"));
    // Adversarial inputs to the public classifier: the [[validate]] entry's
    // redteam is judged by MLP008. Extracting the model is still a gap.
    assert!(row("AML.T0043").contains("MLP008") && row("AML.T0043").ends_with("species-api"));
    assert!(row("AML.T0024.002").contains("GAP"));
    assert!(row("LLM01").contains("GAP") && row("LLM01").ends_with("chat-assistant"));
    assert!(
        text.contains("  MLP001   scan     baseline  No model file"),
        "{text}"
    );
    assert!(text.contains("\nthreat-model: 49 threat(s): "), "{text}");
    assert!(
        text.trim_end().ends_with("PASS (fail on high and above)"),
        "{text}"
    );
}

#[test]
fn json_and_sarif_carry_the_model_and_the_gaps() {
    let run = mlsec()
        .arg("threat-model")
        .arg(example())
        .args(["-f", "json"])
        .assert()
        .code(0);
    let e: Value = serde_json::from_slice(&run.get_output().stdout).unwrap();
    assert_eq!(e["schema"], "mlsec.evidence/v1");
    assert_eq!(e["kind"], "threat-model");
    assert_eq!(e["details"]["system"], "penguin-service");
    let gaps = e["details"]["counts"]["gaps"].as_u64().unwrap();
    assert_eq!(e["summary"]["counts"]["low"].as_u64().unwrap(), gaps);

    let run = mlsec()
        .arg("threat-model")
        .arg(example())
        .args(["-f", "sarif"])
        .assert()
        .code(0);
    let s: Value = serde_json::from_slice(&run.get_output().stdout).unwrap();
    let run0 = &s["runs"][0];
    let rules: Vec<&str> = run0["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["THR001", "THR002"]);
    let result = &run0["results"][0];
    assert!(result["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64());
}

#[test]
fn fail_on_low_fails_on_gaps_and_output_goes_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("threats.json");
    mlsec()
        .arg("threat-model")
        .arg(example())
        .args(["--fail-on", "low", "-f", "json", "-o"])
        .arg(&out)
        .assert()
        .code(1);
    let e: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(e["summary"]["verdict"], "fail");
    // Only the baseline pack: what strict rules alone cover becomes a gap.
    let run = mlsec()
        .arg("threat-model")
        .arg(example())
        .args(["--pack", "baseline", "-f", "json"])
        .assert()
        .code(0);
    let e: Value = serde_json::from_slice(&run.get_output().stdout).unwrap();
    let t0019 = e["details"]["threats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "AML.T0019")
        .unwrap();
    assert_eq!(t0019["status"], "gap");
}

#[test]
fn bad_descriptions_exit_2_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pipeline.yaml");
    for (text, expected) in [
        ("system: s\ncomponents:\n  - {id: a, kind: trainer}\n", ":3:"),
        ("system: s\ncomponents:\n  - {id: a, kind: training, owner: me}\n", "unknown field `owner`"),
        (
            "system: s\ncomponents: [{id: a, kind: training}]\nflows: [{from: a, to: z, data: model}]\n",
            ":3:23: flows[0].to: no component `z`",
        ),
        ("system: [\n", ":1:9: system: invalid type: sequence, expected the system's name"),
        ("system: 's\n", ":2:1: "),
    ] {
        std::fs::write(&file, text).unwrap();
        let run = mlsec().arg("threat-model").arg(&file).assert().code(2);
        let err = String::from_utf8_lossy(&run.get_output().stderr).into_owned();
        assert!(err.starts_with("mlsec: error: "), "{err}");
        assert!(err.contains(&format!("{}", file.display())), "{err}");
        assert!(err.contains(expected), "{expected}: {err}");
    }
    mlsec()
        .arg("threat-model")
        .arg(dir.path().join("missing.yaml"))
        .assert()
        .code(2);
    mlsec()
        .arg("threat-model")
        .arg(example())
        .args(["--pack", "lenient"])
        .assert()
        .code(2);
}

#[test]
fn the_rules_are_documented() {
    let run = mlsec().args(["rules", "THR001"]).assert().code(0);
    let text = String::from_utf8_lossy(&run.get_output().stdout).into_owned();
    assert!(text.starts_with("THR001 threat-not-covered (low"), "{text}");
}
