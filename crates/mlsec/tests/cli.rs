//! The command line as users and CI see it: exit codes, formats, output files.

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::Path;

const EVIL: &[u8] = b"cos\nsystem\n(S'echo pwned'\ntR.";
const BENIGN: &[u8] = b"\x80\x04\x95\x1c\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94.";
const UNKNOWN: &[u8] = b"\x80\x04\x8c\x0cmypkg.models\x8c\x03Net\x93)\x81.";

fn mlsec() -> Command {
    Command::cargo_bin("mlsec").unwrap()
}

fn folder(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in files {
        let p = dir.path().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    }
    dir
}

fn json_of(args: &[&str], dir: &Path) -> (i32, Value) {
    let out = mlsec()
        .args(args)
        .arg(dir)
        .args(["--format", "json"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

#[test]
fn exit_codes_follow_the_threshold() {
    let clean = folder(&[("ok.pkl", BENIGN)]);
    mlsec().arg("scan").arg(clean.path()).assert().code(0);
    let evil = folder(&[("weights.bin", EVIL)]);
    mlsec().arg("scan").arg(evil.path()).assert().code(1);
    mlsec()
        .args(["scan", "--fail-on", "critical"])
        .arg(evil.path())
        .assert()
        .code(1);
    // An unknown callable fails the default gate (PKL002 is high) and passes
    // only a gate set above it.
    let unknown = folder(&[("m.pkl", UNKNOWN)]);
    mlsec().arg("scan").arg(unknown.path()).assert().code(1);
    mlsec()
        .args(["scan", "--fail-on", "critical"])
        .arg(unknown.path())
        .assert()
        .code(0);
}

#[test]
fn usage_and_io_errors_exit_2_with_one_line() {
    let out = mlsec()
        .args(["scan", "/definitely/not/here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("/definitely/not/here") && err.contains("No such file"),
        "{err}"
    );
    mlsec()
        .args(["scan", "--format", "xml", "."])
        .assert()
        .code(2);
    mlsec().arg("scan").assert().code(2);
    let bad_config = folder(&[("mlsec.toml", b"[scan]\nalow = []\n"), ("ok.pkl", BENIGN)]);
    let out = mlsec()
        .args(["scan", "--config"])
        .arg(bad_config.path().join("mlsec.toml"))
        .arg(bad_config.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mlsec.toml"));
}

#[test]
fn json_is_the_evidence_envelope_with_file_verdicts() {
    let dir = folder(&[
        ("a/evil.png", EVIL),
        ("b/ok.pkl", BENIGN),
        ("c/notes.txt", b"just text\n"),
    ]);
    let (code, v) = json_of(&["scan"], dir.path());
    assert_eq!(code, 1);
    assert_eq!(v["schema"], "mlsec.evidence/v1");
    assert_eq!(v["kind"], "scan");
    assert_eq!(v["summary"]["verdict"], "fail");
    let files = v["details"]["files"].as_array().unwrap();
    let verdict = |suffix: &str| {
        files
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(suffix))
            .unwrap()["verdict"]
            .clone()
    };
    assert_eq!(verdict("evil.png"), "malicious");
    assert_eq!(verdict("ok.pkl"), "clean");
    assert_eq!(verdict("notes.txt"), "unsupported");
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "PKL001");
    assert!(f["subject"].as_str().unwrap().ends_with("evil.png"));
    assert_eq!(f["offset"], 0);
}

#[test]
fn sarif_has_rules_with_help_and_located_results() {
    let dir = folder(&[("evil.pkl", EVIL)]);
    let out = mlsec()
        .arg("scan")
        .arg(dir.path())
        .args(["-f", "sarif"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let pkl001 = rules.iter().find(|r| r["id"] == "PKL001").unwrap();
    assert!(pkl001["help"]["markdown"]
        .as_str()
        .unwrap()
        .contains("## How to fix"));
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "PKL001");
    assert_eq!(result["level"], "error");
    assert!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("evil.pkl")
    );
}

#[test]
fn output_file_is_written_and_allow_list_applies() {
    let dir = folder(&[("m.pkl", UNKNOWN)]);
    let out = dir.path().join("report.json");
    mlsec()
        .args([
            "scan",
            "--fail-on",
            "medium",
            "--allow",
            "mypkg.models.Net",
            "-f",
            "json",
            "-q",
            "-o",
        ])
        .arg(&out)
        .arg(dir.path().join("m.pkl"))
        .assert()
        .code(0)
        .stdout("");
    let v: Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["details"]["files"][0]["verdict"], "clean");
    let config = folder(&[
        ("mlsec.toml", b"[scan]\nallow = [\"mypkg.*\"]\n"),
        ("m.pkl", UNKNOWN),
    ]);
    mlsec()
        .current_dir(config.path())
        .args(["scan", "--fail-on", "medium", "m.pkl"])
        .assert()
        .code(0);
}

#[test]
fn rules_lists_and_explains() {
    let out = mlsec().arg("rules").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("PKL001") && text.contains("SCN001"));
    let out = mlsec().args(["rules", "pkl004"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("## Why is this bad?") && text.contains("numpy.size"),
        "{text}"
    );
    mlsec().args(["rules", "NOPE999"]).assert().code(2);
}

#[cfg(unix)]
#[test]
fn symlink_out_of_the_folder_is_a_finding() {
    let dir = folder(&[("ok.pkl", BENIGN)]);
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("weights.bin")).unwrap();
    std::os::unix::fs::symlink("ok.pkl", dir.path().join("alias.pkl")).unwrap();
    let (code, v) = json_of(&["scan"], dir.path());
    assert_eq!(code, 1);
    let rules: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].clone())
        .collect();
    assert_eq!(rules, ["SCN001"], "{v}");
    assert_eq!(v["details"]["files"].as_array().unwrap().len(), 2);
}

