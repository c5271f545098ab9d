//! Guards on a tabular model's route (KServe v2): the input spec, the
//! out-of-distribution score against a `mlsec data profile`, feature
//! squeezing, answer hardening, and model-extraction monitoring with a
//! replay of real penguins against a walk along the decision boundary.

mod common;

use common::{call, records, start_with, Harness};
use http::{Method, StatusCode};
use mlsec_gateway::keys::{self, NewKey};
use std::sync::atomic::Ordering;

const GUARDS: &str = r#"
[guards.spec]
kind = "tensor-spec"
inputs = [{ name = "penguin", datatype = "FP64", shape = [-1, 4], min = 0.0, max = 100000.0 }]

[guards.ood]
kind = "ood"
profile = "penguins.profile.json"
columns = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
threshold = 0.9999

[guards.watch]
kind = "extraction"
profile = "penguins.profile.json"
columns = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
action = "block"

[[route]]
name = "penguins"
protocol = "kserve-v2"
upstream = "http://{upstream}"
models = ["penguin-*"]
guards = ["spec", "ood"]
squeeze_decimals = 1
round_scores = 2
extraction = "watch"
"#;

async fn start() -> Harness {
    let profile = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/data/penguins.profile.json"
    ))
    .unwrap();
    start_with(GUARDS, &[("penguins.profile.json", &profile)]).await
}

fn infer(rows: &[[f64; 4]]) -> String {
    let data: Vec<f64> = rows.iter().flatten().copied().collect();
    serde_json::json!({"inputs": [{"name": "penguin", "shape": [rows.len(), 4], "datatype": "FP64", "data": data}]})
        .to_string()
}

async fn post(h: &Harness, key: &str, body: &str) -> common::Answer {
    call(
        h.addr,
        Method::POST,
        "/v2/models/penguin-clf/infer",
        Some(key),
        Some(body),
    )
    .await
}

/// A new key of `owner`'s, in use at once.
fn key_of(h: &Harness, owner: &str) -> String {
    let (_, key) = keys::create(
        &h.dir.path().join("keys.json"),
        &NewKey {
            owner: owner.into(),
            ..NewKey::default()
        },
    )
    .unwrap();
    h.gw.refresh_keys();
    key
}

/// The real penguins of examples/data/penguins.csv (rows with all four numbers).
fn penguins() -> Vec<[f64; 4]> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/data/penguins.csv"
    ))
    .unwrap();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let n = |i: usize| f.get(i)?.parse::<f64>().ok();
            Some([n(2)?, n(3)?, n(4)?, n(5)?])
        })
        .collect()
}

#[tokio::test]
async fn inputs_are_checked_squeezed_and_answers_rounded() {
    let h = start().await;
    let a = post(&h, &h.key, &infer(&[[39.14, 18.66, 181.0, 3750.0]])).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    // The upstream saw squeezed inputs; the client gets rounded scores.
    let sent: serde_json::Value =
        serde_json::from_slice(&h.upstream.seen.last_body.lock().unwrap().clone().unwrap())
            .unwrap();
    assert_eq!(
        sent["inputs"][0]["data"],
        serde_json::json!([39.1, 18.7, 181.0, 3750.0])
    );
    for p in a.body["outputs"][0]["data"].as_array().unwrap() {
        let p = p.as_f64().unwrap();
        assert_eq!((p * 100.0).round() / 100.0, p, "{p}");
    }
    // Off the spec: refused before the model sees it.
    let before = h.upstream.seen.requests.load(Ordering::SeqCst);
    let wrong = r#"{"inputs": [{"name": "penguin", "shape": [1, 3], "datatype": "FP64", "data": [39.1, 18.7, 181]}]}"#;
    let a = post(&h, &h.key, wrong).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert_eq!(
        a.body["error"],
        "blocked by guard `spec`: SHAPE in inputs[0]"
    );
    // A ten-tonne penguin is out of distribution.
    let a = post(&h, &h.key, &infer(&[[39.1, 18.7, 181.0, 90_000.0]])).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(
        a.body["error"]
            .as_str()
            .unwrap()
            .starts_with("blocked by guard `ood`: OUT_OF_DISTRIBUTION in inputs[0][0].body_mass_g"),
        "{}",
        a.text
    );
    assert_eq!(
        h.upstream.seen.requests.load(Ordering::SeqCst),
        before,
        "never sent on"
    );
    let r = records(&h);
    assert_eq!(r[1]["guards"][0]["rule"], "SHAPE");
    assert_eq!(r[2]["guards"][0]["family"], "ood");
}

