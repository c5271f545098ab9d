//! `[[validate]]` in `mlsec.toml`: `mlsec check` runs redteam, privacy and
//! explain on the example's penguin classifier (an skl2onnx export) and its
//! train / held-out split, and the baseline rules MLP008-MLP010 decide.

use mlsec_check::{run, CheckDetails, CheckError, CheckKind, CheckOptions};
use std::fs;
use std::path::Path;

fn example(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(path)
}

/// A project holding the species classifier, its training rows and its
/// held-out rows, validated with `entry` (TOML after `[[validate]]`'s
/// model, data and label).
fn project(dir: &Path, entry: &str) {
    fs::create_dir_all(dir.join("models/species")).unwrap();
    fs::create_dir_all(dir.join("data")).unwrap();
    fs::copy(
        example("models/species-classifier/model.onnx"),
        dir.join("models/species/model.onnx"),
    )
    .unwrap();
    for name in ["penguins-train.csv", "penguins-holdout.csv"] {
        fs::copy(
            example(&format!("data/{name}")),
            dir.join("data").join(name),
        )
        .unwrap();
    }
    fs::write(
        dir.join("mlsec.toml"),
        format!(
            r#"[[model]]
path = "models/species"

[[validate]]
model = "models/species/model.onnx"
data = "data/penguins-holdout.csv"
label = "species"
features = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
{entry}
"#
        ),
    )
    .unwrap();
}

/// Small runs: few rows, few queries, two cheap membership attacks.
const QUICK: &str = r#"
[validate.redteam]
attack = ["square"]
eps = [0.02, 0.2]
budget = 200
rows = 40

[validate.privacy]
members = "data/penguins-train.csv"
attack = ["loss", "lira"]
shadow = 4

[validate.explain]
sensitive = "sex"
positive = "Gentoo"
repeats = 2
"#;

fn check(dir: &Path) -> CheckDetails {
    let options = CheckOptions {
        root: dir.to_path_buf(),
        only: vec![CheckKind::Redteam, CheckKind::Privacy, CheckKind::Explain],
        ..Default::default()
    };
    CheckDetails::of(&run(&options).unwrap()).unwrap()
}

fn status<'a>(d: &'a CheckDetails, id: &str) -> &'a str {
    d.policy
        .rules
        .iter()
        .find(|r| r.metadata.id == id)
        .map_or("absent", |r| r.status.as_str())
}

/// The policy messages of `rule`.
fn messages(d: &CheckDetails, rule: &str) -> Vec<String> {
    d.policy
        .messages
        .iter()
        .filter(|m| m.rule.as_deref() == Some(rule))
        .map(|m| m.msg.clone())
        .collect()
}

fn envelope(d: &CheckDetails, kind: CheckKind) -> serde_json::Value {
    let run = d.checks.iter().find(|c| c.kind == kind).unwrap();
    assert_eq!(run.status, "ran", "{run:?}");
    let file = Path::new(&d.evidence_dir).join(run.evidence.as_ref().unwrap());
    serde_json::from_slice(&fs::read(file).unwrap()).unwrap()
}

