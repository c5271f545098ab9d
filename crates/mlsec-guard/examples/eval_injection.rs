//! Measures the injection guard with a given classifier file on labelled
//! rows (`{"id", "text", "label"}` per line), at several classifier
//! cut-offs, so retrained weights and a new cut-off are chosen on a
//! development set before they replace the shipped ones.
//!
//! ```sh
//! cargo run --release -p mlsec-guard --example eval_injection -- \
//!     MODEL.bin bench/guard/dev.jsonl [CUTOFF ...] [--show CUTOFF]
//! ```
//! Prints recall and false-positive rate at the guard's default threshold
//! (0.5) for each cut-off; `--show` also lists the misses and false
//! positives at one cut-off.

use mlsec_guard::classifier::Model;
use mlsec_guard::injection::score_with;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(model_path), Some(rows_path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: eval_injection MODEL.bin ROWS.jsonl [CUTOFF ...] [--show CUTOFF]");
        std::process::exit(2);
    };
    let model = Model::from_bytes(&std::fs::read(model_path).expect("model file"))
        .expect("a classifier file");
    let mut cutoffs = Vec::new();
    let mut show = None;
    let mut rest = args.iter().skip(2);
    while let Some(a) = rest.next() {
        if a == "--show" {
            show = rest.next().and_then(|s| s.parse::<f32>().ok());
        } else {
            cutoffs.push(a.parse::<f32>().expect("a cut-off"));
        }
    }
    if cutoffs.is_empty() {
        cutoffs = vec![0.7, 0.75, 0.8, 0.85, 0.9, 0.95];
    }
    let text = std::fs::read_to_string(rows_path).expect("rows");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    for &cut in &cutoffs {
        let (mut tp, mut fn_, mut fp, mut tn) = (0, 0, 0, 0);
        for r in &rows {
            let (s, hits) = score_with(r["text"].as_str().unwrap_or(""), Some(&model), cut);
            let flagged = s >= 0.5;
            let attack = r["label"] == 1;
            match (attack, flagged) {
                (true, true) => tp += 1,
                (true, false) => fn_ += 1,
                (false, true) => fp += 1,
                (false, false) => tn += 1,
            }
            if show == Some(cut) && attack != flagged {
                let rules: Vec<&str> = hits.iter().map(|h| h.rule.as_str()).collect();
                let t: String = r["text"].as_str().unwrap_or("").chars().take(140).collect();
                println!(
                    "{} {} {s:.2} {rules:?} {t:?}",
                    if attack { "FN" } else { "FP" },
                    r["id"].as_str().unwrap_or("")
                );
            }
        }
        println!(
            "cutoff {cut:.2}: recall {:.3} ({tp}/{}), fpr {:.3} ({fp}/{})",
            tp as f64 / (tp + fn_).max(1) as f64,
            tp + fn_,
            fp as f64 / (fp + tn).max(1) as f64,
            fp + tn
        );
    }
}