#[test]
fn every_rule_is_documented_in_the_readme() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md"))
            .unwrap();
    let out = mlsec()
        .args(["rules", "--format", "json"])
        .output()
        .unwrap();
    let evidence: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(evidence["schema"], "mlsec.evidence/v1");
    assert_eq!(evidence["kind"], "rules");
    let rules = evidence["details"]["rules"].as_array().unwrap();
    assert!(rules.len() >= 60, "{} rules", rules.len());
    for r in rules {
        let row = format!(
            "| `{}` | {} |",
            r["id"].as_str().unwrap(),
            r["severity"].as_str().unwrap()
        );
        assert!(
            readme.contains(&row),
            "docs/rules.md's rule table lacks {row}"
        );
    }
}

/// An `mlsec.toml` that lives in the scanned repository must not switch the
/// scanner off: its allow entries do not reach denylisted globals unless the
/// command line says `--trust-config`, and the evidence names the file.
#[test]
fn a_config_in_the_scanned_tree_cannot_allow_denied_globals() {
    let dir = folder(&[
        (
            "mlsec.toml",
            b"[scan]\nallow = [\"os.*\", \"builtins.*\", \"mypkg.*\"]\n",
        ),
        ("evil.pkl", EVIL),
        ("net.pkl", UNKNOWN),
    ]);
    let run = |extra: &[&str]| {
        let out = mlsec()
            .current_dir(dir.path())
            .args(["scan", "--quiet", "--format", "json", "."])
            .args(extra)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), v)
    };
    let (code, v) = run(&[]);
    assert_eq!(code, 1);
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    // os.system stays denied; the file still allows the project's own class.
    assert_eq!(rules, ["PKL001"]);
    let config = &v["details"]["config"];
    assert_eq!(config["file"], "mlsec.toml");
    assert_eq!(config["allow_unless_denied"][2], "mypkg.*");
    assert_eq!(
        config["not_applied_to_denied_globals"],
        serde_json::json!(["os.*", "builtins.*"])
    );
    let human = mlsec()
        .current_dir(dir.path())
        .args(["scan", "--quiet", "."])
        .output()
        .unwrap();
    let text = String::from_utf8(human.stdout).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("config mlsec.toml"))
            .count(),
        1,
        "{text}"
    );
    // Trusted on the command line, the file's entries apply in full.
    let (code, v) = run(&["--trust-config"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["details"]["config"]["allow"][0], "os.*");
}

#[test]
fn version_names_the_commit() {
    let out = mlsec().arg("--version").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let (release, commit) = text
        .trim()
        .strip_prefix("mlsec ")
        .and_then(|t| t.split_once(" ("))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(release, env!("CARGO_PKG_VERSION"));
    let commit = commit.trim_end_matches(')');
    let in_git = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.git")
        .exists();
    if in_git {
        assert!(
            commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
            "{text}"
        );
    } else {
        assert_eq!(commit, "unknown commit");
    }
}

#[test]
fn rules_as_sarif_is_a_sarif_log_with_every_rule() {
    let out = mlsec()
        .args(["rules", "--format", "sarif"])
        .output()
        .unwrap();
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let driver = &log["runs"][0]["tool"]["driver"];
    assert!(driver["rules"].as_array().unwrap().len() >= 60);
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
}

