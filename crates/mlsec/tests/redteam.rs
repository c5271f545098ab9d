//! `mlsec redteam` as users and CI see it, on the example project's species
//! classifier (scikit-learn imputer, scaler and logistic regression, as
//! skl2onnx exports it) and the penguins it was trained on.

use assert_cmd::Command;
use serde_json::Value;

fn mlsec() -> Command {
    Command::cargo_bin("mlsec").unwrap()
}

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/models/species-classifier/model.onnx"
);
const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/data/penguins.csv"
);
const FEATURES: &str = "bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g";

fn run(extra: &[&str]) -> (i32, Value, String) {
    let out = mlsec()
        .args([
            "redteam",
            MODEL,
            "--data",
            DATA,
            "--label",
            "species",
            "--features",
            FEATURES,
        ])
        .args(["-f", "json", "--rows", "60", "--budget", "300"])
        .args(extra)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn attack<'a>(e: &'a Value, name: &str, eps: f64) -> &'a Value {
    e["details"]["attacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["attack"] == name && (a["eps"].as_f64().unwrap() - eps).abs() < 1e-6)
        .unwrap_or_else(|| panic!("no {name} at {eps}: {e}"))
}

#[test]
fn attacks_report_a_robustness_curve_and_the_gate_follows_max_success() {
    let (code, e, err) = run(&[
        "--attack",
        "square,hsj",
        "--eps",
        "0.02,0.1,0.3",
        "--max-success",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(e["kind"], "redteam");
    let d = &e["details"];
    assert_eq!(
        d["model"]["classes"],
        serde_json::json!(["Adelie", "Chinstrap", "Gentoo"])
    );
    assert_eq!(d["model"]["output"], "probabilities");
    assert!(d["clean_accuracy"].as_f64().unwrap() > 0.95, "{d}");
    assert_eq!(d["sample"]["rows"], 60);
    assert_eq!(d["partial"], false);
    assert_eq!(
        e["subjects"][0]["digest"]["sha256"].as_str().unwrap().len(),
        64
    );
    for name in ["square", "hsj"] {
        let rates: Vec<f64> = [0.02, 0.1, 0.3]
            .iter()
            .map(|&eps| attack(&e, name, eps)["success_rate"].as_f64().unwrap())
            .collect();
        // More room, more flips: the curve rises, from few to most rows.
        assert!(
            rates[0] <= rates[1] && rates[1] <= rates[2],
            "{name}: {rates:?}"
        );
        assert!(rates[0] < 0.3 && rates[2] > 0.6, "{name}: {rates:?}");
        let a = attack(&e, name, 0.3);
        assert!(a["median_queries"].as_f64().unwrap() <= 300.0);
        assert!(a["median_perturbation"].as_f64().unwrap() <= 0.3 + 1e-4);
        let robust = a["robust_accuracy"].as_f64().unwrap();
        assert!(robust < a["clean_accuracy"].as_f64().unwrap());
    }
    // An example flip names the features and stays inside the data's range.
    let ex = &attack(&e, "square", 0.3)["examples"][0];
    assert_ne!(ex["label"], ex["adversarial_class"]);
    for c in ex["changes"].as_array().unwrap() {
        let to = c["to"].as_f64().unwrap();
        let f = d["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == c["feature"])
            .unwrap();
        assert!(
            to >= f["lower"].as_f64().unwrap() - 1e-3 && to <= f["upper"].as_f64().unwrap() + 1e-3
        );
    }

    // The same seed, the same numbers.
    let (_, again, _) = run(&[
        "--attack",
        "square,hsj",
        "--eps",
        "0.02,0.1,0.3",
        "--max-success",
        "1",
    ]);
    for name in ["square", "hsj"] {
        assert_eq!(
            attack(&e, name, 0.1)["success_rate"],
            attack(&again, name, 0.1)["success_rate"]
        );
    }

    // Above --max-success: a finding and exit 1.
    let (code, e, _) = run(&["--attack", "hsj", "--eps", "0.3", "--max-success", "0.2"]);
    assert_eq!(code, 1);
    assert_eq!(e["findings"][0]["rule"], "RTM001");
}

#[test]
fn immutable_features_do_not_move_and_targets_are_met() {
    let (code, e, err) = run(&[
        "--attack",
        "boundary",
        "--eps",
        "0.3",
        "--immutable",
        "bill_length_mm,flipper_length_mm",
        "--target",
        "Gentoo",
    ]);
    assert!(code == 0 || code == 1, "{err}");
    let a = attack(&e, "boundary", 0.3);
    for ex in a["examples"].as_array().unwrap() {
        assert_eq!(ex["adversarial_class"], "Gentoo");
        for c in ex["changes"].as_array().unwrap() {
            assert!(
                c["feature"] != "bill_length_mm" && c["feature"] != "flipper_length_mm",
                "{c}"
            );
        }
    }
}

#[test]
fn bad_input_is_one_clear_line_and_exit_2() {
    let cases: [(&[&str], &str); 4] = [
        (&["--label", "nope"], "no label column `nope`"),
        (&["--features", "bill_length_mm"], "reads 4 features"),
        (
            &["--label", "island", "--features", FEATURES],
            "labels the model never outputs",
        ),
        (
            &[
                "--features",
                "species,bill_depth_mm,flipper_length_mm,body_mass_g",
            ],
            "not numeric",
        ),
    ];
    for (args, want) in cases {
        let mut cmd = mlsec();
        cmd.args(["redteam", MODEL, "--data", DATA]);
        if !args.contains(&"--label") {
            cmd.args(["--label", "species"]);
        }
        let out = cmd.args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(want) && err.contains("penguins.csv"),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // A threshold that is not a number would pass every model.
    let out = mlsec()
        .args(["redteam", MODEL, "--data", DATA, "--label", "species"])
        .args(["--features", FEATURES, "--max-success", "NaN"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("max-success must be a number from 0 to 1"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("model.onnx");
    std::fs::write(&bad, b"\x08\x07garbage that is not a model").unwrap();
    let out = mlsec()
        .arg("redteam")
        .arg(&bad)
        .args(["--data", DATA, "--label", "species"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("model.onnx"), "{err}");
}

/// `--profile`: the training data's profile widens each feature's bounds to
/// the range the model saw, beyond the few rows attacked; `--bounds` wins.
#[test]
fn a_profile_of_the_training_data_bounds_the_features() {
    let dir = tempfile::tempdir().unwrap();
    // The attacked rows: the first 30 Adelie penguins only (a narrow range).
    let text = std::fs::read_to_string(DATA).unwrap();
    let few: Vec<&str> = text.lines().take(31).collect();
    let rows = dir.path().join("few.csv");
    std::fs::write(&rows, few.join("\n") + "\n").unwrap();
    let profile = dir.path().join("train.profile.json");
    let out = mlsec()
        .args(["data", "profile", DATA, "-o"])
        .arg(&profile)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let redteam = |extra: &[&str]| {
        mlsec()
            .args(["redteam", MODEL, "--data"])
            .arg(&rows)
            .args(["--label", "species", "--features", FEATURES, "--profile"])
            .arg(&profile)
            .args(["--attack", "square", "--budget", "50", "--max-success", "1"])
            .args(["-f", "json"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = redteam(&["--bounds", "body_mass_g=2000:7000"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    let features = e["details"]["features"].as_array().unwrap();
    let feature = |name: &str| features.iter().find(|f| f["name"] == name).unwrap();
    // Every penguin's range (Gentoo's long flippers too), not the 30 rows'.
    let flipper = feature("flipper_length_mm");
    assert_eq!(flipper["bounds_from"], "profile");
    assert_eq!(flipper["lower"].as_f64().unwrap(), 172.0);
    assert_eq!(flipper["upper"].as_f64().unwrap(), 231.0);
    let bill = feature("bill_length_mm");
    assert_eq!(bill["lower"].as_f64().unwrap(), 32.099998474121094);
    assert_eq!(bill["upper"].as_f64().unwrap(), 59.599998474121094);
    let mass = feature("body_mass_g");
    assert_eq!(mass["bounds_from"], "given");
    assert_eq!(mass["lower"].as_f64().unwrap(), 2000.0);
    assert_eq!(mass["upper"].as_f64().unwrap(), 7000.0);

    // Without a profile the rows' own range, much narrower.
    let out = mlsec()
        .args(["redteam", MODEL, "--data"])
        .arg(&rows)
        .args(["--label", "species", "--features", FEATURES])
        .args([
            "--attack",
            "square",
            "--budget",
            "50",
            "--max-success",
            "1",
            "-f",
            "json",
        ])
        .output()
        .unwrap();
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    let flipper = &e["details"]["features"][2];
    assert_eq!(flipper["bounds_from"], "data");
    assert!(flipper["upper"].as_f64().unwrap() < 200.0, "{flipper}");

    // A profile of other data: one line naming the file, exit 2.
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "a,b\n1,2\n3,4\n").unwrap();
    let out = mlsec()
        .args(["data", "profile"])
        .arg(&other)
        .arg("-o")
        .arg(&profile)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = redteam(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("train.profile.json")
            && err.contains("no numeric column named like a feature"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// `mlsec data issues --model`: the label check reads the user's model's
/// probabilities, and finds labels flipped in the penguins.
#[test]
fn data_issues_with_a_users_model_finds_flipped_labels() {
    let text = std::fs::read_to_string(DATA).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let flipped = [10usize, 60, 160, 200, 250, 300];
    for &row in &flipped {
        let line = &mut lines[row];
        let (species, rest) = line.split_once(',').unwrap();
        let other = if species == "Gentoo" {
            "Adelie"
        } else {
            "Gentoo"
        };
        *line = format!("{other},{rest}");
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("flipped.csv");
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let out = mlsec()
        .args(["data", "issues"])
        .arg(&data)
        .args(["--label", "species", "--checks", "label", "--model", MODEL])
        .args(["--model-features", FEATURES, "-f", "json"])
        .output()
        .unwrap();
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<u64> = e["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["evidence"]["row"].as_u64())
        .collect();
    for row in flipped {
        assert!(
            rows.contains(&(row as u64)),
            "row {row} not flagged: {rows:?}"
        );
    }
    assert!(rows.len() <= flipped.len() + 1, "{rows:?}");
    assert_eq!(e["details"]["label_model"]["folds"], 0);

    // Labels the model does not know: one line naming the file.
    let out = mlsec()
        .args(["data", "issues"])
        .arg(&data)
        .args(["--label", "island", "--checks", "label", "--model", MODEL])
        .args(["--model-features", FEATURES])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("flipped.csv") && err.contains("is not one of"),
        "{err}"
    );
}

/// `mlsec data drift --model`: the model's predictions are one more column.
/// The example's request log, in which one client sends body mass in
/// kilograms, moves the species predicted; the training data against itself
/// does not.
#[test]
fn data_drift_with_a_model_compares_its_predictions() {
    let logs = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/logs/requests-week-48.csv"
    );
    let column = |current: &str| {
        let out = mlsec()
            .args(["data", "drift", DATA, current, "--model", MODEL])
            .args(["--model-features", FEATURES, "-f", "json"])
            .output()
            .unwrap();
        let e: Value = serde_json::from_slice(&out.stdout).unwrap();
        e["details"]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["column"] == "prediction [model.onnx]")
            .unwrap_or_else(|| panic!("no prediction column: {e}"))
            .clone()
    };
    let drifted = column(logs);
    assert_eq!(drifted["kind"], "categorical");
    assert_eq!(drifted["drifted"], true, "{drifted}");
    let same = column(DATA);
    assert_eq!(same["drifted"], false, "{same}");

    // A profile holds no rows to predict: one clear line.
    let out = mlsec()
        .args(["data", "drift"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/data/penguins.profile.json"
        ))
        .args([logs, "--model", MODEL, "--model-features", FEATURES])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("prediction drift needs every row"), "{err}");
}

/// `mlsec explain`: fairness per group, importances and SHAP values on the
/// species classifier.
#[test]
fn explain_reports_fairness_importance_and_shap() {
    let run = |extra: &[&str]| {
        mlsec()
            .args([
                "explain",
                MODEL,
                "--data",
                DATA,
                "--label",
                "species",
                "--features",
                FEATURES,
            ])
            .args([
                "--sensitive",
                "sex",
                "--positive",
                "Gentoo",
                "--shap-rows",
                "1,200",
                "-f",
                "json",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["kind"], "explain");
    let d = &e["details"];
    let f = &d["fairness"]["metrics"];
    let groups: Vec<&str> = f["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        groups,
        ["female", "male"],
        "rows without a sex belong to no group"
    );
    let rates: Vec<f64> = f["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["selection_rate"].as_f64().unwrap())
        .collect();
    let ratio = rates[0].min(rates[1]) / rates[0].max(rates[1]);
    assert!((f["demographic_parity_ratio"].as_f64().unwrap() - ratio).abs() < 1e-12);
    // Bill length tells the species best.
    let imp = d["importance"]["features"].as_array().unwrap();
    let best = imp
        .iter()
        .max_by(|a, b| {
            a["mean"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["mean"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(
        d["features"][best["feature"].as_u64().unwrap() as usize],
        "bill_length_mm"
    );
    // SHAP values add up to the prediction less the base value.
    for row in d["shap"].as_array().unwrap() {
        let sum: f64 = row["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum();
        let gap = row["prediction"].as_f64().unwrap() - row["base_value"].as_f64().unwrap();
        assert!((sum - gap).abs() < 1e-5, "{row}");
    }
    assert_eq!(d["shap"][1]["class"], "Gentoo");

    // A stricter ratio: a finding (medium), exit 1 when --fail-on medium.
    let out = run(&[
        "--min-ratio",
        "0.999",
        "--fail-on",
        "medium",
        "--repeats",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["findings"][0]["rule"], "EXP001");

    let out = run(&["--shap-rows", "100000", "--repeats", "0"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("row 100000"), "{err}");
}

/// `mlsec privacy`: the envelope's attacks, and the gate on their AUC.
#[test]
fn privacy_reports_each_attack_and_gates_on_auc() {
    let text = std::fs::read_to_string(DATA).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let dir = tempfile::tempdir().unwrap();
    let (members, others) = (
        dir.path().join("members.csv"),
        dir.path().join("others.csv"),
    );
    let half = |odd: usize| {
        let mut out = vec![lines[0].to_string()];
        out.extend(
            lines[1..]
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == odd)
                .map(|(_, l)| l.to_string()),
        );
        out.join("\n") + "\n"
    };
    std::fs::write(&members, half(0)).unwrap();
    std::fs::write(&others, half(1)).unwrap();
    let run = |extra: &[&str]| {
        mlsec()
            .args([
                "privacy",
                MODEL,
                "--label",
                "species",
                "--features",
                FEATURES,
            ])
            .arg("--members")
            .arg(&members)
            .arg("--non-members")
            .arg(&others)
            .args(["--attack", "loss,lira", "--shadow", "4", "-f", "json"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["kind"], "privacy");
    let attacks = e["details"]["attacks"].as_array().unwrap();
    let names: Vec<&str> = attacks
        .iter()
        .map(|a| a["attack"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["loss", "lira"]);
    for a in attacks {
        // The model never saw either half apart: no attack does much.
        let auc = a["auc"].as_f64().unwrap();
        assert!((0.3..0.7).contains(&auc), "{a}");
        assert!(a["tpr_at_fpr"]["0.01"].is_number() && a["tpr_at_fpr"]["0.001"].is_number());
        assert!(a["advantage"].as_f64().unwrap() >= 0.0);
    }
    // Model inversion, per feature by name.
    let inverted: Vec<&str> = e["details"]["inversion"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["feature"].as_str().unwrap())
        .collect();
    assert_eq!(inverted, FEATURES.split(',').collect::<Vec<_>>());
    // Any AUC above 0: a finding, exit 1.
    let out = run(&["--max-auc", "0"]);
    assert_eq!(out.status.code(), Some(1));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["findings"][0]["rule"], "PRV001");
}

/// `mlsec report` over the validation commands' envelopes: the robustness
/// curve, the AUC per membership attack and the fairness and explanation
/// charts, in one file that loads nothing.
#[test]
fn the_report_plots_robustness_privacy_and_explanations() {
    let dir = tempfile::tempdir().unwrap();
    let common = ["--label", "species", "--features", FEATURES, "-f", "json"];
    let save = |name: &str, args: &[&str]| {
        let path = dir.path().join(name);
        let out = mlsec()
            .args(args)
            .args(common)
            .arg("-o")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        path
    };
    let redteam = save(
        "redteam.json",
        &["redteam", MODEL, "--data", DATA, "--attack", "square,hsj"]
            .into_iter()
            .chain(["--eps", "0.05,0.2", "--rows", "30", "--budget", "200"])
            .collect::<Vec<_>>(),
    );
    let explain = save(
        "explain.json",
        &["explain", MODEL, "--data", DATA, "--sensitive", "sex"]
            .into_iter()
            .chain(["--positive", "Gentoo", "--shap-rows", "1"])
            .collect::<Vec<_>>(),
    );
    let privacy = save(
        "privacy.json",
        &["privacy", MODEL, "--members", DATA, "--non-members", DATA]
            .into_iter()
            .chain(["--attack", "loss,gap"])
            .collect::<Vec<_>>(),
    );
    let out = mlsec()
        .arg("report")
        .args([&redteam, &explain, &privacy])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let page = String::from_utf8(out.stdout).unwrap();
    // Robustness: a line per attack, starting at the clean accuracy (x = 0).
    assert!(
        page.contains("<h2>Robustness: <code>"),
        "no robustness section"
    );
    assert_eq!(
        page.matches("<polyline ").count(),
        2,
        "one curve per attack"
    );
    assert!(page.contains("<td>square</td><td>0.050</td>"));
    assert!(page.contains("<td>hsj</td><td>0.200</td>"));
    // Privacy: each attack's AUC as a bar, guessing marked.
    assert!(page.contains("<h2>Membership inference: <code>"));
    assert!(page.contains("guessing 0.500"));
    assert!(page.contains("<tr><td>loss</td>") && page.contains("<tr><td>gap</td>"));
    assert!(page.contains("<p>Model inversion: each feature guessed"));
    assert!(page.contains("<tr><td>body_mass_g</td>"));
    // Explain: the groups, importance per feature, SHAP of row 1.
    assert!(page.contains("<h3>Fairness across <code>sex</code>"));
    assert!(page.contains("<tr><td>female</td>") && page.contains("<tr><td>male</td>"));
    assert!(page.contains("<h3>Permutation importance</h3>"));
    assert!(page.contains("aria-label=\"Permutation importance per feature\""));
    assert!(page.contains("<h3>SHAP values of row 1"));
    // Still one file that loads and runs nothing.
    assert!(!page.contains("<script") && !page.contains("src=\"http"));
}

/// A FIFO or a device given as the model or the data would block or never
/// end: one line, exit 2, at once.
#[cfg(unix)]
#[test]
fn a_fifo_or_device_as_model_or_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("rows.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let fifo = fifo.to_str().unwrap();
    for (model, data) in [(MODEL, fifo), (fifo, DATA), (MODEL, "/dev/zero")] {
        let out = mlsec()
            .args(["redteam", model, "--data", data, "--label", "species"])
            .timeout(std::time::Duration::from_secs(20))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{model} {data}: {err}");
        assert!(err.contains("not a regular file"), "{err}");
    }
}
