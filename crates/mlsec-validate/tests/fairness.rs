//! Group fairness metrics against Fairlearn's, on the cases of
//! tests/fixtures/fairness/make.py (cases.json).

use mlsec_validate::explain::fairness::{fairness, Rates};
use serde_json::Value;

const TOLERANCE: f64 = 1e-9;

fn close(case: &str, what: &str, ours: f64, theirs: &Value) {
    let theirs = theirs
        .as_f64()
        .unwrap_or_else(|| panic!("{case}: {what}: Fairlearn gave {theirs}"));
    assert!(
        (ours - theirs).abs() <= TOLERANCE,
        "{case}: {what}: ours {ours}, Fairlearn {theirs}"
    );
}

fn close_opt(case: &str, what: &str, ours: Option<f64>, theirs: &Value) {
    match ours {
        None => assert!(
            theirs.is_null(),
            "{case}: {what}: ours undefined, Fairlearn {theirs}"
        ),
        Some(v) => close(case, what, v, theirs),
    }
}

fn same_rates(case: &str, group: &str, ours: &Rates, theirs: &Value) {
    assert_eq!(
        ours.count as u64,
        theirs["count"].as_u64().unwrap(),
        "{case}: {group}: count"
    );
    for (what, v) in [
        ("accuracy", ours.accuracy),
        ("selection_rate", ours.selection_rate),
        ("tpr", ours.tpr),
        ("fpr", ours.fpr),
    ] {
        close(case, &format!("{group}: {what}"), v, &theirs[what]);
    }
}

#[test]
fn fairness_matches_fairlearn() {
    let doc: Value = serde_json::from_str(include_str!("fixtures/fairness/cases.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let classes = |key: &str| -> Vec<usize> {
            case[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect()
        };
        let groups: Vec<&str> = case["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let positive = case["positive"].as_u64().unwrap() as usize;
        let f = fairness(&classes("y_true"), &classes("y_pred"), positive, &groups).unwrap();

        let expected = &case["expected"];
        same_rates(name, "overall", &f.overall, &expected["overall"]);
        let theirs = expected["groups"].as_array().unwrap();
        assert_eq!(f.groups.len(), theirs.len(), "{name}: groups");
        for (ours, theirs) in f.groups.iter().zip(theirs) {
            assert_eq!(ours.name, theirs["name"].as_str().unwrap(), "{name}: order");
            same_rates(name, &ours.name, &ours.rates, theirs);
        }
        close(
            name,
            "demographic_parity_difference",
            f.demographic_parity_difference,
            &expected["demographic_parity_difference"],
        );
        close_opt(
            name,
            "demographic_parity_ratio",
            f.demographic_parity_ratio,
            &expected["demographic_parity_ratio"],
        );
        close(
            name,
            "equal_opportunity_difference",
            f.equal_opportunity_difference,
            &expected["equal_opportunity_difference"],
        );
        close_opt(
            name,
            "equal_opportunity_ratio",
            f.equal_opportunity_ratio,
            &expected["equal_opportunity_ratio"],
        );
        close(
            name,
            "equalized_odds_difference",
            f.equalized_odds_difference,
            &expected["equalized_odds_difference"],
        );
        close_opt(
            name,
            "equalized_odds_ratio",
            f.equalized_odds_ratio,
            &expected["equalized_odds_ratio"],
        );
    }
}
