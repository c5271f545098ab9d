//! Models behind HTTP endpoints (KServe v2, TF Serving v1), served by a
//! small server in the test: the answers feed an attack, the query budget
//! and retries hold, and a bad endpoint is a clear error or a partial
//! result, never a complete one.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use mlsec_core::Subject;
use mlsec_model::Model;
use mlsec_validate::attack::Kind;
use mlsec_validate::endpoint::{Endpoint, EndpointOptions, Protocol};
use mlsec_validate::{redteam, RedteamOptions};
use serde_json::{json, Value};

/// Two features in [0, 1]; class 1 when x0 + x1 > 1, softly.
fn probabilities(row: &[f64]) -> [f64; 2] {
    let z = 8.0 * (row[0] + row[1] - 1.0);
    let p = 1.0 / (1.0 + (-z).exp());
    [1.0 - p, p]
}

/// The test endpoints, by path.
fn endpoints(path: &str, request: &Value, n: usize) -> (u16, String) {
    let rows: Vec<Vec<f64>> = if let Some(inputs) = request.pointer("/inputs/0/data") {
        let flat: Vec<f64> = inputs
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        flat.chunks(2).map(|c| c.to_vec()).collect()
    } else if let Some(instances) = request.get("instances") {
        serde_json::from_value(instances.clone()).unwrap()
    } else {
        Vec::new()
    };
    let scores: Vec<[f64; 2]> = rows.iter().map(|r| probabilities(r)).collect();
    let flat: Vec<f64> = scores.iter().flatten().copied().collect();
    let text = |s: &str| s.to_string();
    match path {
        "/v2/models/lin" => (
            200,
            text(
                r#"{"name":"lin","inputs":[{"name":"features","datatype":"FP32","shape":[-1,2]}]}"#,
            ),
        ),
        "/v2/models/lin/infer" => {
            assert_eq!(request.pointer("/inputs/0/name").unwrap(), "features");
            let body = json!({"outputs": [{"name": "probabilities", "shape": [rows.len(), 2], "datatype": "FP32", "data": flat}]});
            (200, body.to_string())
        }
        "/v1/models/lin:predict" => (200, json!({"predictions": scores}).to_string()),
        "/v2/models/garbage/infer" => (200, text(r#"{"outputs":[{"data":["not","numbers"]}]}"#)),
        "/v2/models/notjson/infer" => (200, text("<html>oops</html>")),
        "/v2/models/slow/infer" => {
            std::thread::sleep(Duration::from_millis(1500));
            (200, text("{}"))
        }
        "/v2/models/flaky/infer" if n.is_multiple_of(2) => (503, text("busy")),
        "/v2/models/flaky/infer" => (200, json!({"outputs": [{"data": flat}]}).to_string()),
        _ => (404, text(r#"{"error":"no such model"}"#)),
    }
}

fn serve() -> common::Server {
    common::serve(endpoints)
}

fn options(url: String, protocol: Protocol) -> EndpointOptions {
    let mut o = EndpointOptions::new(url, protocol, 2);
    o.classes = vec!["low".into(), "high".into()];
    o.timeout = Duration::from_millis(700);
    o.retries = 1;
    o
}

fn data(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = String::from("a,b,label\n");
    for i in 0..40 {
        let x = 0.05 + 0.9 * (i as f64 / 39.0);
        let y = (i * 7 % 40) as f64 / 40.0;
        let label = if x + y > 1.0 { "high" } else { "low" };
        text.push_str(&format!("{x},{y},{label}\n"));
    }
    let path = dir.join("rows.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn subject(url: &str) -> Subject {
    Subject {
        name: url.into(),
        digest: Default::default(),
    }
}

#[test]
fn both_protocols_answer_and_an_attack_runs_against_them() {
    let server = serve();
    for (path, protocol) in [
        ("/v2/models/lin", Protocol::KServeV2),
        ("/v1/models/lin", Protocol::TfServing),
    ] {
        let model = Endpoint::connect(options(format!("{}{path}", server.url), protocol)).unwrap();
        let p = model.predict(&[0.9, 0.9, 0.1, 0.1]).unwrap();
        assert!(p[1] > 0.9 && p[2] > 0.9, "{p:?}");
        let dir = tempfile::tempdir().unwrap();
        let mut opts = RedteamOptions::new(data(dir.path()), "label".into());
        opts.attacks = vec![Kind::Square, Kind::Hsj];
        opts.eps = vec![0.5];
        opts.budget = 100;
        opts.bounds = vec![("a".into(), 0.0, 1.0), ("b".into(), 0.0, 1.0)];
        let e = redteam(&model, subject(model.name()), &opts).unwrap();
        assert_eq!(e.details["partial"], false);
        for a in e.details["attacks"].as_array().unwrap() {
            // Every row is within 0.5 of the line in L-inf.
            assert_eq!(a["success_rate"], 1.0, "{a}");
        }
    }
}

#[test]
fn the_budget_is_kept_and_a_spent_budget_is_a_partial_result() {
    let server = serve();
    let mut o = options(format!("{}/v2/models/lin", server.url), Protocol::KServeV2);
    o.max_queries = Some(60);
    let model = Endpoint::connect(o).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut opts = RedteamOptions::new(data(dir.path()), "label".into());
    opts.attacks = vec![Kind::Square];
    opts.eps = vec![0.01];
    opts.budget = 50;
    let e = redteam(&model, subject("lin"), &opts).unwrap();
    assert!(model.used() <= 60 + 64, "{}", model.used());
    assert_eq!(e.details["partial"], true, "{}", e.details);
    let reason = e.details["partial_reason"].as_str().unwrap();
    assert!(reason.contains("budget of 60"), "{reason}");
}

#[test]
fn bad_endpoints_are_clear_errors() {
    let server = serve();
    let err = |path: &str| {
        Endpoint::connect(options(format!("{}{path}", server.url), Protocol::KServeV2))
            .err()
            .unwrap()
            .to_string()
    };
    let e = err("/v2/models/garbage");
    assert!(
        e.contains("/v2/models/garbage/infer")
            || e.contains("garbage") && e.contains("not a number"),
        "{e}"
    );
    assert!(err("/v2/models/notjson").contains("not JSON"));
    assert!(err("/v2/models/missing").contains("HTTP 404"));
    let slow = err("/v2/models/slow");
    assert!(
        slow.contains("no answer within") || slow.contains("slow"),
        "{slow}"
    );
    // Wrong class count for what the endpoint answers.
    let mut o = options(format!("{}/v2/models/lin", server.url), Protocol::KServeV2);
    o.classes = vec!["a".into(), "b".into(), "c".into()];
    let e = Endpoint::connect(o).err().unwrap().to_string();
    assert!(
        e.contains("3 classes given") && e.contains("2 scores"),
        "{e}"
    );
}

#[test]
fn a_busy_endpoint_is_retried() {
    let server = serve();
    let model = Endpoint::connect(options(
        format!("{}/v2/models/flaky", server.url),
        Protocol::KServeV2,
    ))
    .unwrap();
    let before = server.requests.load(Ordering::SeqCst);
    let p = model.predict(&[0.9, 0.9]).unwrap();
    assert!(p[1] > 0.9);
    // One 503 answered by a retry, at most.
    assert!(server.requests.load(Ordering::SeqCst) - before <= 2);
}