#[test]
fn the_three_validations_run_and_a_sound_model_passes() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), QUICK);
    let d = check(dir.path());
    let ran: Vec<(CheckKind, Option<&str>)> = d
        .checks
        .iter()
        .map(|c| (c.kind, c.evidence.as_deref()))
        .collect();
    // Named after the [[model]] that holds the file.
    assert_eq!(
        ran,
        [
            (CheckKind::Redteam, Some("redteam-species.json")),
            (CheckKind::Privacy, Some("privacy-species.json")),
            (CheckKind::Explain, Some("explain-species.json")),
        ]
    );
    let redteam = envelope(&d, CheckKind::Redteam);
    assert_eq!(redteam["kind"], "redteam");
    assert_eq!(
        redteam["subjects"][0]["name"],
        dir.path()
            .join("models/species/model.onnx")
            .display()
            .to_string()
    );
    assert_eq!(
        redteam["subjects"][0]["digest"]["sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    let attacks = redteam["details"]["attacks"].as_array().unwrap();
    let eps: Vec<f64> = attacks.iter().map(|a| a["eps"].as_f64().unwrap()).collect();
    assert_eq!(eps.len(), 2, "{attacks:?}");
    assert!((eps[0] - 0.02).abs() < 1e-6 && (eps[1] - 0.2).abs() < 1e-6);
    // A wider radius flips at least as many rows.
    let rate = |i: usize| attacks[i]["success_rate"].as_f64().unwrap();
    assert!(rate(1) >= rate(0), "{attacks:?}");

    let privacy = envelope(&d, CheckKind::Privacy);
    let names: Vec<&str> = privacy["details"]["attacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attack"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["loss", "lira"]);
    assert!(privacy["subjects"][1]["name"]
        .as_str()
        .unwrap()
        .ends_with("penguins-train.csv"));

    let explain = envelope(&d, CheckKind::Explain);
    let groups = explain["details"]["fairness"]["metrics"]["groups"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"female") && names.contains(&"male"),
        "{names:?}"
    );
    // The sensitive column is no feature of the importances.
    let importance = explain["details"]["importance"]["features"]
        .as_array()
        .unwrap();
    assert_eq!(importance.len(), 4, "{importance:?}");

    // A logistic regression on four measurements: its training rows look
    // like the others.
    assert_eq!(status(&d, "MLP009"), "passed", "{:#?}", d.policy.messages);
    // It makes no error on Gentoos, for either sex (equalized odds 1), but
    // the held-out quarter holds more male Gentoos: demographic parity
    // warns, for people to judge.
    assert_eq!(status(&d, "MLP010"), "warned", "{:#?}", d.policy.messages);
    let fairness = messages(&d, "MLP010");
    assert_eq!(fairness.len(), 1, "{fairness:?}");
    assert!(
        fairness[0].contains("demographic parity ratio"),
        "{fairness:?}"
    );
    // 20% of each range flips most answers; 2% is no denial on its own.
    let denied = messages(&d, "MLP008");
    assert!(
        !denied.is_empty() && denied.iter().all(|m| m.contains("eps 0.2)")),
        "{denied:?}"
    );
    let input: serde_json::Value =
        serde_json::from_slice(&fs::read(Path::new(&d.evidence_dir).join("input.json")).unwrap())
            .unwrap();
    assert_eq!(input["evidence"]["redteam"][0]["check"]["kind"], "redteam");
}

#[test]
fn findings_past_the_entry_thresholds_are_denied_and_warned() {
    let dir = tempfile::tempdir().unwrap();
    // Thresholds no model meets: any flipped row, any AUC, any gap.
    let strict = QUICK
        .replace("rows = 40", "rows = 40\nmax-success = 0.0")
        .replace("shadow = 4", "shadow = 4\nmax-auc = 0.0")
        .replace("repeats = 2", "repeats = 2\nmin-ratio = 1.01");
    project(dir.path(), &strict);
    let d = check(dir.path());
    assert_eq!(d.decision, "deny");
    assert_eq!(status(&d, "MLP008"), "denied", "{:#?}", d.policy.messages);
    assert_eq!(status(&d, "MLP009"), "denied");
    assert_eq!(status(&d, "MLP010"), "warned");
    // Both radii and both attacks of privacy, each its own denial, about
    // the model file.
    let evasion = messages(&d, "MLP008");
    assert_eq!(evasion.len(), 2, "{evasion:?}");
    assert!(evasion[0].contains("model.onnx: RTM001 square (linf, eps 0.02)"));
    assert!(evasion[1].contains("model.onnx: RTM001 square (linf, eps 0.2)"));
    let leaks = messages(&d, "MLP009");
    assert_eq!(leaks.len(), 2, "{leaks:?}");
    assert!(leaks.iter().any(|m| m.contains("PRV001 loss: AUC")));
    assert!(leaks.iter().any(|m| m.contains("PRV001 lira: AUC")));
    let fairness = messages(&d, "MLP010");
    assert!(fairness
        .iter()
        .all(|m| m.contains("EXP001") && m.contains("`sex`")));
    // The compliance matrix follows: evasion fails OWASP ML01.
    let owasp = d.compliance.iter().find(|f| f.id == "owasp-ml").unwrap();
    let ml01 = owasp.controls.iter().find(|c| c.id == "ML01").unwrap();
    assert_eq!(ml01.status, mlsec_policy::Status::Failed, "{ml01:?}");
}

