//! Membership metrics against scikit-learn's `roc_auc_score` and
//! `roc_curve`, on the cases of tests/fixtures/privacy/make.py (cases.json).

use mlsec_validate::privacy::metrics::{advantage, roc_auc, roc_curve, separation, tpr_at_fpr};
use serde_json::Value;

const TOLERANCE: f64 = 1e-12;

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(case: &str, what: &str, ours: f64, theirs: f64) {
    assert!(
        (ours - theirs).abs() <= TOLERANCE,
        "{case}: {what}: ours {ours}, scikit-learn {theirs}"
    );
}

#[test]
fn metrics_match_scikit_learn() {
    let doc: Value = serde_json::from_str(include_str!("fixtures/privacy/cases.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 12);
    let mut curves = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let members = numbers(&case["members"]);
        let non = numbers(&case["non_members"]);
        let e = &case["expected"];
        let auc = e["auc"].as_f64().unwrap();
        let adv = e["advantage"].as_f64().unwrap();
        let t1 = e["tpr_at_fpr"]["0.01"].as_f64().unwrap();
        let t01 = e["tpr_at_fpr"]["0.001"].as_f64().unwrap();
        close(name, "auc", roc_auc(&members, &non).unwrap(), auc);
        close(name, "advantage", advantage(&members, &non).unwrap(), adv);
        close(
            name,
            "tpr@0.01",
            tpr_at_fpr(&members, &non, 0.01).unwrap(),
            t1,
        );
        close(
            name,
            "tpr@0.001",
            tpr_at_fpr(&members, &non, 0.001).unwrap(),
            t01,
        );
        let s = separation(&members, &non).unwrap();
        close(name, "separation auc", s.auc, auc);
        close(name, "separation advantage", s.advantage, adv);
        close(name, "separation tpr@0.01", s.tpr_at_fpr.fpr_1e2, t1);
        close(name, "separation tpr@0.001", s.tpr_at_fpr.fpr_1e3, t01);
        if e.get("fpr").is_some() {
            curves += 1;
            let (fpr, tpr) = (numbers(&e["fpr"]), numbers(&e["tpr"]));
            let ours = roc_curve(&members, &non).unwrap();
            assert_eq!(ours.len(), fpr.len(), "{name}: curve points");
            for (k, p) in ours.iter().enumerate() {
                close(name, &format!("fpr[{k}]"), p.fpr, fpr[k]);
                close(name, &format!("tpr[{k}]"), p.tpr, tpr[k]);
            }
        }
    }
    assert!(curves >= 8, "{curves} curves compared");
}

#[test]
fn the_details_keys_are_the_fpr_targets() {
    let s = separation(&[2.0, 3.0], &[1.0, 2.5]).unwrap();
    let v = serde_json::to_value(s).unwrap();
    assert_eq!(v["tpr_at_fpr"]["0.01"], 0.5);
    assert_eq!(v["tpr_at_fpr"]["0.001"], 0.5);
    assert_eq!(v["auc"], 0.75);
}
