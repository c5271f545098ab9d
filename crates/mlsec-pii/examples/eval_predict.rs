//! Run the detector over a labelled JSONL set and print its predictions, one
//! JSON line per record, offsets in code points (the evaluation set's unit):
//! `{"spans": [{"entity": "EMAIL", "start": 3, "end": 19, "confidence": 0.85}]}`.
//! Used by bench/pii/presidio_compare.py.
//!
//! ```text
//! cargo run --release -p mlsec-pii --example eval_predict bench/pii/eval.jsonl
//! ```

use std::io::Write;

use mlsec_pii::Detector;
use serde_json::{json, Value};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: eval_predict EVAL.jsonl");
        std::process::exit(2);
    };
    let data = match std::fs::read_to_string(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {path}: {e}");
            std::process::exit(2);
        }
    };
    let detector = Detector::new(&[]);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (n, line) in data.lines().enumerate() {
        let rec: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("error: {path}:{}: {e}", n + 1);
                std::process::exit(2);
            }
        };
        let text = rec["text"].as_str().unwrap_or("");
        let field = rec.get("field").and_then(Value::as_str);
        let cp = |byte: usize| text[..byte].chars().count();
        let spans: Vec<Value> = detector
            .detect_in_field(field, text)
            .iter()
            .map(|s| json!({"entity": s.entity.as_str(), "start": cp(s.start), "end": cp(s.end), "confidence": s.confidence}))
            .collect();
        if writeln!(out, "{}", json!({ "spans": spans })).is_err() {
            std::process::exit(1);
        }
    }
}