#[test]
fn privacy_runs_only_with_training_rows_and_only_skip_select() {
    let dir = tempfile::tempdir().unwrap();
    project(
        dir.path(),
        "[validate.redteam]\nattack = [\"hsj\"]\neps = [0.05]\nbudget = 100\nrows = 10\n",
    );
    let d = check(dir.path());
    let kinds: Vec<CheckKind> = d.checks.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [CheckKind::Redteam, CheckKind::Explain]);
    // Without a sensitive column, explain reports importance alone.
    let explain = envelope(&d, CheckKind::Explain);
    assert!(explain["details"]["fairness"].is_null(), "{explain}");
    assert_eq!(status(&d, "MLP010"), "passed");

    let options = CheckOptions {
        root: dir.path().to_path_buf(),
        skip: vec![CheckKind::Redteam, CheckKind::Explain],
        ..Default::default()
    };
    let d = CheckDetails::of(&run(&options).unwrap()).unwrap();
    assert!(d
        .checks
        .iter()
        .all(|c| !matches!(c.kind, CheckKind::Redteam | CheckKind::Explain)));
}

#[test]
fn bad_validation_settings_stop_the_gate_before_anything_runs() {
    let cases: [(&str, &str); 5] = [
        (
            "[validate.redteam]\nattack = [\"fgsm\"]\n",
            "[[validate]] `species`: redteam.attack: unknown attack `fgsm` (attacks: square, simba, hsj, boundary, nes)",
        ),
        (
            "[validate.redteam]\nnorm = \"l1\"\n",
            "redteam.norm: unknown norm `l1`",
        ),
        (
            "[validate.privacy]\nmembers = \"data/penguins-train.csv\"\nattack = [\"guess\"]\n",
            "privacy.attack: unknown attack `guess`",
        ),
        (
            "[validate.privacy]\nmembers = \"data/missing.csv\"\n",
            "privacy members `data/missing.csv` does not exist",
        ),
        (
            "[validate.redteam]\nepsilon = [0.1]\n",
            "unknown field `epsilon`",
        ),
    ];
    for (entry, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path(), entry);
        let err = run(&CheckOptions {
            root: dir.path().to_path_buf(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(err, CheckError::Project(_)), "{err:?}");
        assert!(err.to_string().contains(want), "{entry}: {err}");
        // Nothing ran: no evidence folder was written.
        assert!(!dir.path().join(".mlsec").exists(), "{entry}");
    }
}

#[test]
fn two_entries_of_one_model_keep_both_envelopes() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), "[validate.redteam]\nrows = 5\nbudget = 50\n");
    let mut toml = fs::read_to_string(dir.path().join("mlsec.toml")).unwrap();
    // The same model on its training rows, and a name that tries to leave
    // the evidence folder.
    toml.push_str(
        "\n[[validate]]\nmodel = \"models/species/model.onnx\"\ndata = \"data/penguins-train.csv\"\nlabel = \"species\"\nfeatures = [\"bill_length_mm\", \"bill_depth_mm\", \"flipper_length_mm\", \"body_mass_g\"]\n[validate.redteam]\nrows = 5\nbudget = 50\n\n[[validate]]\nname = \"../../escaped\"\nmodel = \"models/species/model.onnx\"\ndata = \"data/penguins-train.csv\"\nlabel = \"species\"\nfeatures = [\"bill_length_mm\", \"bill_depth_mm\", \"flipper_length_mm\", \"body_mass_g\"]\n[validate.redteam]\nrows = 5\nbudget = 50\n",
    );
    fs::write(dir.path().join("mlsec.toml"), toml).unwrap();
    let d = CheckDetails::of(
        &run(&CheckOptions {
            root: dir.path().to_path_buf(),
            only: vec![CheckKind::Redteam],
            ..Default::default()
        })
        .unwrap(),
    )
    .unwrap();
    let files: Vec<&str> = d
        .checks
        .iter()
        .map(|c| c.evidence.as_deref().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "redteam-species.json",
            "redteam-species-2.json",
            "redteam-.._.._escaped.json"
        ]
    );
    let data = |file: &str| {
        let e: serde_json::Value = serde_json::from_slice(
            &fs::read(dir.path().join(".mlsec/evidence").join(file)).unwrap(),
        )
        .unwrap();
        e["details"]["data"]["path"].as_str().unwrap().to_string()
    };
    assert!(data(files[0]).ends_with("penguins-holdout.csv"));
    assert!(data(files[1]).ends_with("penguins-train.csv"));
    assert!(!dir.path().join("escaped.json").exists());
}