/// Every relative link in the README, docs/ and bench/ names a file that
/// exists, so the front page and the reference stay connected; links to this
/// repository on GitHub name files that exist here; and docs/, which is also
/// built as a book, never links outside itself by a relative path.
#[test]
fn relative_links_in_the_documentation_resolve() {
    const REPO: &str = "https://github.com/mlsec/mlsec/blob/main/";
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut pages = vec![
        root.join("README.md"),
        root.join("bench/README.md"),
        root.join("fuzz/README.md"),
    ];
    for dir in ["docs", "bench/sign"] {
        for entry in fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    let mut broken = Vec::new();
    for page in &pages {
        let text = fs::read_to_string(page).unwrap();
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = rest[..end].split('#').next().unwrap_or("");
            if let Some(path) = target.strip_prefix(REPO) {
                if !root.join(path).exists() {
                    broken.push(format!("{}: {target}", page.display()));
                }
                continue;
            }
            if target.is_empty() || target.contains("://") || target.contains(' ') {
                continue;
            }
            if !page.parent().unwrap().join(target).exists() {
                broken.push(format!("{}: {target}", page.display()));
            }
            if page.parent().unwrap().ends_with("docs") && target.starts_with("..") {
                broken.push(format!(
                    "{}: {target} leaves the book; link to {REPO}... instead",
                    page.display()
                ));
            }
        }
    }
    assert!(pages.len() >= 8, "{pages:?}");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// `mlsec data drift`: exit 0 without findings at the threshold, 1 with,
/// 2 on a usage error; JSON is the envelope, SARIF a log; a profile written
/// with `-o` serves as the reference.
#[test]
fn data_drift_exit_codes_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = (dir.path().join("ref.csv"), dir.path().join("cur.csv"));
    let mut a = String::from("x,kind\n");
    let mut b = String::from("x,kind\n");
    for i in 0..600 {
        a.push_str(&format!("{},{}\n", i % 100, ["a", "b", "c"][i % 3]));
        // x shifted by 30; kind the same.
        b.push_str(&format!(
            "{},{}\n",
            i % 100 + 30,
            ["a", "b", "c"][(i + 1) % 3]
        ));
    }
    fs::write(&r, a).unwrap();
    fs::write(&c, b).unwrap();
    let (rs, cs) = (r.to_str().unwrap(), c.to_str().unwrap());
    // One of two columns drifted: share 0.5 is dataset drift (high): exit 1.
    mlsec().args(["data", "drift", rs, cs]).assert().code(1);
    // A higher dataset threshold leaves only the column finding (medium).
    mlsec()
        .args(["data", "drift", rs, cs, "--drift-share", "0.9"])
        .assert()
        .code(0);
    let out = mlsec()
        .args([
            "data",
            "drift",
            rs,
            cs,
            "--drift-share",
            "0.9",
            "--fail-on",
            "medium",
            "-f",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["kind"], "drift");
    assert_eq!(e["details"]["columns"][0]["column"], "x");
    assert_eq!(e["details"]["columns"][0]["drifted"], true);
    assert_eq!(e["details"]["columns"][1]["drifted"], false);
    let out = mlsec()
        .args(["data", "drift", rs, cs, "-f", "sarif"])
        .output()
        .unwrap();
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"][0]["results"][0]["ruleId"], "DRF001");
    let out = mlsec()
        .args(["data", "drift", rs, cs, "--numeric-method", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown drift method `nope`"));
    let profile = dir.path().join("ref.profile.json");
    mlsec()
        .args(["data", "profile", rs, "-q", "-o", profile.to_str().unwrap()])
        .assert()
        .code(0);
    let out = mlsec()
        .args(["data", "drift", profile.to_str().unwrap(), cs])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("DRIFT"));
}

#[test]
fn data_issues_exit_codes_formats_and_clean_copy() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("t.csv");
    // Two separable classes; row 81 copies row 1 under the other label, row
    // 82 copies row 2.
    let mut s = String::from("x,y,label\n");
    for i in 0..80 {
        let class = i % 2;
        s.push_str(&format!("{i},{},{class}\n", class * 10 + i % 3));
    }
    s.push_str("0,0,1\n1,11,1\n");
    fs::write(&data, s).unwrap();
    let d = data.to_str().unwrap();
    // The conflict is medium: exit 0 by default, 1 with --fail-on medium.
    mlsec()
        .args(["data", "issues", d, "--label", "label"])
        .assert()
        .code(0);
    let clean = dir.path().join("clean.csv");
    let out = mlsec()
        .args([
            "data",
            "issues",
            d,
            "--label",
            "label",
            "--fail-on",
            "medium",
            "-f",
            "json",
        ])
        .args(["--write-clean", clean.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["kind"], "data-issues");
    let conflicts: Vec<u64> = e["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["evidence"]["issue"] == "conflict")
        .map(|f| f["evidence"]["row"].as_u64().unwrap())
        .collect();
    assert_eq!(conflicts, [1, 81]);
    assert_eq!(e["details"]["counts"]["conflict"], 2);
    let kept = fs::read_to_string(&clean).unwrap();
    let flagged = e["details"]["flagged_rows"].as_u64().unwrap();
    assert_eq!(kept.lines().count() as u64, 1 + 82 - flagged);
    assert!(!kept.contains("\n0,0,1\n"));
    let out = mlsec()
        .args(["data", "issues", d, "--label", "label", "-f", "sarif"])
        .output()
        .unwrap();
    let log: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    assert!(log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["ruleId"] == "DQI004"));
    let out = mlsec()
        .args(["data", "issues", d, "--label", "species"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no column `species`") && err.contains("t.csv"),
        "{err}"
    );
    let out = mlsec()
        .args(["data", "issues", d, "--checks", "label,nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = mlsec()
        .args(["data", "issues", d, "--label", "label"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("same features as row 81"), "{text}");
}
