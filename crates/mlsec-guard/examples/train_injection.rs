//! Trains the prompt-injection guard's classifier (`src/injection_model.bin`)
//! from `train/make_train.py`'s rows, after reporting its cross-validated
//! recall per family and false-positive rate, with folds grouped by template.
//!
//! ```sh
//! python3 crates/mlsec-guard/train/make_train.py > target/train.jsonl
//! cargo run --release -p mlsec-guard --example train_injection -- target/train.jsonl \
//!     crates/mlsec-guard/src/injection_model.bin
//! ```
//! Deterministic: the same rows give the same bytes.

use mlsec_guard::classifier::{window_features, Model, BUCKETS};
use mlsec_guard::normalize::views;
use std::collections::BTreeMap;

const FOLDS: u64 = 5;
const EPOCHS: usize = 12;
const RATE: f32 = 0.2;
const L2: f32 = 1e-6;

struct Row {
    label: bool,
    group: String,
    family: String,
    fold: u64,
    /// The feature sets the guard reads for this text (windows of each view).
    examples: Vec<Vec<u32>>,
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn read(path: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(path).expect("training rows");
    let mut rows = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let t = v["text"].as_str().expect("text");
        let mut examples = Vec::new();
        for view in views(t).into_iter().filter(|v| v.kind != "rot13") {
            examples.extend(window_features(&view.folded.text));
        }
        rows.push(Row {
            label: v["label"] == 1,
            family: v["family"].as_str().unwrap_or("").to_string(),
            group: v["group"].as_str().unwrap_or("").to_string(),
            fold: fnv(v["group"].as_str().unwrap_or("")) % FOLDS,
            examples,
        });
    }
    rows
}

/// Logistic regression by AdaGrad, classes weighted to balance.
fn train(rows: &[&Row]) -> Model {
    let mut w = vec![0f32; BUCKETS];
    let mut g2 = vec![1e-6f32; BUCKETS];
    let (mut bias, mut bias_g2) = (0f32, 1e-6f32);
    let positives = rows.iter().filter(|r| r.label).count().max(1) as f32;
    let negatives = rows.iter().filter(|r| !r.label).count().max(1) as f32;
    let total = positives + negatives;
    let mut order: Vec<(usize, usize)> = rows
        .iter()
        .enumerate()
        .flat_map(|(i, r)| (0..r.examples.len()).map(move |j| (i, j)))
        .collect();
    let mut seed = 0x9e3779b97f4a7c15u64;
    for _ in 0..EPOCHS {
        // Fisher-Yates with xorshift: the same order every run.
        for i in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        for &(i, j) in &order {
            let row = rows[i];
            let f = &row.examples[j];
            if f.is_empty() {
                continue;
            }
            let v = 1.0 / (f.len() as f32).sqrt();
            let z = bias + f.iter().map(|&k| w[k as usize]).sum::<f32>() * v;
            let p = 1.0 / (1.0 + (-z).exp());
            let y = if row.label { 1.0 } else { 0.0 };
            let weight = if row.label {
                total / (2.0 * positives)
            } else {
                total / (2.0 * negatives)
            };
            let g = (p - y) * weight;
            for &k in f {
                let k = k as usize;
                let grad = g * v + L2 * w[k];
                g2[k] += grad * grad;
                w[k] -= RATE * grad / g2[k].sqrt();
            }
            bias_g2 += g * g;
            bias -= RATE * g / bias_g2.sqrt();
        }
    }
    let max = w.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-9);
    let scale = max / 127.0;
    Model {
        bias,
        scale,
        weights: w
            .iter()
            .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8)
            .collect(),
    }
}

fn score(model: &Model, row: &Row) -> f32 {
    row.examples
        .iter()
        .map(|f| model.probability(f))
        .fold(0.0, f32::max)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(input), Some(output)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: train_injection TRAIN.jsonl MODEL.bin");
        std::process::exit(2);
    };
    let rows = read(input);
    // Cross-validation, folds grouped by template.
    let mut by_family: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut scores: Vec<(f32, bool)> = Vec::new();
    let mut false_positives: BTreeMap<&str, u32> = BTreeMap::new();
    for fold in 0..FOLDS {
        let train_rows: Vec<&Row> = rows.iter().filter(|r| r.fold != fold).collect();
        let model = train(&train_rows);
        for r in rows.iter().filter(|r| r.fold == fold) {
            let e = by_family.entry(r.family.clone()).or_default();
            e.1 += 1;
            let s = score(&model, r);
            scores.push((s, r.label));
            if s >= 0.5 {
                e.0 += 1;
                if !r.label {
                    *false_positives.entry(r.group.as_str()).or_default() += 1;
                }
            }
        }
    }
    let mut curve = Vec::new();
    for t in [0.5f32, 0.6, 0.7, 0.8, 0.9, 0.95] {
        let tp = scores.iter().filter(|(s, l)| *l && *s >= t).count() as f64;
        let p = scores.iter().filter(|(_, l)| *l).count().max(1) as f64;
        let fp = scores.iter().filter(|(s, l)| !*l && *s >= t).count() as f64;
        let n = scores.iter().filter(|(_, l)| !*l).count().max(1) as f64;
        curve.push(serde_json::json!({"threshold": t, "recall": (tp / p * 1000.0).round() / 1000.0, "false_positive_rate": (fp / n * 1000.0).round() / 1000.0}));
    }
    eprintln!("false positives by template: {false_positives:?}");
    let mut report = serde_json::Map::new();
    for (family, (hit, n)) in &by_family {
        let rate = f64::from(*hit) / f64::from(*n);
        let key = if family == "benign" {
            "false_positive_rate"
        } else {
            "recall"
        };
        report.insert(
            family.clone(),
            serde_json::json!({ key: (rate * 1000.0).round() / 1000.0, "rows": n }),
        );
    }
    println!(
        "{}",
        serde_json::json!({"cross_validation": report, "thresholds": curve, "folds": FOLDS, "grouped_by": "template"})
    );
    let all: Vec<&Row> = rows.iter().collect();
    let model = train(&all);
    std::fs::write(output, model.to_bytes()).expect("write the model");
    eprintln!("wrote {output} ({} rows)", rows.len());
}