#[test]
fn a_model_that_does_not_load_or_data_that_do_not_fit_is_a_check_in_error() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), QUICK);
    // Feature columns the model does not read: every validation fails to
    // run, and the decision is an error, never a pass.
    let toml = fs::read_to_string(dir.path().join("mlsec.toml"))
        .unwrap()
        .replace(", \"body_mass_g\"]", "]");
    fs::write(dir.path().join("mlsec.toml"), toml).unwrap();
    let d = check(dir.path());
    assert_eq!(d.decision, "error");
    for c in &d.checks {
        assert_eq!(c.status, "error", "{c:?}");
        assert!(
            c.error.as_deref().unwrap().contains("3 feature columns"),
            "{c:?}"
        );
    }

    project(dir.path(), QUICK);
    fs::write(
        dir.path().join("models/species/model.onnx"),
        b"not an onnx file",
    )
    .unwrap();
    let d = check(dir.path());
    assert_eq!(d.decision, "error");
    let redteam = d
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::Redteam)
        .unwrap();
    assert!(
        redteam.error.as_deref().unwrap().contains("model.onnx"),
        "{redteam:?}"
    );
}

/// A threshold that is not a number would compare false with every measure
/// and pass every model: it is a check that cannot run.
#[test]
fn a_threshold_that_is_not_a_number_is_an_error_not_a_pass() {
    let cases = [
        (
            "redteam",
            "max-success = nan",
            "max-success must be a number from 0 to 1, not NaN",
        ),
        (
            "privacy",
            "max-auc = nan",
            "max-auc must be a number from 0 to 1",
        ),
        (
            "privacy",
            "max-auc = 1.5",
            "max-auc must be a number from 0 to 1, not 1.5",
        ),
        (
            "explain",
            "min-ratio = nan",
            "min-ratio must be a number from 0",
        ),
    ];
    for (section, line, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let entry = QUICK.replace(
            &format!("[validate.{section}]\n"),
            &format!("[validate.{section}]\n{line}\n"),
        );
        project(dir.path(), &entry);
        let d = check(dir.path());
        assert_eq!(d.decision, "error", "{line}");
        let failed: Vec<&str> = d
            .checks
            .iter()
            .filter(|c| c.status == "error")
            .map(|c| c.kind.as_str())
            .collect();
        assert_eq!(failed, [section], "{line}");
        let error = d.checks.iter().find_map(|c| c.error.as_deref()).unwrap();
        assert!(error.contains(want), "{line}: {error}");
    }
}