#[tokio::test]
async fn a_boundary_walk_is_caught_and_replayed_penguins_are_not() {
    let h = start().await;
    let real = penguins();
    assert!(real.len() > 300);
    // Benign traffic: every penguin, twice over, ten a request.
    for round in 0..2 {
        for chunk in real.chunks(10) {
            let a = post(&h, &h.key, &infer(chunk)).await;
            assert_eq!(a.status, StatusCode::OK, "round {round}: {}", a.text);
        }
    }
    // An attacker with a key of their own walks the line between two
    // penguins of different species, halving the step towards the boundary.
    let mallory = key_of(&h, "mallory");
    let (adelie, gentoo) = (real[0], real[real.len() - 60]);
    let mut caught = None;
    'walk: for pair in 0..400 {
        let shift = pair as f64 * 0.01;
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        for _ in 0..8 {
            let t = (lo + hi) / 2.0;
            let x: [f64; 4] =
                std::array::from_fn(|i| adelie[i] + (gentoo[i] - adelie[i]) * t + shift);
            let a = post(&h, &mallory, &infer(&[x])).await;
            if a.status == StatusCode::FORBIDDEN {
                caught = Some(pair * 8);
                break 'walk;
            }
            let p: Vec<f64> = a.body["outputs"][0]["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            // Still the first penguin's class: the boundary is further on.
            if p[0] >= p[1] && p[0] >= p[2] {
                lo = t
            } else {
                hi = t
            }
        }
    }
    let queries = caught.expect("the walk is refused");
    assert!(queries < 2000, "{queries}");
    let r = records(&h);
    let alerts: Vec<&serde_json::Value> = r
        .iter()
        .filter(|rec| {
            rec.get("guards")
                .is_some_and(|g| g.to_string().contains("MODEL_EXTRACTION"))
        })
        .collect();
    assert!(!alerts.is_empty());
    assert!(
        alerts.iter().all(|rec| rec["owner"] == "mallory"),
        "no alert for the replay"
    );
    assert_eq!(alerts[0]["guards"][0]["test"], "boundary");
    let last = r.last().unwrap();
    assert_eq!(last["status"], 403);
    // A reload that keeps the guard keeps what it learnt: still refused.
    h.gw.reload(&h.config_path).unwrap();
    let x = real[5];
    assert_eq!(
        post(&h, &mallory, &infer(&[x])).await.status,
        StatusCode::FORBIDDEN
    );
    // Alice still gets answers.
    let a = post(&h, &h.key, &infer(&real[..1])).await;
    assert_eq!(a.status, StatusCode::OK);
}

/// A sweep of the whole input space, caught by its coverage, and then held
/// to one request a second (`action = "throttle"`), while the replayed
/// penguins stay below the coverage limit.
#[tokio::test(flavor = "multi_thread")]
async fn a_sweep_is_caught_by_its_coverage_and_throttled() {
    let profile = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/data/penguins.profile.json"
    ))
    .unwrap();
    let guards = r#"
[guards.watch]
kind = "extraction"
profile = "penguins.profile.json"
columns = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
max_coverage = 0.8
action = "throttle"
throttle_rps = 0.5

[[route]]
name = "penguins"
protocol = "kserve-v2"
upstream = "http://{upstream}"
models = ["penguin-*"]
extraction = "watch"
"#;
    let h = start_with(guards, &[("penguins.profile.json", &profile)]).await;
    for chunk in penguins().chunks(10) {
        assert_eq!(post(&h, &h.key, &infer(chunk)).await.status, StatusCode::OK);
    }
    // Uniform over a box around the penguins, ten rows a request.
    let mut seed = 1u64;
    let mut uniform = |lo: f64, hi: f64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lo + (hi - lo) * ((seed >> 11) as f64 / (1u64 << 53) as f64)
    };
    let mallory = key_of(&h, "mallory");
    for _ in 0..20 {
        let rows: Vec<[f64; 4]> = (0..10)
            .map(|_| {
                [
                    uniform(30.0, 60.0),
                    uniform(13.0, 22.0),
                    uniform(170.0, 235.0),
                    uniform(2700.0, 6300.0),
                ]
            })
            .collect();
        assert_eq!(
            post(&h, &mallory, &infer(&rows)).await.status,
            StatusCode::OK
        );
    }
    // Caught: the next request is served (flagged), the one after it waits.
    let x = [[45.0, 17.0, 200.0, 4200.0]];
    assert_eq!(post(&h, &mallory, &infer(&x)).await.status, StatusCode::OK);
    let refused = post(&h, &mallory, &infer(&x)).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.text
    );
    assert!(refused.text.contains("throttled by guard `watch`"));
    // Alice's replay raised nothing and she is not held back.
    assert_eq!(post(&h, &h.key, &infer(&x)).await.status, StatusCode::OK);
    assert_eq!(post(&h, &h.key, &infer(&x)).await.status, StatusCode::OK);
    let r = records(&h);
    let alerts: Vec<&serde_json::Value> = r
        .iter()
        .filter_map(|rec| rec.get("guards").and_then(|g| g.get(0)))
        .filter(|g| g["rule"] == "MODEL_EXTRACTION")
        .collect();
    assert!(!alerts.is_empty());
    assert!(
        alerts
            .iter()
            .all(|g| g["test"] == "coverage" && g["action"] == "throttle"),
        "{alerts:?}"
    );
    assert!(r
        .iter()
        .filter(|rec| rec["owner"] != "mallory")
        .all(|rec| rec
            .get("guards")
            .is_none_or(|g| g.as_array().is_some_and(|a| a.is_empty()))));
}
